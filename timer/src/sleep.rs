//! `Sleep`: a future that completes at a deadline on the loop's clock.
//!
//! A `Sleep` is plain data — deadline, sequence number, and where it is registered — so it is
//! `Send` and can be created on one thread and awaited on the loop. It reaches the timer
//! queue through the thread's current loop whenever it is polled or dropped. It registers
//! lazily, on the first poll that finds it not yet due; dropping it removes the registration.
//!
//! A poll judges "due" by the clock's last reading ([`Clock::last_read`](crate::Clock)),
//! never by a fresh one: time only moves on, so a deadline that reading shows as past is
//! past. A sleep that falls due after it stays registered and is fired by the loop's next
//! `fire_due`, which reads the clock. On a virtual clock the last reading is the present.

use std::future::Future;
use std::num::NonZeroU64;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::clock::saturating_add;
use crate::context::{expect_current, with_current};
use crate::queue::TimerKey;

/// Waits until `duration` has passed on the current loop's clock.
///
/// The deadline is fixed when `sleep` is called. A duration too large to add to the clock
/// saturates to about thirty years instead of overflowing.
///
/// # Panics
///
/// Panics when called with no looplet loop running on this thread.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use looplet_timer::{Clock, TimerQueue};
///
/// let queue = TimerQueue::new(Clock::new_virtual());
/// let _entered = queue.enter();
/// let sleep = looplet_timer::sleep(Duration::MAX); // saturates, no overflow
/// assert!(sleep.deadline() > looplet_timer::now());
/// ```
///
/// # Cancellation
///
/// Dropping the `Sleep` cancels it: the queue drops its waker at once, and its place in the
/// timer heap when the heap next sheds dead entries.
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let (now, sequence) = expect_current("looplet::sleep", |queue| {
        (queue.now(), queue.next_sequence())
    });
    Sleep::new(saturating_add(now, duration), sequence)
}

/// Waits until `deadline` on the current loop's clock. A deadline in the past completes at
/// the first poll.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use looplet_timer::{Clock, TimerQueue};
///
/// let queue = TimerQueue::new(Clock::new_virtual());
/// let _entered = queue.enter();
/// let at = looplet_timer::now() + Duration::from_secs(2);
/// assert_eq!(looplet_timer::sleep_until(at).deadline(), at);
/// ```
///
/// # Panics
///
/// Panics when called with no looplet loop running on this thread.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    let sequence = expect_current("looplet::sleep_until", |queue| queue.next_sequence());
    Sleep::new(deadline, sequence)
}

/// The future returned by [`sleep`] and [`sleep_until`].
#[must_use = "a Sleep does nothing unless awaited"]
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    /// Handed out by the queue when the sleep was created (or reset): its place among equal
    /// deadlines, and, once registered, the proof that a queue slot is still this sleep's.
    sequence: NonZeroU64,
    state: State,
}

/// Where a `Sleep` stands. The slot is a `u32` (no loop holds four billion timers) so the
/// whole state takes 16 bytes, and the `Sleep` 40 instead of the 64 it took with a
/// `usize` slot, a separate `elapsed` flag and a second copy of the sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not in any queue: not polled yet, or [`reset`](Sleep::reset).
    Idle,
    /// Registered in the queue with this id, in this slot, under the sleep's `sequence`.
    Registered { queue_id: u64, slot: u32 },
    /// Completed; it stays completed until reset.
    Elapsed,
}

impl Sleep {
    fn new(deadline: Instant, sequence: NonZeroU64) -> Sleep {
        Sleep {
            deadline,
            sequence,
            state: State::Idle,
        }
    }

    /// The instant this sleep completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has been reached (as of the last poll, or now if a loop runs).
    pub fn is_elapsed(&self) -> bool {
        self.state == State::Elapsed
            || with_current(|queue| queue.now() >= self.deadline).unwrap_or(false)
    }

    /// Moves the deadline, as if the sleep had just been created with it. The sleep keeps its
    /// place among equal deadlines only if it is re-created; a reset one goes behind them.
    ///
    /// # Panics
    ///
    /// Panics when called with no looplet loop running on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use looplet_timer::{Clock, TimerQueue};
    ///
    /// let queue = TimerQueue::new(Clock::new_virtual());
    /// let _entered = queue.enter();
    /// let mut sleep = looplet_timer::sleep(Duration::from_secs(1));
    /// sleep.reset(looplet_timer::now() + Duration::from_secs(5));
    /// assert_eq!(sleep.deadline() - looplet_timer::now(), Duration::from_secs(5));
    /// ```
    #[track_caller]
    pub fn reset(&mut self, deadline: Instant) {
        self.deregister();
        self.sequence = expect_current("Sleep::reset", |queue| queue.next_sequence());
        self.deadline = deadline;
        self.state = State::Idle;
    }

    /// The key that proves `slot` (of the queue it registered in) is this sleep's.
    fn key(&self, slot: u32) -> TimerKey {
        TimerKey {
            slot,
            sequence: self.sequence,
        }
    }

    fn deregister(&mut self) {
        if let State::Registered { queue_id, slot } = self.state {
            self.state = State::Idle;
            // Off the loop (or on another loop) the entry cannot be reached; it stays until
            // its deadline, when firing it wakes a waker nobody listens to.
            with_current(|queue| {
                if queue.id() == queue_id {
                    queue.cancel(self.key(slot));
                }
            });
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.state == State::Elapsed {
            return Poll::Ready(());
        }
        let step = expect_current("polling a looplet Sleep", |queue| {
            // Due as of the clock's last reading, which costs no system call on a real clock
            // (on a virtual one it is the present). A sleep that is due but was not yet due
            // at that reading registers, or stays registered, and fires at the loop's next
            // `fire_due`, which reads the clock. A zero `sleep` is due at the very reading
            // that set its deadline, so it still completes at its first poll.
            let due = queue.clock().last_read() >= this.deadline;
            match this.state {
                // Look at the registration first: a timer the queue fired is gone from it,
                // and needs no deregistering.
                State::Registered { queue_id, slot } if queue_id == queue.id() => {
                    if queue.has_fired(this.deadline)
                        || !queue.update_waker(this.key(slot), cx.waker())
                    {
                        Step::Fired
                    } else if due {
                        Step::Due
                    } else {
                        Step::Waiting
                    }
                }
                _ if due => Step::Due,
                _ => Step::Registered(State::Registered {
                    queue_id: queue.id(),
                    slot: queue.register(this.deadline, this.sequence, cx.waker().clone()),
                }),
            }
        });
        match step {
            Step::Due => {
                this.deregister();
                this.state = State::Elapsed;
                Poll::Ready(())
            }
            Step::Fired => {
                // The queue already removed it: nothing to deregister.
                this.state = State::Elapsed;
                Poll::Ready(())
            }
            Step::Waiting => Poll::Pending,
            Step::Registered(registered) => {
                this.state = registered;
                Poll::Pending
            }
        }
    }
}

/// What one poll of a `Sleep` found, decided while the queue is at hand.
enum Step {
    /// The deadline has passed; the timer may still be registered.
    Due,
    /// The queue fired the timer and removed it.
    Fired,
    /// Registered and not due yet.
    Waiting,
    /// Just registered: the sleep's new state.
    Registered(State),
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.deregister();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sleeping task's future holds a `Sleep`, so its size is part of the per-task cost.
    #[test]
    #[cfg(all(unix, target_pointer_width = "64"))]
    fn a_sleep_takes_40_bytes() {
        assert_eq!(size_of::<Instant>(), 16);
        assert_eq!(size_of::<State>(), 16);
        assert_eq!(size_of::<Sleep>(), 40);
    }
}
