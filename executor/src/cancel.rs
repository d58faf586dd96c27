//! `CancelHandle`: cancel a task from any thread (tokio's `AbortHandle`).
//!
//! A [`Task`](crate::Task) is `!Send`: it belongs to its loop's thread. A `CancelHandle`
//! names the same task by its loop's [`Remote`] and the task's [`TaskId`] only, so it is
//! `Send + Sync` and cheap to clone. Cancelling through it is the same request as
//! [`Task::cancel`](crate::Task::cancel): on the loop's own thread, while the loop runs, it
//! is made at once; from anywhere else it travels to the loop as a job on the remote queue
//! and is made when the loop next drains it. A task that has finished by then, or whose
//! loop has closed, is left as it is: ids are never reused, so the request cannot reach
//! another task.

use std::fmt;
use std::sync::Arc;

use crate::context;
use crate::remote::Remote;
use crate::task::TaskId;

/// A `Send + Sync` handle that cancels one task from any thread; get one from
/// [`Task::cancel_handle`](crate::Task::cancel_handle).
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
#[doc(alias = "AbortHandle")]
#[derive(Clone)]
pub struct CancelHandle {
    remote: Arc<Remote>,
    id: TaskId,
}

impl CancelHandle {
    pub(crate) fn new(remote: Arc<Remote>, id: TaskId) -> CancelHandle {
        CancelHandle { remote, id }
    }

    /// Asks the task's loop to cancel the task, from any thread; see
    /// [`Task::cancel`](crate::Task::cancel) for what the loop then does. A task that is
    /// done by then, or whose loop has closed, is left as it is.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, Runner};
    ///
    /// let mut runner = Runner::new();
    /// let task = runner.run(async { create_task(std::future::pending::<()>()) });
    /// let canceller = task.cancel_handle();
    /// std::thread::spawn(move || canceller.cancel()).join().unwrap();
    /// // The request waits in the remote queue until the loop runs again.
    /// assert!(runner.run(task).unwrap_err().is_cancelled());
    /// ```
    #[doc(alias = "abort")]
    pub fn cancel(&self) {
        let id = self.id;
        let made_here = context::with_current(|core| {
            core.is_same_loop(&self.remote) && core.request_cancel(id)
        });
        if made_here != Some(true) {
            // A closed loop has no task left to cancel: a refused job is fine.
            let _ = self.remote.submit(Box::new(move || {
                let _ = context::with_current(|core| core.request_cancel(id));
            }));
        }
    }

    /// The id of the task this handle cancels.
    ///
    /// # Examples
    ///
    /// ```
    /// looplet::run(async {
    ///     let task = looplet::create_task(async {});
    ///     assert_eq!(task.cancel_handle().id(), task.id());
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.id
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle")
            .field("task", &self.id)
            .finish()
    }
}
