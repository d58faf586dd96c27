//! How a group learns that a child ended: the child's own future reports it (a value, an
//! error), or its drop does (a cancellation, a panic). These tests pin the cases where that
//! design could differ from a done callback on every child.

use std::cell::{Cell, RefCell};
use std::future::{pending, poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::task::Poll;

use looplet_executor::{run, yield_now, Runner};
use looplet_taskgroup::{BoxError, GroupState, TaskGroup};

type Log = Rc<RefCell<Vec<String>>>;

/// Logs its name when dropped.
struct Note {
    log: Log,
    name: &'static str,
}

impl Drop for Note {
    fn drop(&mut self) {
        self.log.borrow_mut().push(self.name.to_string());
    }
}

/// A child that panics at its second poll.
async fn explode() {
    yield_now().await;
    panic!("child exploded");
}

#[test]
fn a_user_done_callback_cannot_take_a_childs_panic_from_the_group() {
    let saw_taken = Rc::new(Cell::new(None));
    let seen = saw_taken.clone();
    let panic = catch_unwind(AssertUnwindSafe(|| {
        run(TaskGroup::scope(|tg| async move {
            let child = tg.create_task(explode());
            child.add_done_callback(move |task| {
                seen.set(Some(task.result().unwrap_err().is_taken()));
            });
            Ok(())
        }))
    }))
    .unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"child exploded"));
    assert_eq!(
        saw_taken.get(),
        Some(true),
        "the group took the payload first"
    );
}

#[test]
fn a_panic_while_converting_a_childs_error_is_that_childs_panic() {
    struct Explosive;
    impl From<Explosive> for BoxError {
        fn from(_: Explosive) -> BoxError {
            panic!("conversion exploded");
        }
    }

    let panic = catch_unwind(AssertUnwindSafe(|| {
        run(TaskGroup::scope(|tg| async move {
            tg.create_fallible(async {
                yield_now().await;
                Err::<(), _>(Explosive)
            });
            Ok(())
        }))
    }))
    .unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"conversion exploded"));
}

#[test]
fn cancelling_every_child_follows_creation_order_even_after_keys_are_reused() {
    let log: Log = Rc::default();
    let seen = log.clone();
    let outcome = run(TaskGroup::scope(|tg| async move {
        tg.create_task(async {}); // ends at its first poll, freeing its key for the third
        let second = Note {
            log: seen.clone(),
            name: "second",
        };
        tg.create_task(async move {
            let _second = second;
            pending::<()>().await
        });
        yield_now().await; // both children run once: the first is gone
        let third = Note {
            log: seen.clone(),
            name: "third",
        };
        tg.create_task(async move {
            let _third = third;
            pending::<()>().await
        });
        // Both wait now, so the loop drops them in the order they are asked to cancel.
        yield_now().await;
        tg.cancel();
        Ok(())
    }));
    assert!(
        outcome.is_ok(),
        "the body returned in the poll that cancelled the group"
    );
    assert_eq!(*log.borrow(), ["second", "third"]);
}

#[test]
fn a_childs_own_drop_code_runs_while_it_still_counts_as_live() {
    /// Records how many children the group counts when the child's future is dropped.
    struct Probe {
        group: TaskGroup,
        live: Rc<Cell<Option<usize>>>,
    }
    impl Drop for Probe {
        fn drop(&mut self) {
            self.live.set(Some(self.group.len()));
        }
    }

    let live = Rc::new(Cell::new(None));
    let seen = live.clone();
    run(TaskGroup::scope(|tg| async move {
        let probe = Probe {
            group: tg.clone(),
            live: seen,
        };
        tg.create_task(async move {
            let _probe = probe;
            pending::<()>().await
        });
        tg.cancel();
        Ok(())
    }))
    .unwrap();
    assert_eq!(live.get(), Some(1));
}

#[test]
fn a_child_that_cannot_be_created_leaves_no_trace_in_its_group() {
    let mut runner = Runner::new();
    let kept = Rc::new(RefCell::new(None));
    let slot = kept.clone();
    let mut scope = Box::pin(TaskGroup::scope(move |tg| {
        *slot.borrow_mut() = Some(tg);
        pending::<Result<(), BoxError>>()
    }));
    // Start the scope, then leave it open with no loop running.
    runner.run(poll_fn(|cx| {
        let _ = scope.as_mut().poll(cx);
        Poll::Ready(())
    }));
    let tg = kept.take().expect("the body was started");
    assert_eq!(tg.state(), GroupState::Open);
    let refused = catch_unwind(AssertUnwindSafe(|| tg.create_task(async {})));
    assert!(refused.is_err(), "no loop is running");
    assert!(tg.is_empty());
    // The group is intact: a child created on the loop comes and goes as usual.
    runner.run(async {
        let child = tg.create_task(async {});
        assert_eq!(tg.len(), 1);
        yield_now().await;
        assert!(child.is_done());
        assert!(tg.is_empty());
    });
    drop(scope);
}
