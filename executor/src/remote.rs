//! The wake path from other threads: a lock-free queue, and an unpark collapsed by one flag.
//!
//! A waker used on a thread other than its loop's (or while its loop is not running)
//! cannot touch the loop's `RefCell`s. It pushes the task id here and unparks the loop's
//! thread. [`Handle`](crate::Handle) submissions travel the same way, as jobs.
//!
//! # Lost wake-ups
//!
//! `notified` collapses repeated unparks into one: a pusher unparks only when it flips the
//! flag from `false` to `true`. The loop clears the flag *before* it looks at the queues one
//! last time and parks. So either the pusher's item was in the queue when the loop looked
//! (the loop does not park), or the pusher flipped the flag after the loop cleared it (the
//! pusher unparks, and the park returns at once). All four operations are `SeqCst`.
//!
//! # At most once in the queue
//!
//! A task's id is in `woken` at most once, however many threads wake it and however often:
//! memory under a wake storm is bounded by the number of tasks. Each task has a word whose
//! [`REMOTE_QUEUED`] bit says its id is in the queue (the top bit of its waker target's
//! `refs`, see [`crate::waker`]); the future given to `run` has `main_queued` here.
//!
//! * A waker sets the bit (`fetch_or`) and pushes only if it was clear.
//! * The loop pops the id and clears the bit (`fetch_and`) *before* it polls the task.
//!
//! No wake is lost. A waker that finds the bit set came before the loop's clear in the
//! word's order, so the clear (`AcqRel`) sees everything the waker did before waking, and
//! the poll that follows the clear sees it too. A waker that comes after the clear finds the
//! bit clear and pushes again. A task that is gone by the time its id is popped is skipped;
//! its bit stays set, which stops pushes for a cell that no longer matters.
//!
//! # Bounded drains
//!
//! Every push bumps a counter (`woken_pushed`, `jobs_pushed`) right after it lands. The
//! loop keeps how many it has taken, and each drain pops only up to the count it read when
//! it began: threads that keep pushing cannot hold the loop in it, and a tick with nothing
//! from other threads costs two loads that equal what was taken. A pushed item whose count
//! is not bumped yet is taken by a later drain; the bump, and the unpark after it, come
//! before the pusher returns.
//!
//! # Closing
//!
//! When the loop closes it sets `closed` and then drains `jobs`. A submitter pushes its job
//! and then reads `closed`; if it sees the loop closed it drains the jobs itself. Either way
//! every job is dropped by someone, and dropping a job tells its waiter the loop is gone.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread::Thread;

use crossbeam_queue::SegQueue;

use crate::task::TaskId;

/// The bit of a task's queue word that says its id is in `woken` (module docs, "At most
/// once in the queue"). The word's other bits belong to its owner.
pub(crate) const REMOTE_QUEUED: u32 = 1 << 31;

/// Work submitted from another thread, run on the loop's thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

pub(crate) struct Remote {
    woken: SegQueue<TaskId>,
    jobs: SegQueue<Job>,
    /// The queue word of the future given to `run`, which has no cell.
    main_queued: AtomicU32,
    thread: Thread,
    /// `true` while the loop is awake or an unpark is already on its way; see module docs.
    notified: AtomicBool,
    /// How many wakes and jobs have been pushed so far, counted after each push: the loop
    /// drains up to the count it read when the drain began (see "Bounded drains").
    woken_pushed: AtomicU64,
    jobs_pushed: AtomicU64,
    closed: AtomicBool,
}

impl Remote {
    pub(crate) fn new(thread: Thread) -> Remote {
        Remote {
            woken: SegQueue::new(),
            jobs: SegQueue::new(),
            main_queued: AtomicU32::new(0),
            thread,
            notified: AtomicBool::new(true),
            woken_pushed: AtomicU64::new(0),
            jobs_pushed: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Queues a wake of task `id`, whose queue word is `queued`, unless its id is in the
    /// queue already; a no-op once the loop has closed.
    pub(crate) fn wake(&self, id: TaskId, queued: &AtomicU32) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        if queued.fetch_or(REMOTE_QUEUED, Ordering::AcqRel) & REMOTE_QUEUED != 0 {
            return;
        }
        self.woken.push(id);
        self.woken_pushed.fetch_add(1, Ordering::SeqCst);
        self.notify();
    }

    /// Queues a job. Returns it back if the loop has closed.
    pub(crate) fn submit(&self, job: Job) -> Result<(), ()> {
        if self.is_closed() {
            drop(job);
            return Err(());
        }
        self.jobs.push(job);
        self.jobs_pushed.fetch_add(1, Ordering::SeqCst);
        if self.is_closed() {
            // The loop may have drained before our push landed: drop what is left ourselves.
            self.drain_jobs_dropping();
            return Err(());
        }
        self.notify();
        Ok(())
    }

    /// Queues a wake of the future given to `run`; see [`Remote::wake`].
    pub(crate) fn wake_main(&self) {
        self.wake(TaskId::MAIN, &self.main_queued);
    }

    /// Called by the loop for a popped [`TaskId::MAIN`], before it polls the main future.
    pub(crate) fn main_left_queue(&self) {
        self.main_queued.fetch_and(!REMOTE_QUEUED, Ordering::AcqRel);
    }

    pub(crate) fn notify(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) {
            self.thread.unpark();
        }
    }

    pub(crate) fn pop_woken(&self) -> Option<TaskId> {
        self.woken.pop()
    }

    /// Wakes pushed so far. (Not `SegQueue::len`, which retries until no push is under
    /// way, and so spins for as long as other threads keep pushing.)
    pub(crate) fn woken_pushed(&self) -> u64 {
        self.woken_pushed.load(Ordering::SeqCst)
    }

    /// Jobs pushed so far; see [`Remote::woken_pushed`].
    pub(crate) fn jobs_pushed(&self) -> u64 {
        self.jobs_pushed.load(Ordering::SeqCst)
    }

    pub(crate) fn pop_job(&self) -> Option<Job> {
        self.jobs.pop()
    }

    /// Called by the loop right before it parks; returns whether it may park (nothing came
    /// in since it last looked). See the module docs for why the order matters.
    pub(crate) fn prepare_park(&self) -> bool {
        self.notified.store(false, Ordering::SeqCst);
        self.woken.is_empty() && self.jobs.is_empty()
    }

    /// Called by the loop after it wakes up.
    pub(crate) fn unparked(&self) {
        self.notified.store(true, Ordering::SeqCst);
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        while self.woken.pop().is_some() {}
        self.drain_jobs_dropping();
    }

    /// Whether the calling thread is the one this loop runs on.
    pub(crate) fn is_loop_thread(&self) -> bool {
        self.thread.id() == std::thread::current().id()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    fn drain_jobs_dropping(&self) {
        while let Some(job) = self.jobs.pop() {
            drop(job);
        }
    }
}
