//! Timer futures are lazy: `sleep`, `sleep_until`, `timeout` and `interval` may be made with
//! no loop running and register at their first poll. Made while a loop runs, a deadline is
//! fixed at once; made with none, `sleep(d)`'s deadline is fixed at its first poll. Polling
//! with no loop at all panics with a message naming the fix.

use std::future::{pending, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use looplet_timer::{interval, sleep, sleep_until, timeout, Clock, TimerQueue};

#[path = "support/recorder.rs"]
mod recorder;
use recorder::{fire, recorder};

fn poll<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn a_sleep_made_with_no_loop_fixes_its_deadline_at_its_first_poll() {
    let mut sleep = pin!(sleep(Duration::from_secs(2)));
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    queue.clock().advance(Duration::from_secs(5)); // before the first poll: not counted
    let first_poll = queue.now();
    assert!(poll(sleep.as_mut()).is_pending());
    assert_eq!(sleep.deadline(), first_poll + Duration::from_secs(2));
    queue.clock().advance(Duration::from_secs(1));
    assert_eq!(fire(&queue), 0);
    assert!(poll(sleep.as_mut()).is_pending());
    queue.clock().advance(Duration::from_secs(1));
    assert_eq!(fire(&queue), 1);
    assert!(poll(sleep.as_mut()).is_ready());
}

#[test]
fn a_sleep_made_while_a_loop_runs_fixes_its_deadline_at_once() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let made = queue.now();
    let mut sleep = pin!(sleep(Duration::from_secs(2)));
    queue.clock().advance(Duration::from_secs(3));
    assert_eq!(sleep.deadline(), made + Duration::from_secs(2));
    assert!(poll(sleep.as_mut()).is_ready(), "already past its deadline");
}

#[test]
fn before_its_first_poll_a_loopless_sleep_reports_the_deadline_it_would_get_now() {
    let sleep = sleep(Duration::from_secs(3));
    assert!(!sleep.is_elapsed());
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    queue.clock().advance(Duration::from_secs(10));
    assert_eq!(sleep.deadline(), queue.now() + Duration::from_secs(3));
    assert!(!sleep.is_elapsed());
}

#[test]
fn a_timeout_made_with_no_loop_counts_from_its_first_poll() {
    let mut slow = pin!(timeout(Duration::from_secs(1), pending::<()>()));
    let mut quick = pin!(timeout(Duration::from_secs(1), async { 7 }));
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    queue.clock().advance(Duration::from_secs(5));
    assert_eq!(poll(quick.as_mut()), Poll::Ready(Ok(7)));
    assert!(
        poll(slow.as_mut()).is_pending(),
        "its second has not started"
    );
    assert_eq!(slow.deadline(), queue.now() + Duration::from_secs(1));
    queue.clock().advance(Duration::from_secs(1));
    assert_eq!(fire(&queue), 1);
    let elapsed = match poll(slow.as_mut()) {
        Poll::Ready(Err(elapsed)) => elapsed,
        other => panic!("expected the timeout to elapse, got {other:?}"),
    };
    assert_eq!(elapsed.deadline(), queue.now());
}

#[test]
fn a_zero_timeout_made_with_no_loop_still_fires_at_the_bodys_first_suspension() {
    let mut stuck = pin!(timeout(Duration::ZERO, pending::<()>()));
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    assert!(matches!(poll(stuck.as_mut()), Poll::Ready(Err(_))));
}

#[test]
fn an_interval_made_with_no_loop_ticks_first_at_its_first_poll() {
    let mut ticks = interval(Duration::from_secs(1));
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    queue.clock().advance(Duration::from_secs(7));
    let start = queue.now();
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(ticks.poll_tick(&mut cx), Poll::Ready(start));
    assert!(ticks.poll_tick(&mut cx).is_pending());
    queue.clock().advance(Duration::from_secs(1));
    assert_eq!(fire(&queue), 1);
    assert_eq!(
        ticks.poll_tick(&mut cx),
        Poll::Ready(start + Duration::from_secs(1))
    );
}

#[test]
fn sleeps_made_with_no_loop_take_their_place_among_equal_deadlines_at_their_first_poll() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let at = queue.now() + Duration::from_secs(1);
    let mut sleeps: Vec<_> = (0..3).map(|_| Box::pin(sleep_until(at))).collect();
    let _entered = queue.enter();
    let log = Arc::new(Mutex::new(Vec::new()));
    // Made in order 0, 1, 2 with no loop, first polled in order 2, 1, 0.
    for (name, sleep) in sleeps.iter_mut().enumerate().rev() {
        let waker = recorder(name, &log);
        assert!(sleep
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
    }
    queue.clock().advance_to(at);
    assert_eq!(fire(&queue), 3);
    assert_eq!(*log.lock().unwrap(), [2, 1, 0]);
}

#[test]
fn a_sleep_reset_with_no_loop_running_waits_for_its_new_deadline() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let start = queue.now();
    let mut sleep = Box::pin(sleep(Duration::from_secs(1)));
    sleep.as_mut().reset(start + Duration::from_secs(4)); // no panic: no loop needed
    let _entered = queue.enter();
    assert!(poll(sleep.as_mut()).is_pending());
    assert_eq!(queue.next_deadline(), Some(start + Duration::from_secs(4)));
}

#[test]
fn polling_a_sleep_with_no_loop_panics_with_a_message_naming_the_fix() {
    let mut sleep = Box::pin(sleep(Duration::from_secs(1)));
    let payload = catch_unwind(AssertUnwindSafe(|| poll(sleep.as_mut()))).unwrap_err();
    let message = panic_message(payload);
    assert!(
        message.contains("needs a running looplet event loop") && message.contains("looplet::run"),
        "{message}"
    );
}

#[test]
fn polling_a_timeout_with_no_loop_panics_with_a_message_naming_the_fix() {
    let mut timeout = Box::pin(timeout(Duration::from_secs(1), pending::<()>()));
    let payload = catch_unwind(AssertUnwindSafe(|| poll(timeout.as_mut()))).unwrap_err();
    let message = panic_message(payload);
    assert!(
        message.contains("needs a running looplet event loop") && message.contains("looplet::run"),
        "{message}"
    );
}
