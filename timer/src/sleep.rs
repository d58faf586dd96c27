//! `Sleep`: a future that completes at a deadline on the loop's clock.
//!
//! A `Sleep` is plain data — deadline, sequence number, and where it is registered — so it is
//! `Send` and can be created on one thread and awaited on the loop. It reaches the timer
//! queue through the thread's current loop whenever it is polled or dropped. It registers
//! lazily, on the first poll that finds it not yet due; dropping it removes the registration.
//!
//! # Life cycle
//!
//! ```text
//! sleep(d > 0), sleep_until ──► Idle ──poll, not due──► Registered ──poll, fired or due──► Elapsed
//!                                │  ▲                        │
//!                                │  └──poll, moved out by────┘ (and registered again at once)
//!                                │     the queue to shrink
//!                                └──poll, due──────────────────────────────────────────► Elapsed
//! sleep(Duration::ZERO) ──────► Yield ──poll: wakes its own task, Pending──────────────► Elapsed
//! ```
//!
//! [`Sleep::poll`] makes every transition (through `Sleep::step`); [`Sleep::reset`] returns
//! any state to `Idle`.
//!
//! # When the deadline is fixed
//!
//! Made while a loop runs, a sleep takes its deadline and its sequence number (its place
//! among equal deadlines) from that loop at once. Made with no loop running, `sleep(d)`
//! keeps `d` and takes its deadline (`now + d`) and sequence at its first poll, and
//! `sleep_until` takes its sequence then. A sequence number is only ever used in the queue
//! that issued it, so it stays unique there: a sleep polled in another queue takes a fresh
//! one first.
//!
//! # Zero and past deadlines
//!
//! `sleep(Duration::ZERO)` yields once, like `asyncio.sleep(0)`: its first poll wakes its
//! own task and returns `Pending`, so every other ready task runs first. Only a zero
//! *duration* does: a sleep whose deadline has passed by its first poll (`sleep_until` a
//! past instant, or a `sleep(d)` that waited `d` before being polled) has waited as long as
//! it was asked to and completes at that poll.
//!
//! A poll judges "due" by the clock's last reading ([`Clock::last_read`](crate::Clock)),
//! never by a fresh one: time only moves on, so a deadline that reading shows as past is
//! past. A sleep that falls due after it stays registered and is fired by the loop's next
//! `fire_due`, which reads the clock. On a virtual clock the last reading is the present.

use std::future::Future;
use std::num::NonZeroU64;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::clock::saturating_add;
use crate::context::{current, expect_current_queue, with_current};
use crate::queue::TimerKey;
use crate::TimerQueue;

/// Waits until `duration` has passed on the current loop's clock.
///
/// Made while a loop runs, the deadline is fixed at once; made with no loop running (say,
/// to hand to `Runner::run`), at the first poll. `sleep(Duration::ZERO)` yields once, like
/// `asyncio.sleep(0)`: its first poll wakes its own task and returns `Pending`, so the
/// other ready tasks run first.
///
/// A duration too large to add to the clock saturates to the latest instant the clock can
/// represent, so it never fires early.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// async fn say_after(delay: Duration, what: &str) {
///     looplet::sleep(delay).await;
///     println!("{what}");
/// }
///
/// // On the virtual clock the second passes at once; on the real one it takes a second.
/// let mut runner = looplet::Runner::builder().virtual_clock(true).build();
/// let start = runner.clock().now();
/// runner.run(say_after(Duration::from_secs(1), "hello"));
/// assert_eq!(runner.clock().now() - start, Duration::from_secs(1));
///
/// // Made before any loop runs, it counts from its first poll.
/// let later = looplet::sleep(Duration::from_secs(2));
/// runner.run(later);
/// assert_eq!(runner.clock().now() - start, Duration::from_secs(3));
/// ```
///
/// A zero sleep lets every other ready task run first:
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
///
/// looplet::run(async {
///     let ran = Rc::new(Cell::new(false));
///     let flag = Rc::clone(&ran);
///     let _task = looplet::create_task(async move { flag.set(true) });
///     looplet::sleep(Duration::ZERO).await; // asyncio.sleep(0)
///     assert!(ran.get());
/// });
/// ```
///
/// # Panics
///
/// Never when called; polling the `Sleep` panics with no looplet loop running on the
/// thread.
///
/// # Cancellation
///
/// Dropping the `Sleep` cancels it: the queue drops its waker at once, and its place in the
/// timer heap when the heap next sheds dead entries.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::after(duration, duration.is_zero())
}

