//! A task: one allocation holding its waker target, its header, its future and, later, its
//! outcome.
//!
//! # Who owns what
//!
//! * The loop's task table holds a [`TaskRef`] while the task is live (not yet done), and
//!   each ready-queue entry holds another while the task waits there.
//! * Each [`Task<T>`](crate::Task) handle holds a typed reference to the same cell.
//! * Both are counted in the cell's header, on the loop's thread. When the last goes, the
//!   future or outcome is dropped there and then (see `cell`).
//! * The task's wakers point at the cell too, and keep its *memory* alive, but only the
//!   thread-safe part they read (which loop, which task): a waker never keeps the `!Send`
//!   future or outcome alive, and can be used and dropped on any thread (see
//!   [`crate::waker`]).
//!
//! # The life of a task
//!
//! ```text
//!               create_task                  Core::run_task
//!  (new) ─────────────────────▶ Idle ─────────────────────────▶ Running
//!                               ▲  │                              │  │
//!                               │  └─ cancel applied ─┐   Pending │  │ Ready / panic
//!                               └─────────────────────┼───────────┘  ▼
//!                                                     └────────▶ Done(Value | Panicked
//!                                                                     | Cancelled)
//! ```
//!
//! Whether an `Idle` task is in the ready queue is kept in its header (`queued`), so a task
//! is queued at most once however often it is woken. `cancel()` only sets
//! `cancel_requested` and wakes the task: the loop applies the cancellation the next time
//! it would poll the task (or right after the poll during which the task cancelled itself),
//! by dropping the future in place.
//!
//! # Who touches the future and the outcome
//!
//! They share the cell's `body`, and the header's `state` says which is there. The loop
//! polls or drops the future only after marking the task `Running`; a handle takes the
//! outcome only once `state` says `Done`, when the loop no longer touches the body. User
//! code that runs during a poll or a drop (and asks its own handle for the outcome)
//! therefore sees `state != Done` and keeps out. `cell`'s module docs give the full rules.

mod cache;
mod cell;
mod contain;
mod error;
mod extras;
mod handle;

pub(crate) use cache::{CellCache, RETAINED_BYTES};
pub(crate) use cell::{header_of, new_task, PollOutcome, TaskRef, TaskVTable, PREFIX_BYTES};
pub(crate) use contain::contain;
pub use error::TaskError;
pub use extras::DoneCallbackId;
pub use handle::Task;

use std::fmt;

/// The identity of a task: unique within its loop, never reused.
///
/// The number is the `N` of the default name `Task-N`; the slot says where the loop keeps
/// the task. Lookups compare both, so a stale id cannot reach the slot's next tenant.
///
/// # Examples
///
/// ```
/// looplet::run(async {
///     let first = looplet::create_task(async {});
///     let second = looplet::create_task(async {});
///     assert_ne!(first.id(), second.id());
///     assert_eq!(second.id().number(), 2);
///     assert_eq!(second.id().to_string(), "Task-2");
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId {
    pub(crate) slot: u32,
    pub(crate) number: u64,
}

impl TaskId {
    /// The id reserved for the future passed to `run` itself.
    pub(crate) const MAIN: TaskId = TaskId {
        slot: u32::MAX,
        number: 0,
    };

    /// The task's number: 1 for the loop's first task, then increasing.
    pub fn number(&self) -> u64 {
        self.number
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({})", self.number)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == TaskId::MAIN {
            // Only the loop's trace ever shows this id: the future given to `run`.
            return f.write_str("main");
        }
        write!(f, "Task-{}", self.number)
    }
}

/// Where a task is in its life; see the diagram in the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskState {
    /// Waiting to be polled, queued or not. The loop may poll or cancel it.
    Idle,
    /// Inside `poll` (or being dropped by a cancellation) right now.
    Running,
    /// Finished; the outcome is stored and the future is gone.
    Done(Completion),
}

/// How a task finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Completion {
    Value,
    Panicked,
    Cancelled,
}
