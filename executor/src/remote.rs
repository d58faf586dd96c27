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
//! # Skipping empty drains
//!
//! Every push also sets `has_work`; the loop swaps it back to `false` before it drains, and
//! skips the drain when it was already `false`. A push whose flag-store lands after the
//! swap leaves the flag set for the next tick; one whose store landed before it is visible
//! to the drain, because the store comes after the push and the swap orders the drain
//! after the store. The drain itself takes only what was queued when it began — up to the
//! push counts it read then, each bumped right after its push — so threads that keep
//! pushing cannot hold the loop in it.
//!
//! # Closing
//!
//! When the loop closes it sets `closed` and then drains `jobs`. A submitter pushes its job
//! and then reads `closed`; if it sees the loop closed it drains the jobs itself. Either way
//! every job is dropped by someone, and dropping a job tells its waiter the loop is gone.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::Thread;

use crossbeam_queue::SegQueue;

use crate::task::TaskId;

/// Work submitted from another thread, run on the loop's thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

pub(crate) struct Remote {
    woken: SegQueue<TaskId>,
    jobs: SegQueue<Job>,
    thread: Thread,
    /// `true` while the loop is awake or an unpark is already on its way; see module docs.
    notified: AtomicBool,
    /// Set after every push, cleared by the loop right before it drains: lets a tick with
    /// nothing from other threads skip the queues with one load.
    has_work: AtomicBool,
    /// How many wakes and jobs have been pushed so far, counted after each push: the loop
    /// drains up to the count it read when the drain began (see "Skipping empty drains").
    woken_pushed: AtomicU64,
    jobs_pushed: AtomicU64,
    closed: AtomicBool,
}

impl Remote {
    pub(crate) fn new(thread: Thread) -> Remote {
        Remote {
            woken: SegQueue::new(),
            jobs: SegQueue::new(),
            thread,
            notified: AtomicBool::new(true),
            has_work: AtomicBool::new(false),
            woken_pushed: AtomicU64::new(0),
            jobs_pushed: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Queues a wake of `id` for the loop; a no-op once the loop has closed.
    pub(crate) fn wake(&self, id: TaskId) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        self.woken.push(id);
        self.woken_pushed.fetch_add(1, Ordering::SeqCst);
        self.has_work.store(true, Ordering::SeqCst);
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
        self.has_work.store(true, Ordering::SeqCst);
        if self.is_closed() {
            // The loop may have drained before our push landed: drop what is left ourselves.
            self.drain_jobs_dropping();
            return Err(());
        }
        self.notify();
        Ok(())
    }

    pub(crate) fn notify(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) {
            self.thread.unpark();
        }
    }

    pub(crate) fn pop_woken(&self) -> Option<TaskId> {
        self.woken.pop()
    }

    /// Whether anything may have been pushed since the last call; clears the flag. A push
    /// whose flag-store lands after the clear sets it again for the next tick, and a push
    /// whose store landed before is visible to the drain that follows (the store comes after
    /// the push; the swap orders the drain after the store).
    pub(crate) fn take_has_work(&self) -> bool {
        self.has_work.load(Ordering::Relaxed) && self.has_work.swap(false, Ordering::SeqCst)
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
