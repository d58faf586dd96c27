//! looplet's timers: one binary heap of deadlines per event loop, and the futures that use it.
//!
//! This crate knows nothing about tasks. It deals only in [`Waker`](std::task::Waker)s: a
//! [`Sleep`] registers its waker under a deadline, and whoever drives the loop asks the
//! [`TimerQueue`] for the next deadline and for the wakers that are due. The executor
//! (`looplet-executor`) does that once per tick; a test can do it by hand.
//!
//! Programs use these timers through the `looplet` facade, on the loop it runs:
//!
//! ```
//! use std::time::Duration;
//!
//! // The virtual clock: the loop jumps over waits, so this takes no real time.
//! looplet::Runner::builder().virtual_clock(true).build().run(async {
//!     let start = looplet::now();
//!     let slow = looplet::sleep(Duration::from_secs(5));
//!     assert!(looplet::timeout(Duration::from_secs(1), slow).await.is_err());
//!     let mut ticks = looplet::interval(Duration::from_millis(250));
//!     for _ in 0..3 {
//!         ticks.tick().await; // at 1 s (at once), 1.25 s, 1.5 s
//!     }
//!     assert_eq!(looplet::now() - start, Duration::from_millis(1500));
//! });
//! ```
//!
//! # How it fits together
//!
//! 1. The loop owns an `Rc<TimerQueue>` and [`enter`](TimerQueue::enter)s it while it runs,
//!    which makes it this thread's *current* queue.
//! 2. [`sleep`], [`sleep_until`], [`timeout`] and [`interval`] find the current queue through
//!    that thread-local. With no loop running they panic with a message that says so.
//! 3. A [`Sleep`] registers itself only when it is first polled and not yet due, so a
//!    `timeout` whose body finishes at once never touches the heap. "Due" is judged by the
//!    clock's last reading, not a fresh one; what falls due later is fired by the queue.
//! 4. Each tick the loop calls [`TimerQueue::fire_due`], then wakes the returned wakers
//!    after the queue's borrow is released (a woken future may create or drop timers).
//! 5. When the loop has nothing to do it sleeps until [`TimerQueue::next_deadline`] — or,
//!    on the [virtual clock](Clock::new_virtual), asks [`TimerQueue::idle_step`] where to
//!    jump: to the next deadline, or, with auto-advance off, only as far as an [`advance`]
//!    under way lets it.
//!
//! # Invariants
//!
//! * The heap is ordered by `(deadline, sequence)`, and sequence numbers are handed out when
//!   a timer is *created*, so equal deadlines fire in the order their timers were made.
//! * Memory follows live timers: dropping a registered `Sleep` drops its waker at once and
//!   leaves its slot as a tombstone; dead heap entries and their tombstones are swept out
//!   whenever they outnumber the live timers.
//! * A timer's sequence number is never reused, and it is checked on every slot lookup, so a
//!   late `Drop` can never touch the slot's next tenant. A slot is never reused while its
//!   heap entry is in the heap, so a heap entry is live exactly when its slot holds a waker.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod clock;
mod context;
mod control;
mod interval;
mod queue;
mod sleep;
mod timeout;

pub use clock::Clock;
pub use context::{now, system_time, try_now, EnterGuard};
pub use control::{advance, auto_advance, set_auto_advance, Advance, IdleStep, STALL_GRACE};
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use queue::{TimerQueue, TimerStats};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};
