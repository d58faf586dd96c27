//! TaskGroup behaves like asyncio's: the exit wait, the first failure cancelling the rest,
//! errors in order with the body's last, panics resumed, no child outliving its group.
//!
//! Every test runs on the virtual clock and checks the elapsed virtual time where timing is
//! the point; side effects are recorded in a shared log and asserted exactly.

use std::cell::{Cell, RefCell};
use std::future::pending;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use looplet::{sleep, timeout, yield_now, BoxError, ChildTask, GroupState, Runner, TaskGroup};

fn virtual_runner() -> Runner {
    Runner::builder().virtual_clock(true).build()
}

/// Runs `future` on a fresh virtual-clock runner; returns its output and the virtual time
/// it took.
fn run_timed<F: std::future::Future>(future: F) -> (F::Output, Duration) {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let output = runner.run(future);
    (output, runner.clock().now() - start)
}

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn push(log: &Log, line: impl Into<String>) {
    log.borrow_mut().push(line.into());
}

/// Sleeps `seconds`, then logs `what`.
async fn note_after(log: Log, seconds: u64, what: &'static str) {
    sleep(Duration::from_secs(seconds)).await;
    push(&log, what);
}

/// Sleeps `seconds`, then panics with `message`.
async fn panic_after(seconds: u64, message: &'static str) {
    sleep(Duration::from_secs(seconds)).await;
    panic!("{message}");
}

/// Sleeps `seconds`, then fails with `message`.
async fn fail_after(seconds: u64, message: &'static str) -> Result<(), BoxError> {
    sleep(Duration::from_secs(seconds)).await;
    Err(message.into())
}

fn messages(group: &looplet::GroupError) -> Vec<String> {
    group.iter().map(|error| error.to_string()).collect()
}

#[test]
fn the_scope_waits_for_every_child_when_the_body_returns() {
    let events = log();
    let seen = events.clone();
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|tg| async move {
        tg.create_task(note_after(seen.clone(), 1, "one"));
        tg.create_task(note_after(seen.clone(), 3, "three"));
        tg.create_task(note_after(seen.clone(), 2, "two"));
        push(&seen, "body done");
        Ok("value")
    }));
    assert_eq!(outcome.unwrap(), "value");
    assert_eq!(*events.borrow(), ["body done", "one", "two", "three"]);
    assert_eq!(elapsed, Duration::from_secs(3));
}

#[test]
fn child_values_are_readable_from_their_handles_after_the_scope() {
    let mut runner = virtual_runner();
    runner.run(async {
        let mut handles = Vec::new();
        TaskGroup::scope(|tg| {
            for n in 1..=3_u64 {
                handles.push(tg.create_task(async move {
                    sleep(Duration::from_secs(n)).await;
                    n * 10
                }));
            }
            async { Ok(()) }
        })
        .await
        .unwrap();
        let values: Vec<u64> = handles.iter().map(|h| h.result().unwrap()).collect();
        assert_eq!(values, [10, 20, 30]);
        assert!(handles.iter().all(|h| h.is_done() && !h.is_cancelled()));
    });
}

#[test]
fn one_child_error_cancels_its_siblings_and_the_body() {
    let events = log();
    let seen = events.clone();
    let mut sibling = None;
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|tg| {
        sibling = Some(tg.create_task(note_after(seen.clone(), 10, "sibling finished")));
        tg.create_fallible(fail_after(1, "boom"));
        async move {
            sleep(Duration::from_secs(5)).await;
            push(&seen, "body finished");
            Ok(())
        }
    }));
    let group = outcome.unwrap_err();
    assert_eq!(messages(&group), ["boom"]);
    assert!(group.body_error().is_none());
    assert!(events.borrow().is_empty(), "{:?}", events.borrow());
    assert!(sibling.unwrap().is_cancelled());
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn two_children_failing_at_the_same_instant_both_appear_in_order() {
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|tg| async move {
        tg.create_fallible(fail_after(1, "first"));
        tg.create_fallible(fail_after(1, "second"));
        tg.create_fallible(fail_after(2, "too late"));
        Ok(())
    }));
    let group = outcome.unwrap_err();
    assert_eq!(messages(&group), ["first", "second"]);
    assert_eq!(
        group.to_string(),
        "2 tasks of the group failed, the first with: first \
         (iterate GroupError::errors() to see every one)"
    );
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn a_body_error_cancels_the_children_and_is_listed_last() {
    let events = log();
    let seen = events.clone();
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|tg| async move {
        tg.create_fallible(fail_after(1, "child"));
        tg.create_task(note_after(seen.clone(), 5, "slow child finished"));
        // Let the children start (and set their timers) before the body sets its own, so
        // at the 1 s mark the child fails first and the body right after, in one batch.
        yield_now().await;
        sleep(Duration::from_secs(1)).await;
        Err::<(), BoxError>("body".into())
    }));
    let group = outcome.unwrap_err();
    assert_eq!(messages(&group), ["child", "body"]);
    assert_eq!(
        group.body_error().map(|e| e.to_string()).as_deref(),
        Some("body")
    );
    assert!(events.borrow().is_empty());
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn a_body_failing_first_cancels_a_child_due_to_fail_at_the_same_instant() {
    // asyncio's order: the body set its timer first, so it fails first, and its failure
    // aborts the group at once — the child is cancelled before it can fail.
    let (outcome, _) = run_timed(TaskGroup::scope(|tg| async move {
        tg.create_fallible(fail_after(1, "child"));
        sleep(Duration::from_secs(1)).await;
        Err::<(), BoxError>("body".into())
    }));
    assert_eq!(messages(&outcome.unwrap_err()), ["body"]);
}

