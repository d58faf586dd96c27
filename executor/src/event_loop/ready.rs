//! The ready queue: at-most-once entries that each hold a reference to their task, popped
//! in FIFO order (or a seed's, see `crate::schedule`) by the tick.
//!
//! An entry is a thin pointer to the task's cell and holds one loop-side reference from its
//! push to its pop, so popping needs no table lookup and an entry can never dangle; every
//! path that empties the queue (`pop_ready`, `close`, dropping the scheduler) gives that
//! reference back once. Whether a task has an entry is its header's `queued` flag, set
//! before the push and cleared at the pop.

use std::collections::VecDeque;
use std::ptr::NonNull;

use super::Core;
use crate::prefetch;
use crate::table::TaskTable;
use crate::task::{TaskId, TaskRef};
use crate::waker::WakerTarget;

/// The loop's task bookkeeping: who is live, and who is ready.
pub(super) struct Scheduler {
    pub(super) tasks: TaskTable,
    pub(super) ready: VecDeque<ReadyEntry>,
}

/// A ready-queue entry: a thin pointer to a task's cell that holds one loop-side reference
/// (taken at the push, given back at the pop), so popping needs no table lookup and an entry
/// can never dangle. 8 bytes: a burst of spawns puts one entry per task in the queue.
/// [`ReadyEntry::MAIN`] stands for the future given to `run`, which has no cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ReadyEntry(NonNull<WakerTarget>);

impl ReadyEntry {
    /// Never a cell's address: cells are real allocations, this is the dangling pointer.
    pub(super) const MAIN: ReadyEntry = ReadyEntry(NonNull::dangling());

    pub(super) fn holding(task: TaskRef) -> ReadyEntry {
        ReadyEntry(task.into_raw())
    }

    /// The reference this entry holds, given back; `None` for [`ReadyEntry::MAIN`].
    ///
    /// # Safety
    ///
    /// Called once per entry, for an entry made by [`ReadyEntry::holding`] or `MAIN`.
    pub(super) unsafe fn into_task(self) -> Option<TaskRef> {
        // SAFETY: the entry holds the reference `holding` gave up, taken back once.
        (self != ReadyEntry::MAIN).then(|| unsafe { TaskRef::from_raw(self.0) })
    }
}

impl Drop for Scheduler {
    /// Entries still queued when the loop goes give back their references.
    fn drop(&mut self) {
        for entry in self.ready.drain(..) {
            // SAFETY: each entry leaves the queue once, here.
            drop(unsafe { entry.into_task() });
        }
    }
}

/// What [`Core::pop_ready`] found at the front of the ready queue.
pub(super) enum Next {
    /// A live task: poll it.
    Task(TaskId, TaskRef),
    /// The future given to `run`: `block_on` polls it.
    Main,
    /// A task that finished after it was queued (it woke itself, then completed): skip it,
    /// releasing the reference the entry held.
    Finished(TaskRef),
    /// The queue is empty.
    Empty,
}

impl Core {
    /// Takes the next entry off the ready queue: the future given to `run`, or a task with
    /// the reference its entry held.
    pub(super) fn pop_ready(&self) -> Next {
        let mut sched = self.sched.borrow_mut();
        let Some(entry) = sched.ready.pop_front() else {
            return Next::Empty;
        };
        // A long queue (a burst of timers, thousands of spawns) is polled in an order
        // unrelated to where the cells are: start loading the one due a few pops on.
        if let Some(coming) = sched.ready.get(prefetch::DISTANCE - 1) {
            prefetch::prefetch(coming.0.as_ptr().cast(), prefetch::CELL_BYTES);
        }
        // SAFETY: the entry just left the queue; this is its one `into_task`.
        let Some(task) = (unsafe { entry.into_task() }) else {
            return Next::Main;
        };
        task.header().queued.set(false);
        if task.header().is_done() {
            return Next::Finished(task);
        }
        let id = task.waker_target().id();
        // A task that finishes in this poll leaves the table, whose slots such a burst
        // visits in no order either: start loading this one's while the poll runs.
        sched.tasks.prefetch(id.slot);
        Next::Task(id, task)
    }
}
