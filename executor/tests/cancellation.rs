//! Cancellation is a request the loop applies by dropping the future the next time it owns
//! the task; done callbacks then see the task cancelled.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use looplet_executor::{create_task, yield_now};
use looplet_timer::sleep;
use support::{virtual_runner, Trace};

/// Records its drop, so a test can see exactly when a future was dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn a_task_cancelled_before_its_first_poll_never_runs() {
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let error = virtual_runner().run(async move {
        let task = create_task(async move { flag.set(true) });
        assert!(task.cancel(), "a pending task reports it was still pending");
        task.await.unwrap_err()
    });
    assert!(error.is_cancelled());
    assert!(!ran.get());
}

#[test]
fn a_sleeping_task_is_cancelled_and_its_future_dropped() {
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    let trace = Trace::new();
    let log = trace.clone();
    virtual_runner().run(async move {
        let task = create_task(async move {
            let _flag = flag;
            log.push("sleeping");
            sleep(Duration::from_secs(10)).await;
            log.push("woke up (must not happen)");
        });
        sleep(Duration::from_secs(1)).await;
        assert!(task.cancel());
        let error = task.await.unwrap_err();
        assert!(error.is_cancelled());
        assert_eq!(error.to_string(), "Task-1 was cancelled");
    });
    assert!(dropped.get());
    assert_eq!(trace.events(), ["sleeping"]);
}

#[test]
fn cancelling_a_finished_task_returns_false_and_keeps_its_value() {
    virtual_runner().run(async {
        let task = create_task(async { 5 });
        yield_now().await;
        assert!(task.is_done());
        assert!(!task.cancel());
        assert!(!task.is_cancelled());
        assert_eq!(task.await.unwrap(), 5);
    });
}

#[test]
fn a_task_that_cancels_itself_stops_at_its_next_suspension() {
    let trace = Trace::new();
    let log = trace.clone();
    virtual_runner().run(async move {
        let me = Rc::new(Cell::new(None));
        let slot = me.clone();
        let task = create_task(async move {
            let task: looplet_executor::Task<()> = slot.take().unwrap();
            log.push("before cancel");
            task.cancel();
            log.push("after cancel, same poll");
            yield_now().await;
            log.push("after the suspension (must not happen)");
        });
        me.set(Some(task));
        sleep(Duration::from_secs(1)).await;
    });
    assert_eq!(trace.events(), ["before cancel", "after cancel, same poll"]);
}

#[test]
fn cancelling_the_awaiting_task_does_not_cancel_the_awaited_one() {
    let trace = Trace::new();
    let log = trace.clone();
    virtual_runner().run(async move {
        let inner_log = log.clone();
        let inner = create_task(async move {
            sleep(Duration::from_secs(2)).await;
            inner_log.push("inner finished");
        });
        let inner_id = inner.id();
        let outer = create_task(async move {
            let _ = inner.await;
        });
        sleep(Duration::from_secs(1)).await;
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        sleep(Duration::from_secs(2)).await;
        log.push(format!("{inner_id} outlived its awaiter"));
    });
    assert_eq!(
        trace.events(),
        ["inner finished", "Task-1 outlived its awaiter"]
    );
}

#[test]
fn cancel_is_idempotent_while_pending() {
    virtual_runner().run(async {
        let task = create_task(std::future::pending::<()>());
        assert!(task.cancel());
        assert!(task.cancel(), "still pending until the loop applies it");
        assert!(task.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn a_task_that_cancels_itself_and_then_returns_ends_cancelled_its_value_discarded() {
    // CPython's `test_cancel_at_end`: the cancellation wins over the value.
    virtual_runner().run(async {
        let me = Rc::new(Cell::new(None));
        let slot = me.clone();
        let task = create_task(async move {
            let own: looplet_executor::Task<u32> = slot.take().unwrap();
            assert!(own.cancel(), "still pending while it runs");
            slot.set(Some(own));
            12
        });
        me.set(Some(task));
        yield_now().await;
        let task = me.take().unwrap();
        assert!(task.is_done());
        assert!(task.is_cancelled());
        assert!(task.await.unwrap_err().is_cancelled());
    });
}
