//! No child outlives its group, through nested groups too: when a scope returns, every task
//! started under it — by its children, by its body, and by the groups those opened — has
//! ended and its future has been dropped.
//!
//! Each test puts a task that sleeps for an hour at the bottom of a nest of groups, makes
//! the top of the nest stop early, and looks at that task the moment the top scope returns
//! (in the same poll, before the loop runs anything else): done, cancelled, its future
//! dropped, and no task left in the loop. All on the virtual clock.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use looplet_executor::{create_task, stats, yield_now, Runner};
use looplet_taskgroup::{BoxError, ChildTask, GroupError, TaskGroup};
use looplet_timer::{sleep, timeout};

const HOUR: Duration = Duration::from_secs(3600);

fn virtual_runner() -> Runner {
    Runner::builder().virtual_clock(true).build()
}

/// Runs `future` on a fresh virtual-clock runner; returns its output and the virtual time
/// it took.
fn run_timed<F: Future>(future: F) -> (F::Output, Duration) {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let output = runner.run(future);
    (output, runner.clock().now() - start)
}

/// A task deep in a nest of groups: its handle, and how often its future was dropped.
#[derive(Default)]
struct Deep {
    handle: RefCell<Option<ChildTask<()>>>,
    drops: Cell<usize>,
}

/// Counts the drop of the future that owns it.
struct DropCounter(Rc<Deep>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.drops.set(self.0.drops.get() + 1);
    }
}

impl Deep {
    fn new() -> Rc<Deep> {
        Rc::default()
    }

    /// Starts the hour-long sleeper in `tg`, keeping its handle.
    fn start_in(self: &Rc<Deep>, tg: &TaskGroup) {
        let counter = DropCounter(Rc::clone(self));
        let child = tg.create_task(async move {
            let _counter = counter;
            sleep(HOUR).await;
        });
        *self.handle.borrow_mut() = Some(child);
    }

    /// Fails the test unless the sleeper ended cancelled and its future was dropped.
    #[track_caller]
    fn assert_gone(&self) {
        let handle = self.handle.borrow();
        let handle = handle.as_ref().expect("the deep task was started");
        assert!(handle.is_done(), "the deep task outlived its group");
        assert!(handle.is_cancelled(), "the deep task was cancelled");
        assert_eq!(self.drops.get(), 1, "the deep task's future was dropped");
    }
}

/// A group whose body returns at once and whose one child is `deep`'s sleeper.
fn sleeping_group(deep: &Rc<Deep>) -> impl Future<Output = Result<(), GroupError>> {
    let deep = Rc::clone(deep);
    TaskGroup::scope(move |tg| {
        deep.start_in(&tg);
        async { Ok(()) }
    })
}

/// Sleeps `seconds`, then fails with `message`.
async fn fail_after(seconds: u64, message: &'static str) -> Result<(), BoxError> {
    sleep(Duration::from_secs(seconds)).await;
    Err(message.into())
}

/// Sleeps `seconds`, then panics with `message`.
async fn panic_after(seconds: u64, message: &'static str) {
    sleep(Duration::from_secs(seconds)).await;
    panic!("{message}");
}

fn messages(group: &GroupError) -> Vec<String> {
    group.iter().map(|error| error.to_string()).collect()
}

/// Awaits `future`, catching a panic in any of its polls.
async fn catch_panic<F: Future>(future: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut future = pin!(future);
    poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        },
    )
    .await
}

