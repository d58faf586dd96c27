//! `Interval`: ticks at a fixed period on the loop's clock, as a method or a `Stream`.
//!
//! The first tick of [`interval`] completes at once; each later tick is due one period
//! after the previous tick's *deadline* (not after the consumer took it), so a consumer
//! that keeps up never drifts. A tick is *missed* when the consumer takes it so late that
//! the one after it is already due; what happens then is the interval's
//! [`MissedTickBehavior`]:
//!
//! ```text
//! period 1 s, ticks due at 0 1 2 3 4 5 …; the consumer takes the tick due at 1 s at 3.5 s
//! Burst  (tokio's default)  next ticks at 3.5 3.5 4 5 6 …  every missed tick, at once
//! Delay  (looplet's)        next ticks at 4.5 5.5 6.5 …    a period after the late one
//! Skip                      next ticks at 4 5 6 …          the schedule, minus the missed
//! ```
//!
//! Delay is the default because it is what an asyncio program's `while True: await
//! asyncio.sleep(period)` does after a stall — no burst of catch-up work, a full period's
//! rest after the late tick — while keeping to the schedule as long as nothing is missed.
//!
//! An interval may be made with no loop running; `interval` then starts at its first poll.
//! It implements `futures_core::Stream` (and `FusedStream`: it never ends), so the
//! ecosystem's stream combinators take it as they are.

use std::future::poll_fn;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::stream::{FusedStream, Stream};

use crate::clock::saturating_add;
use crate::context::expect_current;
use crate::{sleep_until, Sleep};

/// Ticks every `period`, starting now — or at the first poll, when no loop is running now.
/// Missed ticks are delayed (see [`MissedTickBehavior`]).
///
/// # Panics
///
/// Panics when `period` is zero (it would never let the loop go on). Polling it panics with
/// no looplet loop running on the thread.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// looplet::Runner::builder().virtual_clock(true).build().run(async {
///     let start = looplet::now();
///     let mut every_second = looplet::interval(Duration::from_secs(1));
///     assert_eq!(every_second.tick().await, start); // the first tick is immediate
///     assert_eq!(every_second.tick().await, start + Duration::from_secs(1));
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    check_period(period);
    Interval {
        sleep: Sleep::after(Duration::ZERO, false),
        period,
        missed: MissedTickBehavior::default(),
    }
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// looplet::Runner::builder().virtual_clock(true).build().run(async {
///     let start = looplet::now() + Duration::from_secs(1);
///     let mut ticks = looplet::interval_at(start, Duration::from_secs(1));
///     assert_eq!(ticks.tick().await, start); // not before `start`
///     assert_eq!(looplet::now(), start);
/// });
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
        missed: MissedTickBehavior::default(),
    }
}

#[track_caller]
fn check_period(period: Duration) {
    assert!(
        !period.is_zero(),
        "looplet::interval needs a period above zero; use yield_now() in a loop to run as often as possible"
    );
}

/// What an [`Interval`] does when the consumer took a tick so late that the next one is
/// already due (tokio's names; see the module docs for a picture).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use looplet::MissedTickBehavior;
///
/// looplet::Runner::builder().virtual_clock(true).build().run(async {
///     let start = looplet::now();
///     let mut ticks = looplet::interval(Duration::from_secs(1));
///     ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
///     ticks.tick().await;
///     looplet::sleep(Duration::from_millis(2500)).await; // misses the ticks at 1 s and 2 s
///     assert_eq!(ticks.tick().await, start + Duration::from_secs(1)); // the late one
///     assert_eq!(ticks.tick().await, start + Duration::from_secs(3)); // back on schedule
/// });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MissedTickBehavior {
    /// Every missed tick comes, at once, until the interval has caught up with its
    /// schedule; then ticks go on as scheduled. tokio's default.
    Burst,
    /// The next tick comes one period after the late one was taken, and the schedule moves
    /// with it. The default: what an asyncio `sleep(period)` loop does after a stall.
    #[default]
    Delay,
    /// The missed ticks are dropped: the next tick is the first on the schedule that is
    /// still ahead.
    Skip,
}

/// A stream of evenly spaced instants; see [`interval`].
///
/// Each tick yields the instant it was due at, which with a late consumer is earlier than
/// the time it was taken. As a `futures_core::Stream` it yields the same instants and never
/// ends.
#[derive(Debug)]
pub struct Interval {
    sleep: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was due at.
    ///
    /// # Cancellation
    ///
    /// Dropping the returned future loses no tick: the tick it was waiting for is still
    /// next.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; for code that writes its own futures.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let due = self.sleep.deadline();
        let next = self.next_after(due);
        self.sleep.reset(next);
        Poll::Ready(due)
    }

    /// The deadline of the tick after the one due at `due`, taken now.
    fn next_after(&self, due: Instant) -> Instant {
        let scheduled = saturating_add(due, self.period);
        if self.missed == MissedTickBehavior::Burst {
            return scheduled;
        }
        let now = expect_current("looplet::Interval", |queue| queue.now());
        if now < scheduled {
            return scheduled;
        }
        match self.missed {
            MissedTickBehavior::Delay => saturating_add(now, self.period),
            // The first tick on the schedule after `now`.
            _ => {
                let periods = (now - due).as_nanos() / self.period.as_nanos() + 1;
                saturating_add(due, duration_from_nanos(periods * self.period.as_nanos()))
            }
        }
    }

    /// The time between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What this interval does about missed ticks; [`MissedTickBehavior::Delay`] unless set.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets what this interval does about missed ticks, from the next tick on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use looplet::MissedTickBehavior;
    ///
    /// let mut ticks = looplet::interval(Duration::from_secs(1));
    /// assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Delay);
    /// ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    /// assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

/// `nanos` as a `Duration`, saturating at `Duration::MAX`.
fn duration_from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(nanos / NANOS_PER_SEC) {
        Ok(secs) => Duration::new(secs, (nanos % NANOS_PER_SEC) as u32),
        Err(_) => Duration::MAX,
    }
}

/// The ticks as a stream: `interval.next().await` with `StreamExt`, and every combinator
/// that takes a `Stream`.
///
/// # Examples
///
/// ```
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use std::time::Duration;
/// use futures_core::Stream;
///
/// looplet::Runner::builder().virtual_clock(true).build().run(async {
///     let start = looplet::now();
///     let mut ticks = looplet::interval(Duration::from_secs(1));
///     let first = poll_fn(|cx| Pin::new(&mut ticks).poll_next(cx)); // what `next()` does
///     assert_eq!(first.await, Some(start));
/// });
/// ```
impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None) // endless
    }
}

impl FusedStream for Interval {
    fn is_terminated(&self) -> bool {
        false
    }
}
