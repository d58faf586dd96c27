//! Sleeps on a real clock, which a `Sleep` judges by the clock's last reading instead of a
//! fresh one: what is due at once still completes at once, and what falls due later fires
//! through the queue.

use std::future::{pending, Future};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use looplet_timer::{sleep, sleep_until, timeout, Clock, TimerQueue};

fn poll<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn a_zero_sleep_completes_at_its_first_poll_without_registering() {
    let queue = TimerQueue::new(Clock::new_real());
    let _entered = queue.enter();
    assert!(poll(pin!(sleep(Duration::ZERO))).is_ready());
    assert!(poll(pin!(sleep_until(looplet_timer::now()))).is_ready());
    let past = looplet_timer::now() - Duration::from_millis(1);
    assert!(poll(pin!(sleep_until(past))).is_ready());
    assert_eq!(queue.stats().set, 0, "none of them touched the heap");
}

#[test]
fn a_zero_timeout_fires_at_the_bodys_first_suspension() {
    let queue = TimerQueue::new(Clock::new_real());
    let _entered = queue.enter();
    let result = poll(pin!(timeout(Duration::ZERO, pending::<()>())));
    assert!(matches!(result, Poll::Ready(Err(_))));
}

#[test]
fn a_sleep_that_falls_due_after_the_last_reading_fires_at_the_next_fire_due() {
    let queue = TimerQueue::new(Clock::new_real());
    let _entered = queue.enter();
    let deadline = looplet_timer::now() + Duration::from_micros(100);
    let mut sleep = pin!(sleep_until(deadline));
    assert!(poll(sleep.as_mut()).is_pending());
    // Wait for the deadline to pass (no wall-clock sleep: nothing here depends on how
    // long), without reading the queue's clock.
    while std::time::Instant::now() <= deadline {
        std::hint::spin_loop();
    }
    // Due by now, but nobody has read the clock since: the poll does not either.
    assert!(poll(sleep.as_mut()).is_pending());
    let mut due = Vec::new();
    assert_eq!(queue.fire_due(&mut due), 1, "fire_due reads the clock");
    assert!(poll(sleep.as_mut()).is_ready());
    assert!(queue.is_empty());
}
