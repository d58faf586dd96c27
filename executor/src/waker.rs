//! Wakers: `Send + Sync`, pointing into the task's own allocation, with a fast path when the
//! wake happens on the loop's own thread.
//!
//! # One waker per task, no allocation of its own
//!
//! A task's waker is a pointer to the [`WakerTarget`] at the start of its cell (see
//! [`crate::task`]), with one static vtable. The loop polls a task with a *borrowed* waker
//! built from that pointer: lent by reference for one poll, it costs nothing. A clone adds
//! one to the target's atomic `refs`, so a future that keeps its waker (a timer, a channel)
//! allocates nothing; every clone of every poll has the same data pointer, so `will_wake`
//! holds across polls and a future that stored a clone need not clone again.
//!
//! The target holds only what a wake needs from any thread — which loop (its [`Remote`]),
//! which task — and the count that keeps the cell's *memory* alive. The task's future and
//! output are dropped on the loop's thread when the last loop-side reference goes, so a
//! waker never keeps a `!Send` value alive and never drops one on another thread.
//!
//! # Two wake paths
//!
//! * **local** — this thread is running the task's loop: check the task's `queued` flag in
//!   its header and push the id onto the loop's ready queue directly (a `RefCell` and a
//!   `VecDeque`; no table lookup, no atomic read-modify-write);
//! * **remote** — any other thread, or the loop is not running right now: push the id onto
//!   the loop's lock-free queue, unless the task's remote-queued bit says it is there
//!   already, and unpark the loop (see [`crate::remote`]).
//!
//! A waker that outlives its task does nothing: on the local path the header says the task
//! is done, and on the remote path the loop finds a different (or no) task under its id. One
//! that outlives its loop finds the remote queue closed and does nothing.
//!
//! # Safety
//!
//! The vtable's data pointer is always the start of a live task cell, whose first field is
//! its `WakerTarget` (`#[repr(C)]`), and it carries the provenance of the whole cell (it is
//! cast from the cell pointer, never taken from a field reference). Each owned waker holds
//! one unit of `refs`; the loop side holds one more while any loop-side reference exists, and
//! the borrowed waker is lent only while the loop holds such a reference. So every vtable
//! call finds the target alive, and the cell is freed exactly once, by whoever releases the
//! last unit ([`release`]; the count's orderings are in [`crate::refs`]). Any thread may read
//! the target's fields through the pointer: they are `Sync` (an `Arc`, plain integers, an
//! atomic and a `'static` table of function pointers). The header right after the target is
//! `!Sync`; a wake reads it only after checking that the calling thread is running the
//! task's own loop, the one thread that uses it.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{RawWaker, RawWakerVTable, Waker};

use futures_task::ArcWake;

use crate::context;
use crate::event_loop::Core;
use crate::refs::{Refs, Released};
use crate::remote::{self, Remote};
use crate::task::{TaskId, TaskVTable};

/// The part of a task cell that wakers use, from any thread; the first field of every cell.
pub(crate) struct WakerTarget {
    remote: Arc<Remote>,
    /// What the loop does to the task, for its future's type; `free` frees the whole cell.
    vtable: &'static TaskVTable,
    number: u64,
    slot: u32,
    /// Units: owned wakers alive, plus one while any loop-side reference exists; the cell's
    /// memory is freed when they reach zero. In the same word, the flag that says the task's
    /// id is in its loop's remote queue, so the flag costs the cell no bytes.
    refs: Refs,
}

impl WakerTarget {
    /// A target with the loop side's unit of `refs` and no waker yet.
    pub(crate) fn new(remote: Arc<Remote>, id: TaskId, vtable: &'static TaskVTable) -> WakerTarget {
        WakerTarget {
            remote,
            vtable,
            number: id.number,
            slot: id.slot,
            refs: Refs::new(),
        }
    }

    pub(crate) fn remote(&self) -> &Arc<Remote> {
        &self.remote
    }

    pub(crate) fn vtable(&self) -> &'static TaskVTable {
        self.vtable
    }

    pub(crate) fn id(&self) -> TaskId {
        TaskId {
            slot: self.slot,
            number: self.number,
        }
    }

    /// Wakes the task through its loop's remote queue, where it is queued at most once.
    pub(crate) fn wake_remotely(&self) {
        self.remote.wake(self.id(), self.refs.queue_word());
    }

    /// Called by the loop when it pops this task's id from the remote queue, before it
    /// polls the task (see [`crate::remote`], "At most once in the queue").
    pub(crate) fn left_remote_queue(&self) {
        remote::left_queue(self.refs.queue_word());
    }
}

