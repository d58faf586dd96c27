//! `Task<T>`: the handle `create_task` returns.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::cell::{CellRef, JoinCell};
use super::{Completion, DoneCallbackId, TaskError, TaskId, TaskState};

/// A handle to a task running on a looplet loop (asyncio's `Task`).
///
/// Awaiting it gives the task's output, or a [`TaskError`] saying it was cancelled or
/// panicked. Dropping it *detaches* the task: the loop keeps the task and runs it to the
/// end. A `Task` is `!Send`: it belongs to its loop's thread.
///
/// # Examples
///
/// ```
/// use looplet::{create_task, run};
///
/// let total = run(async {
///     let task = create_task(async { 40 + 2 });
///     assert!(!task.is_done());
///     task.await.unwrap()
/// });
/// assert_eq!(total, 42);
/// ```
///
/// # Cancellation
///
/// Dropping the handle does *not* cancel the task; call [`cancel`](Task::cancel). Cancelling
/// a task that awaits this handle does not cancel this task either — use a `TaskGroup`
/// when children must not outlive their parent.
#[must_use = "dropping a Task detaches it; .await it to get its output"]
pub struct Task<T> {
    cell: CellRef<dyn JoinCell<T>>,
}

impl<T> Task<T> {
    pub(crate) fn from_cell(cell: CellRef<dyn JoinCell<T>>) -> Task<T> {
        Task { cell }
    }

    /// The task's id, unique within its loop.
    pub fn id(&self) -> TaskId {
        self.cell.waker_target().id()
    }

    /// The task's name: the one given to [`TaskBuilder::name`](crate::TaskBuilder::name), or `Task-N`.
    pub fn name(&self) -> Cow<'_, str> {
        self.cell.name()
    }

    /// Whether the task has finished: with a value, a panic, or by cancellation.
    pub fn is_done(&self) -> bool {
        self.cell.header().is_done()
    }

    /// Whether the task finished by being cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cell.header().state.get() == TaskState::Done(Completion::Cancelled)
    }

    /// Whether the task finished by panicking.
    pub fn is_panicked(&self) -> bool {
        self.cell.header().state.get() == TaskState::Done(Completion::Panicked)
    }

    /// Asks the loop to cancel the task. Returns whether the task was still pending (a
    /// finished task cannot be cancelled).
    ///
    /// The loop applies the request by dropping the task's future the next time it would
    /// poll it: a task cancelled before its first poll never runs, and a task that cancels
    /// itself stops at its next suspension. Its done callbacks then run with the task
    /// cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, run};
    ///
    /// run(async {
    ///     let task = create_task(async { unreachable!("never polled") });
    ///     assert!(task.cancel());
    ///     assert!(task.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        let header = self.cell.header();
        if header.is_done() {
            return false;
        }
        if !header.cancel_requested.replace(true) {
            // A handle lives on its loop's thread, so the local path is open whenever the
            // loop can be found; otherwise the remote queue reaches it (and does nothing if
            // the loop is gone).
            let target = self.cell.waker_target();
            match crate::context::loop_owning(target.remote()) {
                Some(core) => core.schedule(target),
                None => target.wake_remotely(),
            }
        }
        true
    }

    /// A `Send + Sync` handle that cancels this task from any thread (tokio's
    /// `AbortHandle`).
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, run};
    ///
    /// run(async {
    ///     let task = create_task(std::future::pending::<()>());
    ///     let canceller = task.cancel_handle();
    ///     std::thread::spawn(move || canceller.cancel()).join().unwrap();
    ///     assert!(task.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    #[doc(alias = "abort_handle")]
    pub fn cancel_handle(&self) -> crate::CancelHandle {
        let target = self.cell.waker_target();
        crate::CancelHandle::new(target.remote().clone(), target.id())
    }

    /// Takes the outcome without waiting (asyncio's `Task.result()`): the value, or why
    /// there is none. Reading before the task is done gives an error for which
    /// [`TaskError::is_not_done`] is true, never a wait. The outcome can be taken once.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, run, yield_now};
    ///
    /// run(async {
    ///     let task = create_task(async { "value" });
    ///     assert!(task.result().unwrap_err().is_not_done());
    ///     yield_now().await;
    ///     assert_eq!(task.result().unwrap(), "value");
    /// });
    /// ```
    pub fn result(&self) -> Result<T, TaskError> {
        self.cell.take_outcome()
    }

    /// Runs `callback` once the task is done, whatever the outcome.
    ///
    /// Callbacks never run inline: the loop runs them right after the task finishes, in
    /// the order they were added. One added to a task that is already done is queued and
    /// runs at the end of the loop's current batch, after every task that was ready in it
    /// (asyncio's `call_soon`). A callback may read the outcome through the handle it is
    /// given. A panicking callback is reported on stderr and the loop goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use looplet::{create_task, run, yield_now};
    ///
    /// let seen = Rc::new(Cell::new(0));
    /// let sink = seen.clone();
    /// run(async move {
    ///     let task = create_task(async { 7 });
    ///     task.add_done_callback(move |task| sink.set(task.result().unwrap()));
    ///     yield_now().await;
    /// });
    /// assert_eq!(seen.get(), 7);
    /// ```
    pub fn add_done_callback(&self, callback: impl FnOnce(&Task<T>) + 'static) -> DoneCallbackId {
        self.cell
            .add_done_callback(self.cell.base(), Box::new(callback))
    }

    /// Removes a done callback that has not run yet (asyncio's `remove_done_callback`);
    /// returns whether it was still waiting. A callback added after the task was done is
    /// already queued to run and cannot be removed.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, run};
    ///
    /// run(async {
    ///     let task = create_task(async { 1 });
    ///     let first = task.add_done_callback(|_| unreachable!("removed"));
    ///     let _second = task.add_done_callback(|task| assert!(task.is_done()));
    ///     assert!(task.remove_done_callback(first));
    ///     assert!(!task.remove_done_callback(first), "removed once");
    ///     assert_eq!(task.await.unwrap(), 1);
    /// });
    /// ```
    pub fn remove_done_callback(&self, id: DoneCallbackId) -> bool {
        self.cell.remove_done_callback(id)
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.cell.poll_join(cx)
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.name())
            .field("state", &self.cell.header().state.get())
            .finish()
    }
}
