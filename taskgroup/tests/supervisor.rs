//! Supervisor groups (`TaskGroup::supervise`): a failure — a child's `Err`, the body's, a
//! panic — cancels nobody; the errors come back once everything has ended; `cancel()` and a
//! dropped scope still stop everything, and no task outlives the group. On the virtual
//! clock, so "waited for the slow sibling" is an exact number of seconds.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use looplet_executor::{stats, Runner};
use looplet_taskgroup::{BoxError, ChildTask, GroupError, TaskGroup};
use looplet_timer::{sleep, timeout};

const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);

/// Runs `future` on a fresh virtual-clock runner; returns its output and the virtual time
/// it took (also when it panicked: then the output is the panic).
fn run_timed<F: Future>(future: F) -> (std::thread::Result<F::Output>, Duration) {
    let mut runner = Runner::builder().virtual_clock(true).build();
    let start = runner.clock().now();
    let output = catch_unwind(AssertUnwindSafe(|| runner.run(future)));
    (output, runner.clock().now() - start)
}

/// A child that fails with `message` after `after`.
async fn fail_after(after: Duration, message: &'static str) -> Result<(), BoxError> {
    sleep(after).await;
    Err(message.into())
}

fn messages(group: &GroupError) -> Vec<String> {
    group.iter().map(|error| error.to_string()).collect()
}

#[test]
fn a_failing_child_cancels_no_sibling_and_every_error_comes_back_in_order_at_the_end() {
    let finished = Rc::new(Cell::new(false));
    let seen = finished.clone();
    let (outcome, took) = run_timed(TaskGroup::supervise(|tg| async move {
        assert!(tg.is_supervisor());
        tg.create_fallible(fail_after(3 * SECOND, "three"));
        tg.create_fallible(fail_after(SECOND, "one"));
        let slow = tg.create_task(async move {
            sleep(5 * SECOND).await;
            seen.set(true);
            "slow done"
        });
        // The body too runs on after the failures.
        sleep(4 * SECOND).await;
        assert_eq!(
            tg.len(),
            1,
            "both failed children ended; the slow one runs on"
        );
        Ok(slow)
    }));
    let group = outcome.unwrap().unwrap_err();
    assert_eq!(messages(&group), ["one", "three"]);
    assert!(group.body_error().is_none());
    assert!(finished.get(), "the slow sibling ran to its end");
    assert_eq!(took, 5 * SECOND, "the scope waited for the slowest child");
}

#[test]
fn a_supervisor_where_nothing_fails_gives_the_body_value() {
    let (outcome, _) = run_timed(TaskGroup::supervise(|tg| async move {
        let a = tg.create_fallible(async { "40".parse::<u32>() });
        let b = tg.create_task(async { 2 });
        Ok(a.await? + b.await?)
    }));
    assert_eq!(outcome.unwrap().unwrap(), 42);
}

#[test]
fn the_body_failing_is_recorded_last_and_the_scope_still_waits_for_the_children() {
    let finished = Rc::new(Cell::new(false));
    let seen = finished.clone();
    let (outcome, took) = run_timed(TaskGroup::supervise(|tg| async move {
        tg.create_fallible(fail_after(SECOND, "child"));
        tg.create_task(async move {
            sleep(2 * SECOND).await;
            seen.set(true);
        });
        Err::<(), _>("body".into())
    }));
    let group = outcome.unwrap().unwrap_err();
    assert_eq!(messages(&group), ["child", "body"]);
    assert_eq!(group.body_error().unwrap().to_string(), "body");
    assert!(finished.get(), "the body's failure cancelled nobody");
    assert_eq!(took, 2 * SECOND);
}

#[test]
fn a_child_panic_cancels_nobody_and_is_resumed_once_every_task_has_ended() {
    let finished = Rc::new(Cell::new(false));
    let seen = finished.clone();
    let (outcome, took) = run_timed(TaskGroup::supervise(|tg| async move {
        tg.create_task(async {
            sleep(SECOND).await;
            panic!("a bug in one worker");
        });
        tg.create_task(async move {
            sleep(3 * SECOND).await;
            seen.set(true);
        });
        Ok(())
    }));
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"a bug in one worker"));
    assert!(finished.get(), "the panic cancelled no sibling");
    assert_eq!(took, 3 * SECOND, "resumed only after the last child ended");
}