/// Lends `f` the task's waker without touching `refs`.
///
/// # Safety
///
/// `target` must point at the start of a live task cell, with the whole cell's provenance,
/// and the caller must hold a loop-side reference to that cell for the whole call.
#[inline]
pub(crate) unsafe fn with_borrowed_waker<R>(
    target: NonNull<WakerTarget>,
    f: impl FnOnce(&Waker) -> R,
) -> R {
    let raw = RawWaker::new(target.as_ptr().cast_const().cast(), &TASK_WAKER_VTABLE);
    // SAFETY: the caller's reference keeps the target alive for this call; the waker is only
    // lent to `f` (`ManuallyDrop`: never dropped, so it releases no unit it does not hold),
    // and its clones each take their own unit (module docs, "Safety").
    let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
    f(&waker)
}

/// Releases one unit of `target`'s `refs`, freeing the cell if it was the last.
///
/// # Safety
///
/// The caller must hold the unit it releases, and must not touch the cell afterwards.
pub(crate) unsafe fn release(target: NonNull<WakerTarget>) {
    // SAFETY: the caller's unit keeps the target alive until the count below gives it up.
    let refs = unsafe { &target.as_ref().refs };
    if refs.release_unit() == Released::Last {
        // SAFETY: that was the last unit: nobody else can reach the cell, so it is freed
        // once, by the function its own type installed.
        unsafe { (target.as_ref().vtable.free)(target) };
    }
}

static TASK_WAKER_VTABLE: RawWakerVTable = RawWakerVTable::new(
    task_waker_clone,
    task_waker_wake,
    task_waker_wake_by_ref,
    task_waker_drop,
);

/// # Safety
///
/// `data` must come from a waker made by [`with_borrowed_waker`] or cloned from one, still
/// alive (for all four functions below).
unsafe fn task_waker_clone(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned holds a unit (or is lent under a loop-side reference).
    let target = unsafe { &*data.cast::<WakerTarget>() };
    target.refs.add_unit();
    RawWaker::new(data, &TASK_WAKER_VTABLE)
}

unsafe fn task_waker_wake(data: *const ()) {
    // SAFETY: as in `task_waker_clone`; this consumes the waker's unit, released last.
    unsafe {
        task_waker_wake_by_ref(data);
        task_waker_drop(data);
    }
}

unsafe fn task_waker_wake_by_ref(data: *const ()) {
    // SAFETY: as in `task_waker_clone`.
    let target = unsafe { &*data.cast::<WakerTarget>() };
    let woke_locally = on_loop_thread(&target.remote, |core| {
        // SAFETY: this runs only on the thread running the task's loop, and this waker's
        // unit keeps the cell allocated for the call (module docs, "Safety").
        unsafe { core.schedule_woken(NonNull::new_unchecked(data.cast_mut().cast())) }
    });
    if !woke_locally {
        target.wake_remotely();
    }
}

unsafe fn task_waker_drop(data: *const ()) {
    // SAFETY: an owned waker holds one unit, which it gives up here; `data` has the cell's
    // provenance (module docs, "Safety").
    unsafe { release(NonNull::new_unchecked(data.cast_mut().cast())) };
}

/// The waker of the future given to `run`, which has no cell: which loop, and the reserved
/// id [`TaskId::MAIN`]. One is allocated per `run`.
pub(crate) struct MainWaker {
    remote: Arc<Remote>,
}

impl MainWaker {
    pub(crate) fn new_waker(remote: &Arc<Remote>) -> Waker {
        futures_task::waker(Arc::new(MainWaker {
            remote: Arc::clone(remote),
        }))
    }
}

impl ArcWake for MainWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let remote = &arc_self.remote;
        if !on_loop_thread(remote, |core| core.schedule_local(TaskId::MAIN)) {
            remote.wake_main();
        }
    }
}

/// The choice of wake path: runs `local` when this thread is running the loop behind
/// `remote`, and returns what it did (`false` if the loop's state is borrowed right now);
/// `false` means the caller takes the remote queue.
fn on_loop_thread(remote: &Arc<Remote>, local: impl FnOnce(&Core) -> bool) -> bool {
    context::with_current(|core| core.is_same_loop(remote) && local(core)).unwrap_or(false)
}
