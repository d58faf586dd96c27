//! Sleeps and timeouts on a real clock. A `Sleep` judges by the clock's last reading instead
//! of a fresh one: what is due at once still completes at once (a zero sleep after yielding
//! once), and what falls due later fires through the queue. A `Timeout` reads the clock at
//! every poll, which a past deadline and the nested-timeout rule both need.

use std::future::{pending, Future};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use looplet_timer::{sleep, sleep_until, timeout, timeout_at, Clock, TimerQueue};

fn poll<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn a_zero_sleep_yields_once_and_a_past_deadline_completes_at_once_without_registering() {
    let queue = TimerQueue::new(Clock::new_real());
    let _entered = queue.enter();
    let mut zero = pin!(sleep(Duration::ZERO));
    assert!(poll(zero.as_mut()).is_pending(), "a zero sleep yields once");
    assert!(poll(zero.as_mut()).is_ready());
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
fn a_timeout_past_its_deadline_at_its_first_poll_fires_at_the_bodys_first_suspension() {
    let queue = TimerQueue::new(Clock::new_real());
    let _entered = queue.enter();
    // Read from std's clock, after the queue's last reading: past by the time of the poll,
    // though the queue has not seen it pass.
    let deadline = std::time::Instant::now();
    let result = poll(pin!(timeout_at(deadline, pending::<()>())));
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

#[test]
fn an_outer_timeout_that_expired_between_polls_still_reports_before_an_inner_one() {
    let queue = TimerQueue::new(Clock::new_real());
    let _entered = queue.enter();
    // The outer timeout's first poll must come before its deadline. How long that takes
    // depends on the machine (valgrind is slow), so the margin grows until it does.
    for margin_micros in [100, 1_000, 10_000, 100_000, 1_000_000] {
        let outer_deadline = looplet_timer::now() + Duration::from_micros(margin_micros);
        let mut body_polls = 0;
        let mut inner = None;
        let body = std::future::poll_fn(|cx| {
            body_polls += 1;
            if body_polls == 1 {
                // Let the outer deadline pass without reading the queue's clock (nothing
                // here depends on how long that takes).
                while std::time::Instant::now() <= outer_deadline {
                    std::hint::spin_loop();
                }
                return Poll::Pending;
            }
            // Expired at once: it must leave the report to the expired timeout around it.
            let inner =
                inner.get_or_insert_with(|| Box::pin(timeout(Duration::ZERO, pending::<()>())));
            inner
                .as_mut()
                .poll(cx)
                .map(|_| "the inner timeout reported")
        });
        let mut outer = pin!(timeout_at(outer_deadline, body));
        if poll(outer.as_mut()).is_ready() {
            continue; // the deadline passed before the first poll: try a longer margin
        }
        assert!(matches!(poll(outer.as_mut()), Poll::Ready(Err(_))));
        return;
    }
    panic!("the outer timeout's first poll never came before its deadline, even 1 s ahead");
}