#[test]
fn a_body_error_alone_cancels_the_children_at_once() {
    let events = log();
    let seen = events.clone();
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|tg| async move {
        tg.create_task(note_after(seen.clone(), 5, "child finished"));
        Err::<(), BoxError>("body gave up".into())
    }));
    let group = outcome.unwrap_err();
    assert_eq!(messages(&group), ["body gave up"]);
    assert_eq!(
        group.to_string(),
        "1 task of the group failed: body gave up"
    );
    assert!(events.borrow().is_empty());
    assert_eq!(elapsed, Duration::ZERO);
}

#[test]
fn a_child_error_while_the_body_awaits_something_else_cancels_the_body() {
    let body_dropped = Rc::new(Cell::new(false));
    let flag = body_dropped.clone();
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|tg| async move {
        struct OnDrop(Rc<Cell<bool>>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let _guard = OnDrop(flag);
        tg.create_fallible(fail_after(2, "child failed"));
        // The body is busy with something unrelated to the group.
        pending::<()>().await;
        Err::<(), BoxError>("never reached: the body is cancelled while it waits".into())
    }));
    let group: looplet::GroupError = outcome.unwrap_err();
    assert_eq!(messages(&group), ["child failed"]);
    assert!(body_dropped.get());
    assert_eq!(elapsed, Duration::from_secs(2));
}

#[test]
fn children_create_grandchildren_through_the_group_handle() {
    let events = log();
    let seen = events.clone();
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|tg| async move {
        let group = tg.clone();
        let inner = seen.clone();
        tg.create_task(async move {
            sleep(Duration::from_secs(1)).await;
            push(&inner, "child");
            group.create_task(note_after(inner.clone(), 2, "grandchild"));
        });
        Ok(())
    }));
    outcome.unwrap();
    assert_eq!(*events.borrow(), ["child", "grandchild"]);
    assert_eq!(elapsed, Duration::from_secs(3)); // the scope waited for the grandchild too
}

#[test]
fn a_failing_grandchild_cancels_the_whole_group() {
    let events = log();
    let seen = events.clone();
    let (outcome, _) = run_timed(TaskGroup::scope(|tg| async move {
        let group = tg.clone();
        tg.create_task(async move {
            group.create_fallible(fail_after(1, "grandchild failed"));
        });
        tg.create_task(note_after(seen.clone(), 2, "sibling finished"));
        Ok(())
    }));
    assert_eq!(messages(&outcome.unwrap_err()), ["grandchild failed"]);
    assert!(events.borrow().is_empty());
}

#[test]
fn create_task_on_a_finished_group_is_a_clear_error() {
    let mut runner = virtual_runner();
    runner.run(async {
        let mut kept = None;
        TaskGroup::scope(|tg| {
            kept = Some(tg.clone());
            async { Ok(()) }
        })
        .await
        .unwrap();
        let tg = kept.unwrap();
        assert_eq!(tg.state(), GroupState::Closed);
        let error = tg.try_create_task(async {}).unwrap_err();
        assert!(error.is_closed());
        let panic = catch_unwind(AssertUnwindSafe(|| tg.create_task(async {}))).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("cannot create a task in a TaskGroup that has finished"),
            "{message}"
        );
        assert!(message.contains("open a new TaskGroup::scope"), "{message}");
    });
}

