//! asyncio's timeout handle on `looplet::Timeout`: `when` is the deadline, `reschedule`
//! moves it either way while the body runs, and `expired` says whether the deadline was
//! reached. All on the virtual clock.

use std::future::{pending, poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use looplet::{now, sleep, timeout, timeout_at, Runner, Timeout};

fn on_virtual_clock<T>(future: impl Future<Output = T>) -> T {
    Runner::builder().virtual_clock(true).build().run(future)
}

fn secs(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// Polls `future` once; its output if that poll finished it.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    poll_fn(|cx| match Pin::new(&mut *future).poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

#[test]
fn a_timeout_is_unpin_so_it_can_be_awaited_through_a_reference() {
    fn unpin<T: Unpin>(_: &T) {}
    unpin(&timeout(secs(1), pending::<()>()));
}

#[test]
fn when_is_the_deadline_the_timeout_was_made_with() {
    on_virtual_clock(async {
        let start = now();
        assert_eq!(timeout(secs(3), pending::<()>()).when(), start + secs(3));
        let at = start + secs(7);
        assert_eq!(timeout_at(at, pending::<()>()).when(), at);
    });
}

#[test]
fn rescheduling_later_lets_a_slow_body_finish() {
    on_virtual_clock(async {
        let start = now();
        let mut guarded = timeout(secs(1), sleep(secs(3)));
        assert_eq!(poll_once(&mut guarded).await, None);
        guarded.reschedule(start + secs(5));
        assert_eq!(guarded.when(), start + secs(5));
        assert_eq!((&mut guarded).await, Ok(()));
        assert_eq!(now() - start, secs(3));
        assert!(!guarded.expired());
    });
}

#[test]
fn rescheduling_earlier_cuts_a_running_body_short() {
    on_virtual_clock(async {
        let start = now();
        let mut guarded = timeout(secs(10), sleep(secs(5)));
        assert_eq!(poll_once(&mut guarded).await, None); // registered for 10 s
        guarded.reschedule(start + secs(2));
        let elapsed = (&mut guarded).await.unwrap_err();
        assert_eq!(elapsed.deadline(), start + secs(2));
        assert_eq!(now() - start, secs(2));
        assert!(guarded.expired());
    });
}

#[test]
fn rescheduling_into_the_past_fires_at_the_bodys_next_suspension() {
    on_virtual_clock(async {
        let start = now();
        let mut guarded = timeout(secs(10), pending::<()>());
        assert_eq!(poll_once(&mut guarded).await, None);
        guarded.reschedule(start);
        assert!(guarded.expired(), "already past, before any poll");
        assert!((&mut guarded).await.is_err());
        assert_eq!(now(), start);
    });
}

#[test]
fn expired_turns_true_when_the_deadline_passes_before_the_next_poll() {
    on_virtual_clock(async {
        let mut stuck = timeout(secs(1), pending::<()>());
        assert_eq!(poll_once(&mut stuck).await, None);
        assert!(!stuck.expired());
        sleep(secs(2)).await; // the timeout is not polled meanwhile
        assert!(stuck.expired());
        assert!((&mut stuck).await.is_err());
        assert!(stuck.expired());
    });
}

#[test]
fn a_timeout_that_returned_in_time_never_reads_as_expired_later() {
    on_virtual_clock(async {
        let mut quick = timeout(secs(1), async { 5 });
        assert_eq!((&mut quick).await, Ok(5));
        sleep(secs(2)).await; // past the old deadline
        assert!(!quick.expired());
    });
}

fn panic_message(run: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(run)).expect_err("it did not panic");
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload.downcast_ref::<&str>().unwrap().to_string(),
    }
}

/// A timeout that has already returned `Ok(())`, on a loop of its own.
fn returned() -> Timeout<std::future::Ready<()>> {
    let mut done = timeout(secs(1), std::future::ready(()));
    assert_eq!(on_virtual_clock(&mut done), Ok(()));
    done
}

#[test]
fn rescheduling_a_timeout_that_returned_panics_naming_the_fix() {
    let mut done = returned();
    let message = panic_message(|| done.reschedule(std::time::Instant::now()));
    assert!(
        message.contains("start a new looplet::timeout_at"),
        "{message}"
    );
}

#[test]
fn polling_a_timeout_that_returned_panics_clearly() {
    let mut done = returned();
    let message = panic_message(|| {
        on_virtual_clock(async {
            let _ = (&mut done).await;
        })
    });
    assert!(
        message.contains("polled again after it returned"),
        "{message}"
    );
}