/// Waits until `deadline` on the current loop's clock. A deadline that has passed by the
/// first poll completes at that poll, without yielding.
///
/// May be made with no loop running; it then takes its place among equal deadlines at its
/// first poll. A deadline too far to represent in the timer heap's ticks (about 584 years
/// after the loop started) is kept exactly all the same: no timer fires before its
/// deadline.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// looplet::Runner::builder().virtual_clock(true).build().run(async {
///     let at = looplet::now() + Duration::from_secs(2);
///     looplet::sleep_until(at).await;
///     assert_eq!(looplet::now(), at);
///     looplet::sleep_until(at).await; // already past: completes at once
/// });
/// ```
///
/// # Panics
///
/// Never when called; polling the `Sleep` panics with no looplet loop running on the
/// thread.
pub fn sleep_until(deadline: Instant) -> Sleep {
    let queue = current();
    Sleep {
        deadline: Deadline::At(deadline),
        sequence: queue.as_ref().map(|queue| queue.next_sequence()),
        state: State::Idle {
            issuer: queue.map_or(NO_QUEUE, |queue| queue.id()),
        },
    }
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// It is plain data and `Send`: it may be made on any thread and awaited on the loop.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let made_elsewhere = std::thread::spawn(|| looplet::sleep(Duration::from_secs(1)));
/// let sleep: looplet::Sleep = made_elsewhere.join().unwrap();
/// let mut runner = looplet::Runner::builder().virtual_clock(true).build();
/// let start = runner.clock().now();
/// runner.run(sleep);
/// assert_eq!(runner.clock().now() - start, Duration::from_secs(1));
/// ```
///
/// # Panics
///
/// Polling it panics when no looplet loop is running on this thread; make the sleep
/// anywhere, but await it inside `looplet::run` or `Runner::run`.
#[must_use = "a Sleep does nothing unless awaited"]
#[derive(Debug)]
pub struct Sleep {
    deadline: Deadline,
    /// Handed out by the queue named in `state` (`issuer`, or the queue registered in) when
    /// the sleep was created, reset or first polled there: its place among equal deadlines,
    /// and, once registered, the proof that a queue slot is still this sleep's. `None`
    /// until the sleep has met a loop.
    sequence: Option<NonZeroU64>,
    state: State,
}

/// When a sleep completes. 16 bytes, like an `Instant` alone: the duration is packed in 8
/// so the enum fits around the `Instant`'s niche.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    /// Fixed.
    At(Instant),
    /// A `sleep` made with no loop running: this long after its first poll.
    After(PackedDuration),
}

/// A `Duration` in 8 bytes, never shorter than the one it packs: nanoseconds below 2^63 of
/// them (about 292 years), whole seconds rounded up from there, told apart by the top bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PackedDuration(u64);

impl PackedDuration {
    /// Set when the rest counts seconds.
    const SECONDS: u64 = 1 << 63;

    fn new(duration: Duration) -> PackedDuration {
        match u64::try_from(duration.as_nanos()) {
            Ok(nanos) if nanos < Self::SECONDS => PackedDuration(nanos),
            _ => {
                let round_up = u64::from(duration.subsec_nanos() > 0);
                let secs = duration.as_secs().saturating_add(round_up);
                PackedDuration(Self::SECONDS | secs.min(Self::SECONDS - 1))
            }
        }
    }

    fn get(self) -> Duration {
        if self.0 & Self::SECONDS == 0 {
            Duration::from_nanos(self.0)
        } else {
            Duration::from_secs(self.0 & !Self::SECONDS)
        }
    }
}

/// Queue ids start at 1: this one names no queue.
const NO_QUEUE: u64 = 0;

/// Where a `Sleep` stands; see the life cycle in the module docs. The slot is a `u32` (no
/// loop holds four billion timers) so the whole state takes 16 bytes, and the `Sleep` 40.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not in any queue: not polled yet, reset, or moved out of the queue. `issuer` is the
    /// id of the queue that issued the sequence number ([`NO_QUEUE`] if none did).
    Idle { issuer: u64 },
    /// A zero sleep before its first poll, which yields instead of completing.
    Yield,
    /// Registered in the queue with this id, in this slot, under the sleep's `sequence`.
    Registered { queue_id: u64, slot: u32 },
    /// Completed; it stays completed until reset.
    Elapsed,
}