#[test]
fn a_child_error_ends_the_tasks_of_a_group_nested_in_a_sibling_before_the_scope_returns() {
    let deep = Deep::new();
    let (live, elapsed) = run_timed(async {
        let outcome = TaskGroup::scope(|tg| {
            tg.create_fallible(sleeping_group(&deep));
            tg.create_fallible(fail_after(1, "outer child failed"));
            async { Ok(()) }
        })
        .await;
        assert_eq!(messages(&outcome.unwrap_err()), ["outer child failed"]);
        deep.assert_gone();
        stats().live_tasks
    });
    assert_eq!(live, 0, "no task is left in the loop");
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn a_body_error_ends_the_tasks_of_a_group_nested_in_a_child_before_the_scope_returns() {
    let deep = Deep::new();
    let (live, elapsed) = run_timed(async {
        let inner = Rc::clone(&deep);
        let outcome = TaskGroup::scope(|tg| async move {
            tg.create_fallible(sleeping_group(&inner));
            sleep(Duration::from_secs(1)).await;
            Err::<(), BoxError>("body failed".into())
        })
        .await;
        assert_eq!(messages(&outcome.unwrap_err()), ["body failed"]);
        deep.assert_gone();
        stats().live_tasks
    });
    assert_eq!(live, 0);
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn a_child_panic_is_resumed_only_after_the_tasks_of_a_nested_group_have_ended() {
    let deep = Deep::new();
    let (live, elapsed) = run_timed(async {
        let outcome = catch_panic(TaskGroup::scope(|tg| {
            tg.create_fallible(sleeping_group(&deep));
            tg.create_task(panic_after(1, "outer child exploded"));
            async { Ok(()) }
        }))
        .await;
        let payload = outcome.expect_err("the child's panic is resumed");
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("outer child exploded")
        );
        deep.assert_gone();
        stats().live_tasks
    });
    assert_eq!(live, 0);
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn cancelling_a_group_ends_the_tasks_of_a_nested_group_before_the_scope_returns() {
    let deep = Deep::new();
    let (live, _) = run_timed(async {
        let inner = Rc::clone(&deep);
        let outcome = TaskGroup::scope(|tg| async move {
            tg.create_fallible(sleeping_group(&inner));
            sleep(Duration::from_secs(1)).await;
            tg.cancel();
            sleep(Duration::from_secs(1)).await;
            Ok(())
        })
        .await;
        assert!(
            outcome.unwrap_err().is_cancelled(),
            "cancelled, not finished"
        );
        deep.assert_gone();
        stats().live_tasks
    });
    assert_eq!(live, 0);
}

#[test]
fn three_levels_of_groups_end_from_the_bottom_up_before_the_top_scope_returns() {
    // top ─ body awaits ─▶ middle ─ child ─▶ bottom ─ child ─▶ the sleeper
    //   └── child: fails after 1 s           (and a sleeper of the middle group's own)
    let deep = Deep::new();
    let middle_own = Deep::new();
    let (live, elapsed) = run_timed(async {
        let (bottom, own) = (Rc::clone(&deep), Rc::clone(&middle_own));
        let outcome = TaskGroup::scope(|top| async move {
            top.create_fallible(fail_after(1, "top child failed"));
            TaskGroup::scope(|middle| {
                middle.create_fallible(sleeping_group(&bottom));
                own.start_in(&middle);
                async { Ok(()) }
            })
            .await?;
            Ok(())
        })
        .await;
        assert_eq!(messages(&outcome.unwrap_err()), ["top child failed"]);
        deep.assert_gone();
        middle_own.assert_gone();
        stats().live_tasks
    });
    assert_eq!(live, 0);
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn three_levels_of_groups_in_children_all_end_before_the_top_scope_returns() {
    // top ─ child ─▶ middle ─ child ─▶ bottom ─ child ─▶ the sleeper
    //   └── child: fails after 1 s
    let deep = Deep::new();
    let (live, elapsed) = run_timed(async {
        let outcome = TaskGroup::scope(|top| {
            let deep = Rc::clone(&deep);
            top.create_fallible(TaskGroup::scope(move |middle| {
                middle.create_fallible(sleeping_group(&deep));
                async { Ok(()) }
            }));
            top.create_fallible(fail_after(1, "top child failed"));
            async { Ok(()) }
        })
        .await;
        assert_eq!(messages(&outcome.unwrap_err()), ["top child failed"]);
        deep.assert_gone();
        stats().live_tasks
    });
    assert_eq!(live, 0);
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn a_nested_scope_dropped_by_a_timeout_in_the_body_is_waited_for() {
    let deep = Deep::new();
    let (live, elapsed) = run_timed(async {
        let outcome = TaskGroup::scope(|_tg| async {
            let inner = timeout(Duration::from_secs(1), sleeping_group(&deep)).await;
            assert!(
                inner.is_err(),
                "the timeout fired and dropped the inner scope"
            );
            Ok("body done")
        })
        .await;
        assert_eq!(outcome.unwrap(), "body done");
        deep.assert_gone();
        stats().live_tasks
    });
    assert_eq!(live, 0);
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn a_nested_scope_dropped_by_a_timeout_in_a_child_is_waited_for() {
    let deep = Deep::new();
    let (live, elapsed) = run_timed(async {
        let outcome = TaskGroup::scope(|tg| {
            let deep = Rc::clone(&deep);
            tg.create_task(async move {
                let inner = timeout(Duration::from_secs(1), sleeping_group(&deep)).await;
                assert!(
                    inner.is_err(),
                    "the timeout fired and dropped the inner scope"
                );
            });
            async { Ok(()) }
        })
        .await;
        outcome.unwrap();
        deep.assert_gone();
        stats().live_tasks
    });
    assert_eq!(live, 0);
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn when_a_cancelled_task_holding_nested_groups_is_awaited_every_task_under_it_has_ended() {
    // holder task ─▶ top ─ child ─▶ middle ─ child ─▶ bottom ─ child ─▶ the sleeper
    //                 └── its own sleeper
    let deep = Deep::new();
    let top_own = Deep::new();
    let (live, elapsed) = run_timed(async {
        let (bottom, own) = (Rc::clone(&deep), Rc::clone(&top_own));
        let holder = create_task(TaskGroup::scope(move |top| {
            own.start_in(&top);
            top.create_fallible(TaskGroup::scope(move |middle| {
                middle.create_fallible(sleeping_group(&bottom));
                async { Ok(()) }
            }));
            async { Ok(()) }
        }));
        sleep(Duration::from_secs(1)).await;
        assert!(holder.cancel());
        // The holder's future, and the top scope in it, are dropped; then the awaiter wakes.
        assert!(holder.await.unwrap_err().is_cancelled());
        top_own.assert_gone();
        deep.assert_gone();
        stats().live_tasks
    });
    assert_eq!(live, 0);
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn a_nested_scope_kept_alive_past_its_body_does_not_hold_the_outer_scope_open() {
    // Waiting for a scope that nobody polls any more would hang: only a dropped one is
    // waited for. Moving a started scope out of the group is a choice to outlive it.
    type Kept = Rc<RefCell<Option<Pin<Box<dyn Future<Output = Result<(), GroupError>>>>>>>;
    let deep = Deep::new();
    let kept: Kept = Rc::default();
    let (live, elapsed) = run_timed(async {
        let (inner_deep, stash) = (Rc::clone(&deep), Rc::clone(&kept));
        let outcome = TaskGroup::scope(|_tg| async move {
            let mut inner: Pin<Box<dyn Future<Output = _>>> = Box::pin(sleeping_group(&inner_deep));
            poll_fn(|cx| {
                assert!(
                    inner.as_mut().poll(cx).is_pending(),
                    "started, its child waits"
                );
                Poll::Ready(())
            })
            .await;
            *stash.borrow_mut() = Some(inner);
            Ok(())
        })
        .await;
        outcome.unwrap();
        assert!(
            !deep.handle.borrow().as_ref().unwrap().is_done(),
            "the kept scope's child runs on"
        );
        drop(kept.take()); // dropping the kept scope cancels its child, at the next turn
        yield_now().await;
        deep.assert_gone();
        stats().live_tasks
    });
    assert_eq!(live, 0);
    assert_eq!(elapsed, Duration::ZERO);
}