#[test]
fn create_task_while_shutting_down_returns_a_cancelled_task_that_never_runs() {
    /// What `Late` saw: the group's state, and the task it created.
    type Seen = Rc<RefCell<Option<(GroupState, ChildTask<()>)>>>;

    /// A child's local whose `Drop` — run when the group cancels the child — tries to start
    /// one more task in the group, and records what it saw.
    struct Late {
        group: TaskGroup,
        ran: Rc<Cell<bool>>,
        seen: Seen,
    }
    impl Drop for Late {
        fn drop(&mut self) {
            let ran = self.ran.clone();
            let late = self.group.create_task(async move { ran.set(true) });
            *self.seen.borrow_mut() = Some((self.group.state(), late));
        }
    }

    let ran = Rc::new(Cell::new(false));
    let seen = Rc::new(RefCell::new(None));
    let (ran_flag, seen_slot) = (ran.clone(), seen.clone());
    let (outcome, _) = run_timed(TaskGroup::scope(|tg| async move {
        tg.create_fallible(fail_after(1, "failure"));
        let late = Late {
            group: tg.clone(),
            ran: ran_flag,
            seen: seen_slot,
        };
        tg.create_task(async move {
            let _late = late;
            pending::<()>().await
        });
        Ok(())
    }));
    assert_eq!(messages(&outcome.unwrap_err()), ["failure"]);
    let (state, late) = seen.borrow_mut().take().expect("the child was dropped");
    assert_eq!(state, GroupState::ShuttingDown);
    assert!(
        late.is_cancelled(),
        "the group waited for it to be cancelled"
    );
    assert!(
        !ran.get(),
        "a task created while shutting down must never run"
    );
}

#[test]
fn a_task_created_after_cancel_is_already_cancelled() {
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let mut late = None;
    let (outcome, _) = run_timed(TaskGroup::scope(|tg| {
        tg.cancel();
        late = Some(tg.create_task(async move { flag.set(true) }));
        async { Ok(()) }
    }));
    assert!(outcome.unwrap_err().is_cancelled());
    let late = late.unwrap();
    assert!(late.is_cancelled());
    assert!(late.result().unwrap_err().is_cancelled());
    assert!(!ran.get());
}

#[test]
fn dropping_the_scope_future_cancels_every_child_without_an_error() {
    let events = log();
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let mut children = Vec::new();
    let seen = events.clone();
    runner.run(async {
        let scope = TaskGroup::scope(|tg| {
            children.push(tg.create_task(note_after(seen.clone(), 1, "one")));
            children.push(tg.create_task(note_after(seen.clone(), 2, "two")));
            async { Ok(()) }
        });
        // Poll the scope for half a second of virtual time, then drop it.
        let mut scope = Box::pin(scope);
        let unfinished = timeout(Duration::from_millis(500), scope.as_mut()).await;
        assert!(unfinished.is_err(), "the children need 2 seconds");
        drop(scope);
        yield_now().await; // the loop applies the cancellations
    });
    assert!(children.iter().all(|child| child.is_cancelled()));
    // Nothing left to run: the children never finish, even given all the time they need.
    runner.run(async { sleep(Duration::from_secs(10)).await });
    assert!(events.borrow().is_empty());
    assert_eq!(runner.clock().now() - start, Duration::from_millis(10_500));
    assert_eq!(runner.stats().live_tasks, 0);
}

#[test]
fn a_timeout_around_the_scope_cancels_every_child_without_an_error() {
    let events = log();
    let seen = events.clone();
    let mut children = Vec::new();
    let (outcome, elapsed) = run_timed(async {
        let elapsed = timeout(
            Duration::from_secs(2),
            TaskGroup::scope(|tg| {
                children.push(tg.create_task(note_after(seen.clone(), 1, "quick")));
                children.push(tg.create_task(note_after(seen.clone(), 5, "slow")));
                async { Ok(()) }
            }),
        )
        .await;
        yield_now().await;
        elapsed
    });
    assert!(outcome.is_err(), "the timeout fires");
    assert_eq!(*events.borrow(), ["quick"]);
    assert!(!children[0].is_cancelled());
    assert!(children[1].is_cancelled());
    assert_eq!(elapsed, Duration::from_secs(2));
}

