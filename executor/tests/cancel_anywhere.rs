//! Cancelling from any thread: a `CancelHandle` (tokio's `AbortHandle`) and a `RemoteTask`
//! carry the same request as `Task::cancel` through the remote queue.

mod support;

use std::future::pending;
use std::time::Duration;

use looplet_executor::{create_task, yield_now, Runner};
use support::within;

#[test]
fn a_cancel_handle_cancels_a_sleeping_task_from_another_thread_and_wakes_the_loop() {
    let cancelled = within(Duration::from_secs(20), || {
        looplet_executor::run(async {
            let task = create_task(pending::<()>());
            let canceller = task.cancel_handle();
            // The loop parks (nothing else to do) until the request arrives.
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                canceller.cancel();
            });
            task.await.unwrap_err().is_cancelled()
        })
    });
    assert!(cancelled);
}

#[test]
fn a_cancel_handle_used_on_the_loop_thread_cancels_at_once_like_task_cancel() {
    looplet_executor::run(async {
        let task = create_task(async { unreachable!("cancelled before its first poll") });
        task.cancel_handle().cancel();
        assert!(task.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn a_cancel_handle_of_a_finished_task_or_a_closed_loop_does_nothing() {
    let mut runner = Runner::new();
    let (finished, canceller) = runner.run(async {
        let task = create_task(async { 5 });
        yield_now().await;
        let canceller = task.cancel_handle();
        canceller.cancel();
        yield_now().await;
        (task.result(), canceller)
    });
    assert_eq!(finished.unwrap(), 5, "a finished task keeps its value");
    // A later task of the loop is not reached by the stale request.
    let later = runner.run(async {
        let later = create_task(pending::<()>());
        canceller.cancel();
        yield_now().await;
        yield_now().await;
        [later]
    });
    let [later] = later;
    assert!(!later.is_done());
    runner.close();
    canceller.cancel();
    assert!(later.is_cancelled());
}

#[test]
fn a_remote_task_is_cancelled_before_it_is_made_or_after() {
    let mut runner = Runner::new();
    let handle = runner.handle();
    let early = handle.spawn(pending::<()>());
    assert!(
        early.cancel(),
        "cancelled while its job still waits in the queue"
    );
    let late = handle.spawn(pending::<u8>());
    runner.run(yield_now());
    let late = std::thread::spawn(move || {
        assert!(late.cancel());
        late
    })
    .join()
    .unwrap();
    assert!(runner.run(early).unwrap_err().is_cancelled());
    assert!(runner.run(late).unwrap_err().is_cancelled());
    let done = handle.spawn(async { 1 });
    let mut done = std::pin::pin!(done);
    assert_eq!(runner.run(done.as_mut()).unwrap(), 1);
    assert!(!done.cancel(), "a finished task cannot be cancelled");
}