impl Sleep {
    /// A sleep of `duration` from now, or from its first poll if no loop is running; with
    /// `yield_first`, its first poll yields instead (see [`sleep`]).
    pub(crate) fn after(duration: Duration, yield_first: bool) -> Sleep {
        match current() {
            Some(queue) => Sleep {
                deadline: Deadline::At(saturating_add(queue.now(), duration)),
                sequence: Some(queue.next_sequence()),
                state: if yield_first {
                    State::Yield
                } else {
                    State::Idle { issuer: queue.id() }
                },
            },
            None => Sleep {
                deadline: Deadline::After(PackedDuration::new(duration)),
                sequence: None,
                state: if yield_first {
                    State::Yield
                } else {
                    State::Idle { issuer: NO_QUEUE }
                },
            },
        }
    }

    /// The instant this sleep completes at.
    ///
    /// A `sleep(d)` made with no loop running has no deadline until its first poll: until
    /// then this returns what it would be if polled now — `d` after the current loop's
    /// time, or after `Instant::now()` when no loop is running.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// looplet::Runner::builder().virtual_clock(true).build().run(async {
    ///     let sleep = looplet::sleep(Duration::from_secs(3));
    ///     assert_eq!(sleep.deadline(), looplet::now() + Duration::from_secs(3));
    /// });
    /// ```
    pub fn deadline(&self) -> Instant {
        match self.deadline {
            Deadline::At(deadline) => deadline,
            Deadline::After(duration) => {
                let now = with_current(|queue| queue.now()).unwrap_or_else(Instant::now);
                saturating_add(now, duration.get())
            }
        }
    }

    /// Whether the deadline has been reached (as of the last poll, or now if a loop runs).
    /// A `sleep` made with no loop running has not, before its first poll.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// looplet::Runner::builder().virtual_clock(true).build().run(async {
    ///     let short = looplet::sleep(Duration::from_secs(1));
    ///     assert!(!short.is_elapsed());
    ///     looplet::sleep(Duration::from_secs(2)).await;
    ///     assert!(short.is_elapsed()); // without being polled
    /// });
    /// ```
    pub fn is_elapsed(&self) -> bool {
        match (self.state, self.deadline) {
            (State::Elapsed, _) => true,
            (_, Deadline::At(deadline)) => {
                with_current(|queue| queue.now() >= deadline).unwrap_or(false)
            }
            (_, Deadline::After(_)) => false,
        }
    }

