//! Moving a virtual clock by hand: [`advance`], the auto-advance switch, and what an idle
//! loop on a virtual clock does next ([`TimerQueue::idle_step`]).
//!
//! # How time moves on a virtual clock
//!
//! Only an idle loop moves a virtual clock: every ready task has run and every callback
//! and due timer has been dealt with. Then [`TimerQueue::idle_step`] decides, in this
//! order:
//!
//! 1. An `advance` is pending and no timer comes before its target: the clock moves to the
//!    target, and every `advance` whose target is reached completes.
//! 2. A timer is pending, and auto-advance is on or an `advance` is pending: the clock
//!    jumps to the timer's deadline; the loop fires it at its next tick.
//! 3. A timer is pending, auto-advance is off and no `advance` is pending: nothing on the
//!    loop can move the clock. The loop waits for a real wake (another thread, I/O) for
//!    [`STALL_GRACE`] of real time; if none comes, it says so on stderr and switches
//!    auto-advance back on ([`TimerQueue::stalled`]) rather than hang.
//! 4. Nothing is pending: the loop waits as on a real clock, for another thread or I/O.
//!
//! So `advance(d)` lets `d` of virtual time pass *as if the program ran that long*: the
//! clock stops at every deadline on the way, and what falls due there runs until the loop
//! is idle again before the clock moves on (as asynctest's `ClockedTestCase.advance` does).
//! A task that sleeps one second in a loop wakes three times in `advance(3 s)`.
//!
//! # Invariants
//!
//! * An `advance` completes only with the loop idle, the clock at (or past) its target and
//!   no timer due: everything due by the target has fired and run first.
//! * Pending advances live in [`Advances`], one waiter each, borrowed only inside its
//!   methods; wakers are woken and dropped after the borrow ends.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::clock::{needs_virtual, saturating_add};
use crate::context::{expect_current, expect_current_queue, with_current};
use crate::TimerQueue;

/// How long an idle loop with auto-advance off waits for a real wake before it gives up
/// waiting and switches auto-advance back on (see [`set_auto_advance`]).
pub const STALL_GRACE: Duration = Duration::from_secs(1);

/// Lets `duration` of virtual time pass, as if the program ran that long, and returns once
/// everything that fell due meanwhile has run: the clock stops at each deadline on the way,
/// and moves on only when the loop is idle again. Works with auto-advance off too: it is
/// how a test moves a stopped clock (tokio's `time::advance`, Trio's `MockClock.jump`).
///
/// The target is fixed at the first poll (`duration` after the clock's time then).
/// `advance(Duration::ZERO)` waits until every ready task has run and the loop is idle.
/// A loop that never goes idle (a task that yields forever) never moves a virtual clock,
/// so an `advance` waits as long as it does.
///
/// # Panics
///
/// Polling it panics with no looplet loop running on the thread, or on a real clock (the
/// message names the virtual clock's builder option; `sleep` waits on a real clock).
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
///
/// let mut runner = looplet::Runner::builder().virtual_clock(true).build();
/// runner.run(async {
///     looplet::set_auto_advance(false); // time moves only when the test says so
///     let ticks = Rc::new(Cell::new(0));
///     let counter = Rc::clone(&ticks);
///     looplet::create_task(async move {
///         loop {
///             looplet::sleep(Duration::from_secs(1)).await;
///             counter.set(counter.get() + 1);
///         }
///     });
///     looplet::advance(Duration::from_millis(3500)).await;
///     assert_eq!(ticks.get(), 3); // at 1 s, 2 s and 3 s
/// });
/// ```
///
/// # Cancellation
///
/// Dropping it withdraws it: the clock moves no further for it.
pub fn advance(duration: Duration) -> Advance {
    Advance {
        duration,
        state: State::Idle,
    }
}

/// The future returned by [`advance`].
#[must_use = "an Advance moves the clock only when awaited"]
#[derive(Debug)]
pub struct Advance {
    duration: Duration,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not polled yet.
    Idle,
    /// Waiting in the queue with this id, under this waiter id.
    Waiting { queue_id: u64, id: u64 },
    /// Completed.
    Done,
}

impl Future for Advance {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let queue = match this.state {
            State::Done => return Poll::Ready(()),
            _ => expect_current_queue("looplet::advance"),
        };
        if let State::Waiting { queue_id, id } = this.state {
            if queue_id == queue.id() {
                if queue.advances.update(id, cx.waker()) {
                    return Poll::Pending;
                }
                this.state = State::Done;
                return Poll::Ready(());
            }
            // Polled on another loop: start over there.
        }
        if !queue.clock().is_virtual() {
            needs_virtual("looplet::advance");
        }
        let target = saturating_add(queue.now(), this.duration);
        let id = queue.advances.add(target, cx.waker().clone());
        this.state = State::Waiting {
            queue_id: queue.id(),
            id,
        };
        Poll::Pending
    }
}