#[test]
fn cancelling_the_task_that_awaits_the_scope_cancels_the_children() {
    let events = log();
    let seen = events.clone();
    let mut runner = virtual_runner();
    runner.run(async move {
        let outer = looplet::create_task(TaskGroup::scope(move |tg| async move {
            tg.create_task(note_after(seen.clone(), 3, "child finished"));
            Ok(())
        }));
        sleep(Duration::from_secs(1)).await;
        assert!(outer.cancel());
        assert!(outer.await.unwrap_err().is_cancelled());
        sleep(Duration::from_secs(5)).await;
    });
    assert!(events.borrow().is_empty());
    assert_eq!(runner.stats().live_tasks, 0);
}

#[test]
fn an_inner_group_failure_handled_by_the_body_leaves_the_outer_group_alone() {
    let events = log();
    let seen = events.clone();
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|outer| async move {
        outer.create_task(note_after(seen.clone(), 3, "outer child"));
        let inner = TaskGroup::scope(|tg| async move {
            tg.create_fallible(fail_after(1, "inner failure"));
            Ok(())
        })
        .await;
        let handled = match inner {
            Err(group) => messages(&group).join(","),
            Ok(_) => String::from("no failure"),
        };
        push(&seen, format!("handled {handled}"));
        Ok(42)
    }));
    assert_eq!(outcome.unwrap(), 42);
    assert_eq!(*events.borrow(), ["handled inner failure", "outer child"]);
    assert_eq!(elapsed, Duration::from_secs(3));
}

#[test]
fn an_inner_group_failure_propagated_with_question_mark_fails_the_outer_group() {
    let (outcome, _) = run_timed(TaskGroup::scope(|outer| async move {
        outer.create_task(pending::<()>());
        TaskGroup::scope(|tg| async move {
            tg.create_fallible(fail_after(1, "deep"));
            Ok(())
        })
        .await?;
        Ok(())
    }));
    let group = outcome.unwrap_err();
    let body = group
        .body_error()
        .expect("the body failed with the inner group");
    let inner = body.downcast_ref::<looplet::GroupError>().unwrap();
    assert_eq!(messages(inner), ["deep"]);
}

#[test]
fn a_child_panic_propagates_after_the_others_are_cancelled() {
    let events = log();
    let seen = events.clone();
    let mut sibling = None;
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let panic = catch_unwind(AssertUnwindSafe(|| {
        runner.run(TaskGroup::scope(|tg| {
            sibling = Some(tg.create_task(note_after(seen.clone(), 5, "sibling finished")));
            tg.create_task(panic_after(1, "child exploded"));
            async { Ok(()) }
        }))
    }))
    .unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().map(String::as_str),
        Some("child exploded")
    );
    let sibling = sibling.unwrap();
    assert!(sibling.is_cancelled(), "cancelled before the panic resumed");
    assert!(events.borrow().is_empty());
    assert_eq!(runner.clock().now() - start, Duration::from_secs(1));
    // The loop is still usable.
    assert_eq!(runner.run(async { 7 }), 7);
}

#[test]
fn of_several_panics_the_first_wins() {
    let mut runner = virtual_runner();
    let panic = catch_unwind(AssertUnwindSafe(|| {
        runner.run(TaskGroup::scope(|tg| {
            tg.create_task(panic_after(1, "first panic"));
            tg.create_task(panic_after(1, "second panic"));
            async { Ok(()) }
        }))
    }))
    .unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().map(String::as_str),
        Some("first panic")
    );
}

#[test]
fn a_body_panic_cancels_the_children_then_resumes() {
    let events = log();
    let seen = events.clone();
    let mut runner = virtual_runner();
    let panic = catch_unwind(AssertUnwindSafe(|| {
        runner.run(TaskGroup::scope(|tg| async move {
            tg.create_task(note_after(seen.clone(), 1, "child finished"));
            yield_now().await;
            if seen.borrow().is_empty() {
                panic!("body exploded");
            }
            Ok(())
        }))
    }))
    .unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"body exploded"));
    assert!(events.borrow().is_empty());
    assert_eq!(runner.stats().live_tasks, 0);
}

