//! A zero sleep yields once, like `asyncio.sleep(0)`: its first poll wakes its own task and
//! returns `Pending`. Only a zero *duration* does; a deadline already past completes at the
//! first poll. So `timeout(Duration::ZERO, sleep(Duration::ZERO))` elapses.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use looplet_timer::{sleep, sleep_until, timeout, Clock, TimerQueue};

#[path = "support/recorder.rs"]
mod recorder;
use recorder::recorder;

fn poll<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn a_zero_sleep_wakes_its_own_task_once_and_then_completes() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let log = Arc::new(Mutex::new(Vec::new()));
    let waker = recorder(7, &log);
    let mut zero = pin!(sleep(Duration::ZERO));
    let mut cx = Context::from_waker(&waker);
    assert!(zero.as_mut().poll(&mut cx).is_pending());
    assert_eq!(*log.lock().unwrap(), [7], "woken at once, so it runs again");
    assert!(zero.as_mut().poll(&mut cx).is_ready());
    assert!(zero.as_mut().poll(&mut cx).is_ready(), "and stays complete");
    assert_eq!(*log.lock().unwrap(), [7]);
    assert_eq!(queue.stats().set, 0, "the yield never touches the heap");
}

#[test]
fn a_zero_sleep_made_with_no_loop_yields_once_too() {
    let mut zero = pin!(sleep(Duration::ZERO));
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    assert!(poll(zero.as_mut()).is_pending());
    assert!(poll(zero.as_mut()).is_ready());
}

#[test]
fn a_deadline_already_past_completes_at_the_first_poll_without_yielding() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let now = queue.now();
    assert!(poll(pin!(sleep_until(now))).is_ready());
    let mut waited = pin!(sleep(Duration::from_secs(1)));
    queue.clock().advance(Duration::from_secs(2)); // it has waited long enough already
    assert!(poll(waited.as_mut()).is_ready());
}

#[test]
fn a_zero_timeout_around_a_zero_sleep_elapses() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let result = poll(pin!(timeout(Duration::ZERO, sleep(Duration::ZERO))));
    assert!(matches!(result, Poll::Ready(Err(_))), "{result:?}");
}

#[test]
fn a_zero_timeout_around_a_zero_sleep_elapses_even_made_with_no_loop() {
    let mut both = pin!(timeout(Duration::ZERO, sleep(Duration::ZERO)));
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    assert!(matches!(poll(both.as_mut()), Poll::Ready(Err(_))));
}

#[test]
fn a_longer_timeout_around_a_zero_sleep_returns_after_the_yield() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let mut wrapped = pin!(timeout(Duration::from_secs(1), sleep(Duration::ZERO)));
    assert!(poll(wrapped.as_mut()).is_pending());
    assert_eq!(poll(wrapped.as_mut()), Poll::Ready(Ok(())));
}

#[test]
fn a_reset_zero_sleep_waits_for_its_new_deadline_instead_of_yielding() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let mut zero = Box::pin(sleep(Duration::ZERO));
    zero.as_mut().reset(queue.now()); // `sleep_until(now)`: due, no yield
    assert!(poll(zero.as_mut()).is_ready());
}