impl Drop for Advance {
    fn drop(&mut self) {
        if let State::Waiting { queue_id, id } = self.state {
            // Off its loop the waiter cannot be reached; it completes at its target,
            // waking a waker nobody listens to.
            with_current(|queue| {
                if queue.id() == queue_id {
                    queue.advances.remove(id);
                }
            });
        }
    }
}

/// Switches the current loop's auto-advance off or on (Trio's `MockClock.autojump`; with
/// it on, tokio's paused clock). On, the default, an idle loop jumps its virtual clock to
/// the next timer. Off, the clock stays where it is, and only [`advance`] (or
/// [`Clock::advance`](crate::Clock::advance)) moves it. The setting stays with the loop's
/// clock across `run` calls; `Runner::clock()` reaches it from outside the loop.
///
/// With auto-advance off, a loop that goes idle with timers pending and no `advance` under
/// way can be woken only from outside: another thread, or I/O. It waits for that for
/// [`STALL_GRACE`] (one second) of real time; if nothing comes, it prints a warning on
/// stderr and switches auto-advance back on, so the program goes on instead of hanging.
///
/// # Panics
///
/// Panics with no looplet loop running on the thread, or on a real clock (the message
/// names the virtual clock's builder option).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let mut runner = looplet::Runner::builder().virtual_clock(true).build();
/// runner.run(async {
///     let start = looplet::now();
///     looplet::set_auto_advance(false);
///     let woke = looplet::timeout(Duration::from_secs(5), looplet::advance(Duration::from_secs(2)));
///     assert!(woke.await.is_ok()); // the clock moved 2 s, not to the timeout's 5 s
///     assert_eq!(looplet::now() - start, Duration::from_secs(2));
///     looplet::set_auto_advance(true);
///     looplet::sleep(Duration::from_secs(1)).await; // jumps again
///     assert!(looplet::auto_advance());
/// });
/// ```
#[track_caller]
pub fn set_auto_advance(on: bool) {
    expect_current("looplet::set_auto_advance", |queue| {
        queue.clock().set_auto_advance(on)
    });
}

/// Whether the current loop's clock auto-advances: `true` on a virtual clock unless
/// [`set_auto_advance`] switched it off, `false` on a real clock.
///
/// # Panics
///
/// Panics when no looplet loop is running on this thread.
///
/// # Examples
///
/// ```
/// looplet::Runner::builder().virtual_clock(true).build().run(async {
///     assert!(looplet::auto_advance());
/// });
/// looplet::Runner::builder().virtual_clock(false).build().run(async {
///     assert!(!looplet::auto_advance());
/// });
/// ```
#[track_caller]
pub fn auto_advance() -> bool {
    expect_current("looplet::auto_advance", |queue| {
        queue.clock().auto_advance()
    })
}

/// What an idle loop on a virtual clock does next; see [`TimerQueue::idle_step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum IdleStep {
    /// Call [`TimerQueue::jump_to`] with this instant, then go on with the next tick.
    Jump(Instant),
    /// Wait for a real wake (another thread, I/O) for at most this long; if none came,
    /// call [`TimerQueue::stalled`].
    Stall(Duration),
    /// Wait for a real wake, with no time limit: no timer is pending.
    Wait,
}

impl TimerQueue {
    /// What an idle loop does next on this queue's virtual clock (see the `control`
    /// module's docs for the order of the rules). The executor's park step asks this.
    pub fn idle_step(&self) -> IdleStep {
        let next = self.next_deadline();
        let advance = self.advances.earliest();
        if let Some(target) = advance {
            // Timers on the way come first; one due at the target itself fires before
            // the advance completes.
            return IdleStep::Jump(next.map_or(target, |next| next.min(target)));
        }
        match next {
            Some(next) if self.clock().auto_advance() => IdleStep::Jump(next),
            Some(_) => IdleStep::Stall(STALL_GRACE),
            None => IdleStep::Wait,
        }
    }

    /// Moves the virtual clock to `to` (never back), and completes every [`advance`]
    /// whose target it has reached — unless a timer is due, which fires and runs first.
    pub fn jump_to(&self, to: Instant) {
        self.clock().advance_to(to);
        if self.advances.is_empty() {
            return;
        }
        let now = self.now();
        if self.next_deadline().is_some_and(|next| next <= now) {
            return;
        }
        for waker in self.advances.take_reached(now) {
            waker.wake();
        }
    }