#[test]
fn cancel_ends_the_group_without_an_error_told_apart_from_a_finished_body() {
    let events = log();
    let seen = events.clone();
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|tg| async move {
        tg.create_task(note_after(seen.clone(), 10, "worker finished"));
        let stopper = tg.clone();
        tg.create_task(async move {
            sleep(Duration::from_secs(2)).await;
            stopper.cancel();
        });
        sleep(Duration::from_secs(5)).await;
        push(&seen, "body finished");
        Ok("finished")
    }));
    let group = outcome.unwrap_err();
    assert!(group.is_cancelled(), "cancelled, not finished");
    assert!(group.errors().is_empty());
    assert!(group.body_error().is_none());
    assert!(events.borrow().is_empty());
    assert_eq!(elapsed, Duration::from_secs(2));

    let (finished, _) = run_timed(TaskGroup::scope(|_tg| async { Ok("finished") }));
    assert_eq!(finished.unwrap(), "finished");
}

#[test]
fn cancel_after_the_body_returned_keeps_its_value_and_stops_the_children() {
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|tg| async move {
        tg.create_task(pending::<()>());
        let stopper = tg.clone();
        tg.create_task(async move {
            sleep(Duration::from_secs(1)).await;
            stopper.cancel();
        });
        Ok("value")
    }));
    assert_eq!(outcome.unwrap(), "value");
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn a_child_cancelled_through_its_own_handle_is_not_an_error() {
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|tg| async move {
        let stuck = tg.create_task(pending::<()>());
        tg.create_task(sleep(Duration::from_secs(1)));
        sleep(Duration::from_secs(2)).await;
        assert!(stuck.cancel());
        assert!(stuck.clone().await.unwrap_err().is_cancelled());
        Ok(())
    }));
    outcome.unwrap();
    assert_eq!(elapsed, Duration::from_secs(2));
}

#[test]
fn a_failed_child_hands_its_error_to_the_group_and_ends_cancelled() {
    let mut failed = None;
    let (outcome, _) = run_timed(TaskGroup::scope(|tg| {
        failed = Some(tg.create_fallible(fail_after(1, "mine")));
        async { Ok(()) }
    }));
    assert_eq!(messages(&outcome.unwrap_err()), ["mine"]);
    let failed = failed.unwrap();
    assert!(failed.is_done() && failed.is_cancelled());
}

#[test]
fn the_group_reports_its_state_and_live_children() {
    let mut runner = virtual_runner();
    runner.run(async {
        let outcome = TaskGroup::scope(|tg| async move {
            assert_eq!(tg.state(), GroupState::Open);
            tg.create_task(sleep(Duration::from_secs(1)));
            tg.create_task(sleep(Duration::from_secs(2)));
            assert_eq!(tg.len(), 2);
            sleep(Duration::from_millis(1500)).await;
            assert_eq!(tg.len(), 1);
            tg.cancel();
            assert_eq!(tg.state(), GroupState::ShuttingDown);
            Ok(())
        })
        .await;
        // The body returned in the same poll in which it cancelled the group: it finished.
        assert!(outcome.is_ok());
    });
}

#[test]
fn a_group_of_100_000_children_completes() {
    const CHILDREN: u64 = 100_000;
    let sum = Rc::new(Cell::new(0_u64));
    let total = sum.clone();
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|tg| async move {
        for n in 0..CHILDREN {
            let total = total.clone();
            tg.create_task(async move {
                yield_now().await;
                total.set(total.get() + n);
            });
        }
        Ok(tg.len())
    }));
    assert_eq!(outcome.unwrap(), CHILDREN as usize);
    assert_eq!(sum.get(), CHILDREN * (CHILDREN - 1) / 2);
    assert_eq!(elapsed, Duration::ZERO);
}

#[test]
fn group_errors_can_be_taken_by_value_and_downcast() {
    #[derive(Debug)]
    struct Mine(u32);
    impl std::fmt::Display for Mine {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "mine {}", self.0)
        }
    }
    impl std::error::Error for Mine {}

    let (outcome, _) = run_timed(TaskGroup::scope(|tg| async move {
        tg.create_fallible(async { Err::<(), _>(Mine(7)) });
        Ok(())
    }));
    let group = outcome.unwrap_err();
    let source = std::error::Error::source(&group).unwrap();
    assert_eq!(source.to_string(), "mine 7");
    let errors = group.into_errors();
    let mine = errors
        .into_iter()
        .next()
        .unwrap()
        .downcast::<Mine>()
        .unwrap();
    assert_eq!(mine.0, 7);
}

#[test]
fn question_mark_on_the_scope_gives_the_body_value_itself() {
    async fn total() -> Result<u64, looplet::GroupError> {
        let value = TaskGroup::scope(|tg| async move {
            let a = tg.create_task(async { 40_u64 });
            Ok(a.await? + 2)
        })
        .await?;
        Ok(value)
    }
    let (outcome, _) = run_timed(total());
    assert_eq!(outcome.unwrap(), 42);
}