#[test]
fn a_body_panic_waits_for_the_children_then_is_resumed() {
    let finished = Rc::new(Cell::new(false));
    let seen = finished.clone();
    let (outcome, took) = run_timed(TaskGroup::supervise(|tg| async move {
        tg.create_task(async move {
            sleep(2 * SECOND).await;
            seen.set(true);
        });
        sleep(SECOND).await;
        panic!("the body's bug");
        #[allow(unreachable_code)]
        Ok(())
    }));
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the body's bug"));
    assert!(finished.get());
    assert_eq!(took, 2 * SECOND);
}

#[test]
fn cancel_stops_a_supervisor_and_keeps_the_errors_recorded_before() {
    let (outcome, took) = run_timed(TaskGroup::supervise(|tg| async move {
        tg.create_fallible(fail_after(SECOND, "early failure"));
        tg.create_task(sleep(HOUR));
        let stopper = tg.clone();
        tg.create_task(async move {
            sleep(2 * SECOND).await;
            stopper.cancel();
        });
        sleep(HOUR).await;
        Ok(())
    }));
    let group = outcome.unwrap().unwrap_err();
    assert_eq!(messages(&group), ["early failure"]);
    assert_eq!(took, 2 * SECOND, "cancel() stopped the hour-long sleepers");

    // With nothing recorded, the scope reports a cancellation, as an ordinary group does.
    let (outcome, _) = run_timed(TaskGroup::supervise(|tg| async move {
        tg.create_task(sleep(HOUR));
        let stopper = tg.clone();
        tg.create_task(async move { stopper.cancel() });
        sleep(HOUR).await;
        Ok(())
    }));
    assert!(outcome.unwrap().unwrap_err().is_cancelled());
}

/// No task outlives its group: a supervisor dropped by a timeout in an enclosing group's
/// body, with a group nested in one of its children, has every task under it ended when
/// the enclosing scope returns.
#[test]
fn a_supervisor_dropped_by_a_timeout_is_waited_for_with_its_whole_nest() {
    let deep: Rc<RefCell<Option<ChildTask<()>>>> = Rc::default();
    let slot = deep.clone();
    let (outcome, took) = run_timed(async move {
        let outer = TaskGroup::scope(|_outer| async move {
            let supervised = TaskGroup::supervise(move |tg| {
                tg.create_fallible(TaskGroup::scope(move |inner| {
                    *slot.borrow_mut() = Some(inner.create_task(sleep(HOUR)));
                    async { Ok(()) }
                }));
                tg.create_fallible(fail_after(Duration::ZERO, "failed, cancelled nobody"));
                async { Ok(()) }
            });
            assert!(
                timeout(SECOND, supervised).await.is_err(),
                "the timeout fired"
            );
            Ok("body done")
        })
        .await;
        let deep = deep.borrow_mut().take().unwrap();
        assert!(
            deep.is_done() && deep.is_cancelled(),
            "the nested sleeper ended"
        );
        assert_eq!(stats().live_tasks, 0, "no task is left");
        outer
    });
    assert_eq!(outcome.unwrap().unwrap(), "body done");
    assert_eq!(
        took, SECOND,
        "the failure at 0s stopped nothing; the timeout did"
    );
}

/// A supervisor nested in an ordinary group that fails is stopped with it.
#[test]
fn an_ordinary_group_failing_stops_a_supervisor_nested_in_it() {
    let deep: Rc<RefCell<Option<ChildTask<()>>>> = Rc::default();
    let slot = deep.clone();
    let (outcome, took) = run_timed(TaskGroup::scope(move |outer| {
        outer.create_fallible(TaskGroup::supervise(move |inner| {
            *slot.borrow_mut() = Some(inner.create_task(sleep(HOUR)));
            async { Ok(()) }
        }));
        outer.create_fallible(fail_after(SECOND, "outer failure"));
        async { Ok(()) }
    }));
    let group = outcome.unwrap().unwrap_err();
    assert_eq!(messages(&group), ["outer failure"]);
    let deep = deep.borrow_mut().take().unwrap();
    assert!(deep.is_done() && deep.is_cancelled());
    assert_eq!(took, SECOND);
}
