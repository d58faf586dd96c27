//! `Interval`: ticks at a fixed period on the loop's clock.
//!
//! The first tick completes at once. Each later tick is due one period after the previous
//! *deadline* (not after the previous wake-up), so a slow consumer catches up with a burst
//! of ticks rather than drifting. An interval may be made with no loop running; `interval`
//! then starts at its first poll.

use std::future::poll_fn;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::clock::saturating_add;
use crate::{sleep_until, Sleep};

/// Ticks every `period`, starting now — or at the first poll, when no loop is running now.
///
/// # Panics
///
/// Panics when `period` is zero (it would never let the loop go on). Polling it panics with
/// no looplet loop running on the thread.
///
/// # Examples
///
/// ```
/// use std::future::Future;
/// use std::pin::pin;
/// use std::task::{Context, Waker};
/// use std::time::Duration;
/// use looplet_timer::{interval, Clock, TimerQueue};
///
/// let queue = TimerQueue::new(Clock::new_virtual());
/// let _entered = queue.enter();
/// let mut cx = Context::from_waker(Waker::noop());
/// let mut every_second = interval(Duration::from_secs(1));
/// assert!(every_second.poll_tick(&mut cx).is_ready()); // the first tick is immediate
/// assert!(every_second.poll_tick(&mut cx).is_pending());
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    check_period(period);
    Interval {
        sleep: Sleep::after(Duration::ZERO, false),
        period,
    }
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Examples
///
/// ```
/// use std::task::{Context, Poll, Waker};
/// use std::time::Duration;
/// use looplet_timer::{interval_at, Clock, TimerQueue};
///
/// let queue = TimerQueue::new(Clock::new_virtual());
/// let _entered = queue.enter();
/// let start = looplet_timer::now() + Duration::from_secs(1);
/// let mut ticks = interval_at(start, Duration::from_secs(1));
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(ticks.poll_tick(&mut cx).is_pending()); // not before `start`
/// queue.clock().advance_to(start);
/// assert_eq!(ticks.poll_tick(&mut cx), Poll::Ready(start));
/// ```
///
/// # Panics
///
/// Panics when `period` is zero. Polling it panics with no looplet loop running on the
/// thread.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    check_period(period);
    Interval {
        sleep: sleep_until(start),
        period,
    }
}

#[track_caller]
fn check_period(period: Duration) {
    assert!(
        !period.is_zero(),
        "looplet::interval needs a period above zero; use yield_now() in a loop to run as often as possible"
    );
}

/// A stream of evenly spaced instants; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    sleep: Sleep,
    period: Duration,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was due at.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; for code that writes its own futures.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let due = self.sleep.deadline();
        self.sleep.reset(saturating_add(due, self.period));
        Poll::Ready(due)
    }

    /// The time between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}