#[test]
fn a_cancelled_group_says_so_in_its_error_and_holds_no_error() {
    let (outcome, elapsed) = run_timed(TaskGroup::scope(|tg| async move {
        let stopper = tg.clone();
        tg.create_task(async move {
            sleep(Duration::from_secs(1)).await;
            stopper.cancel();
        });
        pending::<()>().await;
        Ok(())
    }));
    let group = outcome.unwrap_err();
    assert!(group.is_cancelled());
    assert!(group.errors().is_empty() && group.body_error().is_none());
    assert!(std::error::Error::source(&group).is_none());
    assert!(
        group.to_string().contains("cancelled (TaskGroup::cancel)"),
        "{group}"
    );
    assert_eq!(elapsed, Duration::from_secs(1));

    // A failure is never mistaken for a cancellation.
    let (failed, _) = run_timed(TaskGroup::scope(|tg| async move {
        tg.create_fallible(fail_after(1, "boom"));
        Ok(())
    }));
    assert!(!failed.unwrap_err().is_cancelled());
}

#[test]
fn a_child_may_return_any_value() {
    let (outcome, _) = run_timed(TaskGroup::scope(|tg| async move {
        let number = tg.create_task(async { 42 });
        let text = tg.create_task(async { String::from("text") });
        let list = tg.create_task(async {
            yield_now().await;
            vec![1, 2, 3]
        });
        Ok((number.await?, text.await?, list.await?))
    }));
    assert_eq!(outcome.unwrap(), (42, "text".to_string(), vec![1, 2, 3]));
}

#[test]
fn a_child_that_only_panics_is_accepted_and_its_panic_resumes() {
    let mut runner = virtual_runner();
    let panic = catch_unwind(AssertUnwindSafe(|| {
        runner.run(TaskGroup::scope(|tg| async move {
            tg.create_task(async { panic!("nothing but a panic") });
            Ok(())
        }))
    }))
    .unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"nothing but a panic"));
}

#[test]
fn a_result_kept_as_a_value_with_any_value_does_not_fail_the_group() {
    let (outcome, _) = run_timed(TaskGroup::scope(|tg| async move {
        // Naming the marker is the deliberate way to keep an `Err` as a plain value.
        let kept = tg.create_task::<_, looplet::AnyValue>(async { Err::<(), _>("data") });
        Ok(kept.await?)
    }));
    assert_eq!(outcome.unwrap(), Err("data"));
}

#[test]
fn children_can_be_named_and_read_their_own_name() {
    let (outcome, _) = run_timed(TaskGroup::scope(|tg| async move {
        let fetcher = tg
            .builder()
            .name("fetcher")
            .create_task(async { looplet::current_task_name() });
        let parser = tg
            .builder()
            .name("parser")
            .create_fallible(async { "7".parse::<u32>() });
        let unnamed = tg.create_task(async {});
        assert_eq!(fetcher.name(), "fetcher");
        assert_eq!(parser.name(), "parser");
        assert_eq!(unnamed.name(), unnamed.id().to_string());
        let own_name = fetcher.await?;
        Ok((own_name, parser.await?))
    }));
    assert_eq!(outcome.unwrap(), (Some("fetcher".to_string()), 7));
}

#[test]
fn a_named_child_keeps_its_name_after_it_panics() {
    let mut seen = None;
    let mut runner = virtual_runner();
    let _ = catch_unwind(AssertUnwindSafe(|| {
        runner.run(TaskGroup::scope(|tg| {
            let child = tg.builder().name("parser").create_task(async {
                yield_now().await;
                panic!("bad input")
            });
            seen = Some(child.clone());
            async { Ok(()) }
        }))
    }));
    let child = seen.unwrap();
    assert!(child.is_panicked());
    assert_eq!(child.name(), "parser");
}

#[test]
fn a_finished_group_refuses_named_and_fallible_children_alike() {
    let mut runner = virtual_runner();
    runner.run(async {
        let mut kept = None;
        TaskGroup::scope(|tg| {
            kept = Some(tg.clone());
            async { Ok(()) }
        })
        .await
        .unwrap();
        let tg = kept.unwrap();
        assert!(tg
            .try_create_fallible(async { Ok::<_, BoxError>(1) })
            .is_err());
        let named = tg.builder().name("late").try_create_task(async {});
        assert!(named.unwrap_err().is_closed());
    });
}
