//! What the loop does between two batches: runs queued callbacks, fires due timers, takes
//! in wakes and jobs from other threads, and with nothing left to do parks — giving back the
//! memory a burst left behind first.
//!
//! Each step is checked inline and done out of line: most ticks of a busy loop have none
//! of this to do, and then the checks cost a few loads.

use std::time::{Duration, Instant};

use looplet_timer::IdleStep;

use super::{bump, Core, Enqueued};
use crate::prefetch;
use crate::task::{PREFIX_BYTES, RETAINED_BYTES};

impl Core {
    // The three steps between batches are checked inline, and their work kept out of line:
    // most ticks of a busy loop have no callback, timer or remote work to do, and then the
    // checks are a few loads instead of three calls (measured: 75 → 20 instructions a tick).

    #[inline]
    pub(super) fn run_soon_callbacks(&self) {
        if !self.soon.borrow().is_empty() {
            self.run_soon_callbacks_now();
        }
    }

    #[inline(never)]
    fn run_soon_callbacks_now(&self) {
        let count = self.soon.borrow().len();
        for _ in 0..count {
            let Some(callback) = self.soon.borrow_mut().pop_front() else {
                break;
            };
            callback();
        }
    }

    #[inline]
    pub(super) fn fire_timers(&self) {
        if self.timers.has_entries() {
            self.fire_timers_now();
        }
    }

    #[inline(never)]
    fn fire_timers_now(&self) {
        let mut due = std::mem::take(&mut *self.due_scratch.borrow_mut());
        if self.timers.fire_due(&mut due) > 0 {
            self.trace.timers_fired(self, due.len());
            let mut wakers = due.drain(..);
            while let Some(waker) = wakers.next() {
                // Due timers come in deadline order, their tasks' cells anywhere in memory. A
                // task waker's data is its cell, whose prefix the wake writes.
                if let Some(coming) = wakers.as_slice().get(prefetch::DISTANCE - 1) {
                    prefetch::prefetch(coming.data().cast(), PREFIX_BYTES);
                }
                waker.wake();
            }
        }
        *self.due_scratch.borrow_mut() = due;
    }

    /// Takes in what other threads sent: wakes, then submitted jobs. Only what was queued
    /// when the drain began is taken, as with the ready batch, so threads that keep sending
    /// cannot hold the loop here and starve the ready tasks and timers.
    #[inline]
    pub(super) fn drain_remote(&self) {
        if self.remote.woken_pushed() != self.remote_taken.woken.get()
            || self.remote.jobs_pushed() != self.remote_taken.jobs.get()
        {
            self.drain_remote_now();
        }
    }

    #[inline(never)]
    fn drain_remote_now(&self) {
        let woken_target = self.remote.woken_pushed();
        while self.remote_taken.woken.get() < woken_target {
            let Some(id) = self.remote.pop_woken() else {
                break;
            };
            bump(&self.remote_taken.woken);
            // Nothing is borrowed between ticks, so `Busy` cannot happen here.
            if self.enqueue(id, true) == Enqueued::Queued {
                bump(&self.counters.remote_wakes);
                self.trace.task_woken(self, id, true);
            }
        }
        let jobs_target = self.remote.jobs_pushed();
        while self.remote_taken.jobs.get() < jobs_target {
            let Some(job) = self.remote.pop_job() else {
                break;
            };
            bump(&self.remote_taken.jobs);
            job();
        }
    }

    pub(super) fn is_idle(&self) -> bool {
        self.sched.borrow().ready.is_empty() && self.soon.borrow().is_empty()
    }

    /// Blocks until there is work: the next timer deadline, a remote wake, or (with an I/O
    /// driver) an I/O event. On a virtual clock the timer queue decides the step (see
    /// `looplet_timer::IdleStep`): a pending deadline or `advance` target is reached at
    /// once by moving the clock, after a look at the I/O that is ready now; with
    /// auto-advance off and only timers pending, the loop waits for a real wake for a
    /// while and then tells the queue it stalled.
    pub(super) fn park(&self) {
        self.release_burst_memory();
        let clock = self.timers.clock();
        let (timeout, stall) = if clock.is_virtual() {
            match self.timers.idle_step() {
                IdleStep::Jump(to) => {
                    // Ready I/O comes before virtual time moves: a test's sockets are served
                    // at the instant they become ready, not after the next sleep ends.
                    if self.wait_on_driver(Some(Duration::ZERO)) && !self.is_idle() {
                        return;
                    }
                    self.trace
                        .parked(self, Some(to.saturating_duration_since(clock.now())));
                    self.timers.jump_to(to);
                    return;
                }
                IdleStep::Stall(grace) => (
                    Some(grace),
                    Some((Instant::now(), grace, self.outside_events())),
                ),
                IdleStep::Wait => (None, None),
            }
        } else {
            let deadline = self.timers.next_deadline();
            let timeout = deadline.map(|deadline| deadline.saturating_duration_since(clock.now()));
            (timeout, None)
        };
        let (woken_taken, jobs_taken) =
            (self.remote_taken.woken.get(), self.remote_taken.jobs.get());
        if !self.remote.prepare_park(woken_taken, jobs_taken) {
            self.remote.unparked();
            return;
        }
        bump(&self.counters.parks);
        if timeout != Some(Duration::ZERO) {
            self.trace.parked(self, timeout);
        }
        if !self.wait_on_driver(timeout) {
            match timeout {
                Some(timeout) if timeout.is_zero() => {}
                Some(timeout) => std::thread::park_timeout(timeout),
                None => std::thread::park(),
            }
        }
        self.remote.unparked();
        if let Some((since, grace, seen)) = stall {
            if self.outside_events() == seen && since.elapsed() >= grace {
                self.timers.stalled();
            }
        }
    }

    /// Counts of what can end a park from outside the loop: remote wakes, jobs, I/O events.
    fn outside_events(&self) -> (u64, u64, u64) {
        (
            self.remote.woken_pushed(),
            self.remote.jobs_pushed(),
            self.counters.io_events.get(),
        )
    }

    /// Parks on the I/O driver, if the loop has one, counting and tracing the events it
    /// delivers; returns whether there was a driver.
    fn wait_on_driver(&self, timeout: Option<Duration>) -> bool {
        let Some(installed) = self.driver.get() else {
            return false;
        };
        let events = installed.driver.park(timeout);
        self.counters
            .io_events
            .set(self.counters.io_events.get() + events as u64);
        self.trace.io_events(self, events);
        true
    }

    /// Out of work, or a `run` returned: memory kept for a burst goes back — cached task
    /// cells beyond [`RETAINED_BYTES`], and the room a burst left in the task table, the
    /// ready queue, the callback queue and the due-timer scratch list. What the loop keeps
    /// beyond its live tasks and timers is then bounded: 256 KiB of cells, and room for
    /// 64 entries in each list. Growing them again costs amortised O(1) per push.
    pub(super) fn release_burst_memory(&self) {
        /// Room kept anyway, so a quiet loop does not reallocate on every tick.
        const KEEP: usize = 64;
        self.cell_cache.borrow_mut().trim_to(RETAINED_BYTES);
        let mut sched = self.sched.borrow_mut();
        sched.ready.shrink_to(KEEP);
        sched.tasks.shrink(KEEP);
        drop(sched);
        self.soon.borrow_mut().shrink_to(KEEP);
        self.due_scratch.borrow_mut().shrink_to(KEEP);
    }
}
