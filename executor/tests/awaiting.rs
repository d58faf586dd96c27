//! Awaiting a task that could never finish is an error at once, never a silent hang: a
//! task awaiting its own handle, and a task whose loop is not running.

// Handing a task's handle out of one `run` to await it elsewhere is what these tests do.
#![allow(clippy::async_yields_async)]

use std::cell::RefCell;
use std::future::{pending, Future};
use std::rc::Rc;

use looplet_executor::{create_task, run, stats, yield_now, Runner, Task};

#[test]
fn a_task_awaiting_its_own_handle_gets_an_error_at_once() {
    let seen: Rc<RefCell<Option<String>>> = Rc::default();
    let report = seen.clone();
    run(async move {
        let slot: Rc<RefCell<Option<Task<()>>>> = Rc::default();
        let me = slot.clone();
        let task = create_task(async move {
            let own = me.borrow_mut().take().expect("the handle is there by now");
            let error = own.await.unwrap_err();
            assert!(error.is_self_await());
            *report.borrow_mut() = Some(error.to_string());
        });
        *slot.borrow_mut() = Some(task);
        yield_now().await;
        assert_eq!(stats().live_tasks, 0, "the task went on and finished");
    });
    let message = seen.borrow_mut().take().expect("the task saw the error");
    assert!(message.contains("cannot await its own handle"), "{message}");
}

#[test]
fn awaiting_a_task_of_another_runner_is_an_error_that_names_the_fix() {
    let mut first = Runner::new();
    let task = first.run(async { create_task(pending::<()>()) });
    let mut second = Runner::new();
    let error = second.run(task).unwrap_err();
    assert!(error.is_loop_not_running());
    assert!(
        error.to_string().contains("inside that loop's Runner::run"),
        "{error}"
    );
}

#[test]
fn awaiting_a_task_from_a_task_of_another_runner_is_an_error() {
    let mut first = Runner::new();
    let task = first.run(async { create_task(pending::<u8>()) });
    let mut second = Runner::new();
    let error = second.run(async move { create_task(task).await.unwrap() });
    assert!(error.unwrap_err().is_loop_not_running());
    // The task itself is untouched: its own loop still runs it, and can cancel it.
    first.close();
    assert_eq!(first.stats().live_tasks, 0);
}

#[test]
fn a_task_polled_outside_any_loop_is_an_error_but_a_finished_one_gives_its_value() {
    let mut runner = Runner::new();
    let (pending_task, finished) = runner.run(async {
        let finished = create_task(async { 3 });
        yield_now().await;
        (create_task(pending::<()>()), finished)
    });
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut pending_task = std::pin::pin!(pending_task);
    match pending_task.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Err(error)) => assert!(error.is_loop_not_running()),
        other => panic!("expected an error, got {other:?}"),
    }
    let mut finished = std::pin::pin!(finished);
    assert!(matches!(
        finished.as_mut().poll(&mut cx),
        std::task::Poll::Ready(Ok(3))
    ));
}

#[test]
fn a_task_of_this_runner_awaited_in_a_later_run_still_finishes() {
    let mut runner = Runner::new();
    let task = runner.run(async {
        create_task(async {
            yield_now().await;
            9
        })
    });
    assert_eq!(runner.run(task).unwrap(), 9);
}