    /// Moves the deadline, as if the sleep had just been created with it by
    /// [`sleep_until`]. The sleep keeps its place among equal deadlines only if it is
    /// re-created; a reset one goes behind them.
    ///
    /// May be called with no loop running, like [`sleep_until`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// looplet::Runner::builder().virtual_clock(true).build().run(async {
    ///     let start = looplet::now();
    ///     let mut sleep = looplet::sleep(Duration::from_secs(1));
    ///     sleep.reset(start + Duration::from_secs(5));
    ///     sleep.await;
    ///     assert_eq!(looplet::now() - start, Duration::from_secs(5));
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deregister();
        *self = sleep_until(deadline);
    }

    /// Fixes the deadline of a sleep made with no loop running (at `queue`'s present), and
    /// returns the deadline.
    pub(crate) fn start(&mut self, queue: &TimerQueue) -> Instant {
        match self.deadline {
            Deadline::At(deadline) => deadline,
            Deadline::After(duration) => {
                let deadline = saturating_add(queue.now(), duration.get());
                self.deadline = Deadline::At(deadline);
                deadline
            }
        }
    }

    /// This sleep's sequence number in `queue`, taking a fresh one if `queue` did not
    /// issue the one it holds (or it holds none): the queue's slot proofs rely on its
    /// sequence numbers being unique within it.
    fn sequence_in(&mut self, queue: &TimerQueue) -> NonZeroU64 {
        let issuer = match self.state {
            State::Idle { issuer } => issuer,
            State::Registered { queue_id, .. } => queue_id,
            State::Yield | State::Elapsed => NO_QUEUE,
        };
        match self.sequence {
            Some(sequence) if issuer == queue.id() => sequence,
            _ => {
                let sequence = queue.next_sequence();
                self.sequence = Some(sequence);
                sequence
            }
        }
    }

    fn deregister(&mut self) {
        let State::Registered { queue_id, slot } = self.state else {
            return;
        };
        let Some(sequence) = self.sequence else {
            return;
        };
        self.state = State::Idle { issuer: queue_id };
        let deadline = self.deadline;
        // Off the loop (or on another loop) the entry cannot be reached; it stays until
        // its deadline, when firing it wakes a waker nobody listens to.
        with_current(|queue| {
            let fired = matches!(deadline, Deadline::At(at) if queue.has_fired(at));
            if queue.id() == queue_id && !fired {
                queue.cancel(TimerKey { slot, sequence });
            }
        });
    }

    /// Decides one poll's step, with the queue at hand. Inline and short for the two
    /// polls almost every sleep gets — the first, of a sleep made on this loop, and the
    /// one after it fired — and [`step_slowly`](Sleep::step_slowly) for everything else.
    #[inline(always)]
    fn step(&mut self, queue: &TimerQueue, waker: &Waker) -> Step {
        let (Deadline::At(deadline), Some(sequence)) = (self.deadline, self.sequence) else {
            return self.step_slowly(queue, waker);
        };
        // Due as of the clock's last reading, which costs no system call on a real clock
        // (on a virtual one it is the present). A sleep that is due but was not yet due
        // at that reading registers, or stays registered, and fires at the loop's next
        // `fire_due`, which reads the clock.
        let due = queue.clock().last_read() >= deadline;
        match self.state {
            // Look at the registration first: a timer the queue fired is gone from it,
            // and needs no deregistering.
            State::Registered { queue_id, slot } if queue_id == queue.id() => {
                if queue.has_fired(deadline) {
                    Step::Fired
                } else if queue.update_waker(TimerKey { slot, sequence }, waker) {
                    if due {
                        Step::Due
                    } else {
                        Step::Waiting
                    }
                } else {
                    self.step_slowly(queue, waker)
                }
            }
            State::Idle { issuer } if issuer == queue.id() => {
                if due {
                    Step::Due
                } else {
                    Step::Registered(State::Registered {
                        queue_id: issuer,
                        slot: queue.register(deadline, sequence, waker.clone()),
                    })
                }
            }
            _ => self.step_slowly(queue, waker),
        }
    }

    /// [`step`](Sleep::step) for every state: a zero sleep's yield, a sleep made with no
    /// loop or on another loop, and one the queue moved out.
    #[cold]
    #[inline(never)]
    fn step_slowly(&mut self, queue: &TimerQueue, waker: &Waker) -> Step {
        let deadline = self.start(queue);
        if self.state == State::Yield {
            return Step::Yield;
        }
        let due = queue.clock().last_read() >= deadline;
        if let (State::Registered { queue_id, slot }, Some(sequence)) = (self.state, self.sequence)
        {
            if queue_id == queue.id() {
                if queue.has_fired(deadline) {
                    return Step::Fired;
                }
                if queue.update_waker(TimerKey { slot, sequence }, waker) {
                    return if due { Step::Due } else { Step::Waiting };
                }
                // Not fired, yet the slot is not ours: the queue moved the timer out to
                // shrink, and woke us to register again.
                self.state = State::Idle { issuer: queue_id };
            }
        }
        if due {
            return Step::Due;
        }
        let sequence = self.sequence_in(queue);
        Step::Registered(State::Registered {
            queue_id: queue.id(),
            slot: queue.register(deadline, sequence, waker.clone()),
        })
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.state == State::Elapsed {
            return Poll::Ready(());
        }
        let queue = expect_current_queue("awaiting a looplet Sleep");
        let step = this.step(&queue, cx.waker());
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
            Step::Yield => {
                // Behind every task that is ready now: the loop's queue is FIFO.
                cx.waker().wake_by_ref();
                this.state = State::Elapsed;
                Poll::Pending
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
    /// A zero sleep's first poll: yield once.
    Yield,
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

    #[test]
    fn a_packed_duration_is_exact_below_292_years_and_never_shorter_above() {
        let year = 86_400 * 365;
        for exact in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::new(200 * year, 123_456_789),
            Duration::from_nanos(u64::MAX >> 1),
        ] {
            assert_eq!(PackedDuration::new(exact).get(), exact);
        }
        let long = Duration::new(1_000 * year, 1);
        assert_eq!(
            PackedDuration::new(long).get(),
            Duration::from_secs(1_000 * year + 1),
            "rounded up to the second"
        );
        assert!(PackedDuration::new(Duration::MAX).get() > Duration::from_secs(u64::MAX >> 2));
    }
}