    /// Called by an idle loop that waited [`STALL_GRACE`] for a real wake on a virtual
    /// clock with auto-advance off, and got none: warns on stderr and switches auto-advance
    /// back on, so the next idle step jumps to the next timer instead of hanging.
    pub fn stalled(&self) {
        eprintln!(
            "looplet: the loop waited {STALL_GRACE:?} of real time on a virtual clock with \
             auto-advance off: its tasks wait for timers only looplet::advance can reach, \
             and no other thread or I/O woke it. Switching auto-advance back on so the \
             program does not hang; move the clock from a task with \
             looplet::advance(d).await, or call looplet::set_auto_advance(true) yourself."
        );
        self.clock().set_auto_advance(true);
    }
}

/// The `advance`s waiting on one queue: usually none, or one per test task that moves
/// the clock, so a short list searched in full.
#[derive(Debug, Default)]
pub(crate) struct Advances {
    waiters: RefCell<Vec<Waiter>>,
    next_id: Cell<u64>,
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    target: Instant,
    waker: Waker,
}

impl Advances {
    fn add(&self, target: Instant, waker: Waker) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.waiters.borrow_mut().push(Waiter { id, target, waker });
        id
    }

    /// Replaces waiter `id`'s waker; `false` when it is gone (it completed).
    fn update(&self, id: u64, waker: &Waker) -> bool {
        let replaced = {
            let mut waiters = self.waiters.borrow_mut();
            let Some(waiter) = waiters.iter_mut().find(|waiter| waiter.id == id) else {
                return false;
            };
            if waiter.waker.will_wake(waker) {
                return true;
            }
            std::mem::replace(&mut waiter.waker, waker.clone())
        };
        // Dropped after the borrow ends: a waker's drop may run code that uses the queue.
        drop(replaced);
        true
    }

    fn remove(&self, id: u64) {
        let removed = {
            let mut waiters = self.waiters.borrow_mut();
            let at = waiters.iter().position(|waiter| waiter.id == id);
            at.map(|at| waiters.swap_remove(at))
        };
        drop(removed);
    }

    fn is_empty(&self) -> bool {
        self.waiters.borrow().is_empty()
    }

    fn earliest(&self) -> Option<Instant> {
        let waiters = self.waiters.borrow();
        waiters.iter().map(|waiter| waiter.target).min()
    }

    /// Takes out every waiter whose target is not after `now`, returning their wakers in
    /// the order the advances began.
    fn take_reached(&self, now: Instant) -> Vec<Waker> {
        let reached: Vec<Waiter> = {
            let mut waiters = self.waiters.borrow_mut();
            let (reached, kept) = std::mem::take(&mut *waiters)
                .into_iter()
                .partition(|waiter| waiter.target <= now);
            *waiters = kept;
            reached
        };
        reached.into_iter().map(|waiter| waiter.waker).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Clock;

    fn poll(future: &mut Pin<Box<impl Future>>) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        future.as_mut().poll(&mut cx).is_ready()
    }

    #[test]
    fn a_dropped_advance_is_withdrawn_and_leaves_a_stall_behind() {
        let queue = TimerQueue::new(Clock::new_virtual());
        let _entered = queue.enter();
        queue.clock().set_auto_advance(false);
        let mut sleep = Box::pin(crate::sleep(Duration::from_secs(5)));
        assert!(!poll(&mut sleep));
        let mut pending = Box::pin(advance(Duration::from_secs(10)));
        assert!(!poll(&mut pending));
        assert_eq!(queue.idle_step(), IdleStep::Jump(sleep.deadline()));
        drop(pending);
        assert!(queue.advances.is_empty());
        assert_eq!(queue.idle_step(), IdleStep::Stall(STALL_GRACE));
        drop(sleep);
        assert_eq!(queue.idle_step(), IdleStep::Wait);
    }

    #[test]
    fn a_timer_due_at_an_advances_target_fires_before_the_advance_completes() {
        let queue = TimerQueue::new(Clock::new_virtual());
        let _entered = queue.enter();
        let start = queue.now();
        let mut moving = Box::pin(advance(Duration::from_secs(2)));
        assert!(!poll(&mut moving));
        let target = start + Duration::from_secs(2);
        assert_eq!(
            queue.idle_step(),
            IdleStep::Jump(target),
            "no timer: straight there"
        );
        let mut sleep = Box::pin(crate::sleep_until(target));
        assert!(!poll(&mut sleep));
        assert_eq!(queue.idle_step(), IdleStep::Jump(target));
        queue.jump_to(target);
        assert!(
            !poll(&mut moving),
            "the timer at the target has not fired yet"
        );
        let mut due = Vec::new();
        assert_eq!(queue.fire_due(&mut due), 1);
        assert!(poll(&mut sleep));
        assert_eq!(queue.idle_step(), IdleStep::Jump(target));
        queue.jump_to(target);
        assert!(poll(&mut moving));
        assert_eq!(queue.now(), target);
    }
}
