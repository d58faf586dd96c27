//! Done callbacks: exactly once, in registration order, from the loop, for every outcome;
//! and a panic is reported through the handle, never lost.

mod support;

use std::time::Duration;

use looplet_executor::{create_task, yield_now, Task};
use looplet_timer::sleep;
use support::{virtual_runner, Trace};

fn describe<T: std::fmt::Debug>(task: &Task<T>) -> String {
    if task.is_cancelled() {
        format!("{} cancelled", task.name())
    } else if task.is_panicked() {
        format!("{} panicked: {}", task.name(), task.result().unwrap_err())
    } else {
        format!("{} value {:?}", task.name(), task.result().unwrap())
    }
}

#[test]
fn done_callbacks_fire_exactly_once_for_a_value_a_panic_and_a_cancellation() {
    let trace = Trace::new();
    let log = trace.clone();
    virtual_runner().run(async move {
        let value = create_task(async { 1 });
        let panics = create_task(async {
            yield_now().await;
            panic!("boom");
        });
        let cancelled = create_task(async {
            sleep(Duration::from_secs(5)).await;
            3
        });
        for task in [&value, &panics, &cancelled] {
            let log = log.clone();
            task.add_done_callback(move |task| log.push(describe(task)));
        }
        sleep(Duration::from_secs(1)).await;
        cancelled.cancel();
        sleep(Duration::from_secs(10)).await;
    });
    assert_eq!(
        trace.events(),
        [
            "Task-1 value 1",
            "Task-2 panicked: Task-2 panicked: boom",
            "Task-3 cancelled"
        ]
    );
}

#[test]
fn callbacks_run_in_registration_order_and_never_inline() {
    let trace = Trace::new();
    let log = trace.clone();
    virtual_runner().run(async move {
        let task = create_task(async {});
        yield_now().await;
        assert!(task.is_done());
        for i in 0..3 {
            let log = log.clone();
            task.add_done_callback(move |_| log.push(format!("callback {i}")));
        }
        log.push("after add_done_callback");
        yield_now().await;
    });
    assert_eq!(
        trace.events(),
        [
            "after add_done_callback",
            "callback 0",
            "callback 1",
            "callback 2"
        ]
    );
}

#[test]
fn a_panicking_task_does_not_stop_the_loop_or_other_tasks() {
    let value = virtual_runner().run(async {
        let bad = create_task(async { panic!("only me") });
        let good = create_task(async {
            yield_now().await;
            7
        });
        let error = bad.await.unwrap_err();
        assert!(error.is_panic());
        assert_eq!(error.panic_message(), Some("only me"));
        good.await.unwrap()
    });
    assert_eq!(value, 7);
}

#[test]
fn a_panic_payload_can_be_resumed_by_the_awaiting_code() {
    let caught = std::panic::catch_unwind(|| {
        virtual_runner().run(async {
            let task = create_task(async { std::panic::panic_any(42u32) });
            let error = task.await.unwrap_err();
            std::panic::resume_unwind(error.into_panic());
        })
    })
    .unwrap_err();
    assert_eq!(caught.downcast_ref::<u32>(), Some(&42));
}

#[test]
fn a_panicking_callback_is_reported_and_later_callbacks_still_run() {
    let trace = Trace::new();
    let log = trace.clone();
    virtual_runner().run(async move {
        let task = create_task(async {});
        task.add_done_callback(|_| panic!("callback bug"));
        task.add_done_callback(move |_| log.push("second callback ran"));
        yield_now().await;
        yield_now().await;
    });
    assert_eq!(trace.events(), ["second callback ran"]);
}

#[test]
fn the_outcome_can_be_read_once_without_waiting() {
    virtual_runner().run(async {
        let task = create_task(async { String::from("v") });
        let early = task.result().unwrap_err();
        assert!(early.is_not_done());
        assert!(early.to_string().contains("not done"));
        yield_now().await;
        assert_eq!(task.result().unwrap(), "v");
        let again = task.result().unwrap_err();
        assert!(again.is_taken());
    });
}

#[test]
fn tasks_get_increasing_default_names_and_custom_ones() {
    virtual_runner().run(async {
        let first = create_task(async {});
        let second = create_task(async {});
        let named = looplet_executor::TaskBuilder::new()
            .name("worker")
            .spawn(async {});
        assert_eq!(first.name(), "Task-1");
        assert_eq!(second.name(), "Task-2");
        assert_eq!(named.name(), "worker");
        assert_eq!(named.id().number(), 3);
    });
}

#[test]
fn a_removed_callback_never_runs_and_the_others_keep_their_order() {
    let trace = Trace::new();
    let (first, third, fourth) = (trace.clone(), trace.clone(), trace.clone());
    looplet_executor::run(async move {
        let task = create_task(async { 1 });
        let ids = [
            task.add_done_callback(move |_| first.push("first")),
            task.add_done_callback(|_| unreachable!("removed")),
            task.add_done_callback(move |_| third.push("third")),
        ];
        assert!(task.remove_done_callback(ids[1]));
        assert!(!task.remove_done_callback(ids[1]), "an id removes once");
        // Removing the first and adding again keeps registration order.
        let _ = task.add_done_callback(move |_| fourth.push("fourth"));
        assert_eq!(task.await.unwrap(), 1);
        yield_now().await;
    });
    assert_eq!(trace.events(), ["first", "third", "fourth"]);
}

#[test]
fn removing_the_first_callback_does_not_let_a_later_one_jump_the_queue() {
    let trace = Trace::new();
    let (second, third) = (trace.clone(), trace.clone());
    looplet_executor::run(async move {
        let task = create_task(async {});
        let first = task.add_done_callback(|_| unreachable!("removed"));
        let _ = task.add_done_callback(move |_| second.push("second"));
        assert!(task.remove_done_callback(first));
        let _ = task.add_done_callback(move |_| third.push("third"));
        task.await.unwrap();
        yield_now().await;
    });
    assert_eq!(trace.events(), ["second", "third"]);
}

#[test]
fn a_callback_added_to_a_done_task_is_queued_and_cannot_be_removed() {
    let trace = Trace::new();
    let log = trace.clone();
    looplet_executor::run(async move {
        let task = create_task(async {});
        yield_now().await;
        let id = task.add_done_callback(move |_| log.push("ran"));
        assert!(!task.remove_done_callback(id));
        yield_now().await;
    });
    assert_eq!(trace.events(), ["ran"]);
}
