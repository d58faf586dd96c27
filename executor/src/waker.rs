//! Wakers: `Send + Sync`, with a fast path when the wake happens on the loop's own thread.
//!
//! Every task owns one `Arc<TaskWaker>` naming its loop (through the loop's [`Remote`]) and
//! its [`TaskId`]. The loop polls with a *borrowed* waker (`waker_ref`), so a future that
//! only calls `wake_by_ref` costs no reference counting at all; a future that keeps the
//! waker clones the `Arc`.
//!
//! Waking takes one of two paths:
//!
//! * **local** — this thread is running the task's loop: push the id onto the loop's ready
//!   queue directly (a `RefCell` and a `VecDeque`, no atomic read-modify-write);
//! * **remote** — any other thread, or the loop is not running right now: push the id onto
//!   the loop's lock-free queue and unpark the loop (see [`crate::remote`]).
//!
//! A waker that outlives its task finds a different (or no) task under its id and does
//! nothing; one that outlives its loop finds the remote queue closed and does nothing.

use std::sync::Arc;

use futures_task::ArcWake;

use crate::context;
use crate::remote::Remote;
use crate::task::TaskId;

pub(crate) struct TaskWaker {
    pub(crate) remote: Arc<Remote>,
    pub(crate) id: TaskId,
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
