//! Wakers: `Send + Sync`, materialised only when a future keeps one, with a fast path when
//! the wake happens on the loop's own thread.
//!
//! # Two kinds of waker
//!
//! * The **poll waker** is what the loop polls a task with. It is a [`PollWaker`] on the
//!   loop's stack, lent to the future by reference for one poll, so polling costs no
//!   allocation and no reference counting. A future that only calls `wake_by_ref` (like
//!   `yield_now`) never needs more.
//! * The **owned waker** is what `clone` returns: an `Arc<TaskWaker>` naming the loop (its
//!   [`Remote`]) and the task's [`TaskId`]. It is made on the first clone and cached in the
//!   task's header, so later clones are one reference-count increment. From then on the
//!   loop polls the task with the owned waker itself, so a future that stored a clone sees
//!   `will_wake` hold and need not clone again.
//!
//! # Two wake paths
//!
//! * **local** — this thread is running the task's loop: push the id onto the loop's ready
//!   queue directly (a `RefCell` and a `VecDeque`, no atomic read-modify-write);
//! * **remote** — any other thread, or the loop is not running right now: push the id onto
//!   the loop's lock-free queue and unpark the loop (see [`crate::remote`]).
//!
//! A waker that outlives its task finds a different (or no) task under its id and does
//! nothing; one that outlives its loop finds the remote queue closed and does nothing.
//!
//! # Safety
//!
//! The poll waker's data pointer points at a `PollWaker` that lives on the stack for the
//! whole of [`PollWaker::with_waker`]; the `Waker` built from it is only lent out (`&Waker`)
//! inside that call and never dropped through the vtable. So every vtable call made through
//! it — including one from a scoped thread during the poll — finds the `PollWaker` alive.
//! Its `cache` is a `Cell` and so not `Sync`: it is touched only after checking that the
//! calling thread is running this very loop, which is the thread that owns the cache.

use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::task::{RawWaker, RawWakerVTable, Waker};

use futures_task::ArcWake;

use crate::context;
use crate::remote::Remote;
use crate::task::TaskId;

/// The owned waker's data: which loop, which task.
pub(crate) struct TaskWaker {
    remote: Arc<Remote>,
    id: TaskId,
}

impl ArcWake for TaskWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        wake(&arc_self.remote, arc_self.id);
    }
}

/// Schedules task `id` of the loop behind `remote`, by whichever path is open from here.
pub(crate) fn wake(remote: &Arc<Remote>, id: TaskId) {
    let woke_locally =
        context::with_current(|core| core.is_same_loop(remote) && core.schedule_local(id))
            .unwrap_or(false);
    if !woke_locally {
        remote.wake(id);
    }
}

/// The waker a task is polled with; see the module docs.
pub(crate) struct PollWaker<'a> {
    remote: &'a Arc<Remote>,
    id: TaskId,
    /// The task's cached owned waker. Only touched on the thread running this loop.
    cache: &'a Cell<Option<Waker>>,
}

static POLL_WAKER_VTABLE: RawWakerVTable = RawWakerVTable::new(
    poll_waker_clone,
    poll_waker_wake,
    poll_waker_wake,
    poll_waker_drop,
);

impl<'a> PollWaker<'a> {
    pub(crate) fn new(
        remote: &'a Arc<Remote>,
        id: TaskId,
        cache: &'a Cell<Option<Waker>>,
    ) -> PollWaker<'a> {
        PollWaker { remote, id, cache }
    }

    /// Lends `f` a `Waker` backed by this `PollWaker`.
    #[inline]
    pub(crate) fn with_waker<R>(&self, f: impl FnOnce(&Waker) -> R) -> R {
        let data = (self as *const PollWaker<'_>).cast::<()>();
        // SAFETY: `data` points at `self`, alive for this whole call; the waker is only lent
        // to `f` by reference and never dropped through the vtable (`ManuallyDrop`), and the
        // vtable's functions uphold `RawWaker`'s contract (module docs, "Safety").
        let waker =
            ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(data, &POLL_WAKER_VTABLE)) });
        f(&waker)
    }

    /// An owned waker for this task: the cached one when called on the loop's thread,
    /// a fresh one (not cached) from any other thread.
    fn to_owned_waker(&self) -> Waker {
        let on_loop_thread =
            context::with_current(|core| core.is_same_loop(self.remote)).unwrap_or(false);
        if !on_loop_thread {
            return self.new_owned_waker();
        }
        let owned = self.cache.take().unwrap_or_else(|| self.new_owned_waker());
        self.cache.set(Some(owned.clone()));
        owned
    }

    fn new_owned_waker(&self) -> Waker {
        futures_task::waker(Arc::new(TaskWaker {
            remote: Arc::clone(self.remote),
            id: self.id,
        }))
    }
}

/// # Safety
///
/// `data` must come from [`PollWaker::with_waker`], called while that call is running.
unsafe fn poll_waker_clone(data: *const ()) -> RawWaker {
    // SAFETY: the caller passes the pointer `with_waker` made, whose target outlives every
    // use of the borrowed waker (module docs, "Safety").
    let poll_waker = unsafe { &*data.cast::<PollWaker<'_>>() };
    let owned = ManuallyDrop::new(poll_waker.to_owned_waker());
    RawWaker::new(owned.data(), owned.vtable())
}

/// # Safety
///
/// As for [`poll_waker_clone`].
unsafe fn poll_waker_wake(data: *const ()) {
    // SAFETY: as in `poll_waker_clone`.
    let poll_waker = unsafe { &*data.cast::<PollWaker<'_>>() };
    wake(poll_waker.remote, poll_waker.id);
}

/// The borrowed waker owns nothing.
unsafe fn poll_waker_drop(_data: *const ()) {}
