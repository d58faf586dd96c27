//! No timer fires before its deadline, whatever the deadline. The heap keys deadlines in
//! 64-bit nanoseconds since the clock's origin, which run out about 584 years on; timers
//! past that horizon are kept by their full `Instant`, and a deadline too far to represent
//! at all saturates to the latest instant there is. Driven by hand on a virtual clock.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use looplet_timer::{sleep, sleep_until, Clock, Sleep, TimerQueue};

#[path = "support/recorder.rs"]
mod recorder;
use recorder::fire;

const YEAR: Duration = Duration::from_secs(86_400 * 365);

fn poll(sleep: &mut Pin<Box<Sleep>>) -> Poll<()> {
    sleep.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

/// A sleep until `deadline`, registered by its first poll.
fn registered(deadline: Instant) -> Pin<Box<Sleep>> {
    let mut sleep = Box::pin(sleep_until(deadline));
    assert!(poll(&mut sleep).is_pending());
    sleep
}

/// Runs the queue as an idle loop on a virtual clock does: jump to the next deadline, fire.
fn jump_and_fire(queue: &TimerQueue) -> Option<Instant> {
    let deadline = queue.next_deadline()?;
    queue.clock().advance_to(deadline);
    fire(queue);
    Some(deadline)
}

#[test]
fn a_timer_a_thousand_years_out_fires_at_its_deadline_not_at_the_tick_horizon() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let start = queue.now();
    let mut far = registered(start + 1000 * YEAR);
    assert_eq!(queue.next_deadline(), Some(start + 1000 * YEAR));
    queue.clock().advance_to(start + 600 * YEAR); // past the horizon, short of the deadline
    assert_eq!(fire(&queue), 0);
    assert!(poll(&mut far).is_pending());
    assert_eq!(jump_and_fire(&queue), Some(start + 1000 * YEAR));
    assert!(poll(&mut far).is_ready());
    assert_eq!(queue.now() - start, 1000 * YEAR);
}

#[test]
fn far_timers_fire_in_deadline_order_and_a_near_one_before_them() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let start = queue.now();
    let mut farthest = registered(start + 1000 * YEAR);
    let mut far = registered(start + 600 * YEAR);
    let mut near = registered(start + 500 * YEAR);
    assert_eq!(jump_and_fire(&queue), Some(start + 500 * YEAR));
    assert!(poll(&mut near).is_ready());
    assert!(poll(&mut far).is_pending());
    assert_eq!(jump_and_fire(&queue), Some(start + 600 * YEAR));
    assert!(poll(&mut far).is_ready());
    assert!(
        poll(&mut farthest).is_pending(),
        "the farthest one waits on"
    );
    assert_eq!(jump_and_fire(&queue), Some(start + 1000 * YEAR));
    assert!(poll(&mut farthest).is_ready());
    assert!(queue.is_empty());
}

#[test]
fn past_the_horizon_a_one_second_sleep_still_takes_one_second() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let start = queue.now();
    queue.clock().advance_to(start + 700 * YEAR);
    let then = queue.now();
    assert_eq!(then - start, 700 * YEAR);
    let mut second = Box::pin(sleep(Duration::from_secs(1)));
    assert!(poll(&mut second).is_pending());
    assert_eq!(fire(&queue), 0, "not due yet");
    queue.clock().advance(Duration::from_millis(999));
    assert_eq!(fire(&queue), 0, "still not due");
    assert_eq!(jump_and_fire(&queue), Some(then + Duration::from_secs(1)));
    assert!(poll(&mut second).is_ready());
}

#[test]
fn sleep_duration_max_saturates_and_never_fires_early() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let start = queue.now();
    let mut forever = Box::pin(sleep(Duration::MAX));
    assert!(poll(&mut forever).is_pending());
    assert!(forever.deadline() > start + 1_000_000 * YEAR);
    for years in [30, 584, 585, 1000, 1_000_000] {
        queue.clock().advance_to(start + years * YEAR);
        assert_eq!(fire(&queue), 0, "fired {years} years on");
        assert!(poll(&mut forever).is_pending());
    }
}

#[test]
fn a_hundred_year_sleep_lasts_a_hundred_years() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let start = queue.now();
    let mut century = Box::pin(sleep(100 * YEAR));
    assert!(poll(&mut century).is_pending());
    assert_eq!(jump_and_fire(&queue), Some(start + 100 * YEAR));
    assert!(poll(&mut century).is_ready());
}

#[test]
fn a_thousand_year_sleep_made_with_no_loop_lasts_a_thousand_years() {
    let mut millennium = Box::pin(sleep(1000 * YEAR));
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let start = queue.now();
    assert!(poll(&mut millennium).is_pending());
    assert_eq!(jump_and_fire(&queue), Some(start + 1000 * YEAR));
    assert!(poll(&mut millennium).is_ready());
}

#[test]
fn a_far_timer_dropped_leaves_nothing_behind() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let start = queue.now();
    let _near = registered(start + Duration::from_secs(1));
    let far = registered(start + 1000 * YEAR);
    assert_eq!(queue.len(), 2);
    drop(far);
    assert_eq!(queue.len(), 1);
    assert_eq!(jump_and_fire(&queue), Some(start + Duration::from_secs(1)));
    assert_eq!(queue.next_deadline(), None, "the far entry went with it");
    assert_eq!(queue.stats().heap_len, 0);
}
