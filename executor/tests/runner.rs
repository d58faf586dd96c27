//! `Runner`: one loop across many `run` calls; closing cancels the rest; misuse is refused
//! with a message that names the fix.

mod support;

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use looplet_executor::{create_task, run, yield_now, Runner};
use looplet_timer::sleep;
use support::{virtual_runner, Trace};

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

async fn say_after(trace: Trace, seconds: u64, what: &'static str) {
    sleep(Duration::from_secs(seconds)).await;
    trace.push(what);
}

#[test]
fn tasks_created_in_one_run_keep_running_in_the_next_and_the_rest_are_cancelled_on_drop() {
    let trace = Trace::new();
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let log = trace.clone();
    runner.run(async move {
        for seconds in 1..=4 {
            let task = create_task(say_after(log.clone(), seconds, "background"));
            let log = log.clone();
            task.add_done_callback(move |task| {
                if task.is_cancelled() {
                    log.push(format!("{} cancelled", task.name()));
                }
            });
        }
    });
    assert!(trace.events().is_empty(), "no time passed in the first run");
    runner.run(say_after(trace.clone(), 0, "first run again"));
    runner.run(say_after(trace.clone(), 3, "second run"));
    assert_eq!(runner.clock().now() - start, Duration::from_secs(3));
    drop(runner);
    assert_eq!(
        trace.events(),
        [
            "first run again",
            "background",
            "background",
            "background",
            "second run",
            "Task-4 cancelled"
        ]
    );
}

#[test]
fn a_closed_runner_refuses_to_run_and_closing_twice_is_harmless() {
    let mut runner = Runner::new();
    runner.run(async {});
    runner.close();
    runner.close();
    assert!(runner.is_closed());
    let refused = catch_unwind(AssertUnwindSafe(|| runner.run(async {}))).unwrap_err();
    assert!(panic_message(refused).contains("closed Runner"));
}

#[test]
fn run_inside_a_running_loop_panics_with_a_message_naming_the_fix() {
    let message = run(async {
        let nested = catch_unwind(|| run(async {})).unwrap_err();
        panic_message(nested)
    });
    assert!(
        message.starts_with("looplet::run cannot be called from a running event loop"),
        "{message}"
    );
}

#[test]
fn a_nested_runner_run_is_named_runner_run_in_the_message() {
    let message = run(async {
        let nested = catch_unwind(|| Runner::new().run(async {})).unwrap_err();
        panic_message(nested)
    });
    assert!(
        message.starts_with("Runner::run cannot be called from a running event loop"),
        "{message}"
    );
}

#[test]
fn create_task_without_a_loop_panics_with_a_message_naming_the_fix() {
    let message = panic_message(catch_unwind(|| drop(create_task(async {}))).unwrap_err());
    assert!(
        message.contains("needs a running looplet event loop"),
        "{message}"
    );
}

#[test]
fn polling_a_sleep_without_a_loop_panics_with_a_message_naming_the_fix() {
    let polled = catch_unwind(|| {
        let mut sleep = std::pin::pin!(sleep(Duration::from_secs(1)));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let _ = std::future::Future::poll(sleep.as_mut(), &mut cx);
    });
    let message = panic_message(polled.unwrap_err());
    assert!(
        message.contains("needs a running looplet event loop"),
        "{message}"
    );
}

#[test]
fn a_sleep_made_outside_a_loop_is_run_by_the_loop_that_polls_it() {
    let mut runner = virtual_runner();
    let nap = sleep(Duration::from_secs(2)); // lazy: no loop is needed to make it
    let start = runner.clock().now();
    runner.run(nap);
    assert_eq!(runner.clock().now() - start, Duration::from_secs(2));
}

#[test]
fn a_panic_in_the_main_future_propagates_and_the_runner_stays_usable() {
    let mut runner = virtual_runner();
    let payload = catch_unwind(AssertUnwindSafe(|| {
        runner.run(async { panic!("main failed") })
    }))
    .unwrap_err();
    assert_eq!(panic_message(payload), "main failed");
    assert_eq!(runner.run(async { 3 }), 3);
}

#[test]
fn tasks_spawned_by_callbacks_during_close_are_cancelled_too() {
    let polled = Rc::new(Cell::new(false));
    let flag = polled.clone();
    let trace = Trace::new();
    let log = trace.clone();
    let mut runner = virtual_runner();
    runner.run(async move {
        let task = create_task(std::future::pending::<()>());
        task.add_done_callback(move |_| {
            let late = create_task(async move { flag.set(true) });
            late.add_done_callback(move |late| {
                log.push(format!("late cancelled: {}", late.is_cancelled()))
            });
        });
    });
    runner.close();
    assert!(!polled.get(), "a task created while closing never runs");
    assert_eq!(trace.events(), ["late cancelled: true"]);
    assert_eq!(runner.stats().live_tasks, 0);
}

#[test]
// The handles leave their run on purpose, to be used between runs.
#[allow(clippy::async_yields_async)]
fn a_task_handle_used_between_runs_reaches_its_own_loop_even_while_another_runs() {
    let mut home = virtual_runner();
    let mut other = virtual_runner();
    let sleeper = home.run(async { create_task(sleep(Duration::from_secs(60))) });
    let finished = home.run(async {
        let task = create_task(async { 7 });
        sleep(Duration::from_secs(1)).await;
        task
    });
    assert!(finished.is_done());

    // Between runs of `home`, and from inside a run of `other`: both requests must reach
    // `home`, not the loop that happens to be running.
    let seen = Rc::new(Cell::new(None));
    other.run(async {
        assert!(sleeper.cancel());
        let sink = Rc::clone(&seen);
        finished.add_done_callback(move |task| sink.set(Some(task.result().unwrap())));
    });
    assert_eq!(
        seen.get(),
        None,
        "a callback on a done task waits for its loop"
    );
    assert!(
        !sleeper.is_done(),
        "a cancellation is applied by the task's own loop"
    );

    home.run(yield_now());
    assert!(sleeper.is_cancelled());
    assert_eq!(seen.get(), Some(7));
}

#[test]
// The handles leave their run on purpose, to be used between runs.
#[allow(clippy::async_yields_async)]
fn a_done_callback_added_after_the_runner_is_closed_runs_at_once() {
    let mut runner = virtual_runner();
    let task = runner.run(async { create_task(async { "late" }) });
    runner.run(async {});
    runner.close();
    let seen = Rc::new(Cell::new(""));
    let sink = Rc::clone(&seen);
    task.add_done_callback(move |task| sink.set(task.result().unwrap()));
    assert_eq!(
        seen.get(),
        "late",
        "with no loop left to run it later, it runs now"
    );
}
