//! `Handle`: submit work to a loop from any thread (asyncio's `run_coroutine_threadsafe`).
//!
//! A handle holds only the loop's [`Remote`]: the lock-free job queue and the unpark. A
//! submitted future travels as a job, becomes an ordinary task when the loop drains its
//! remote queue, and reports its outcome through a [`RemoteTask`] — a one-shot slot behind
//! a `Mutex` that can be awaited (on any executor) or waited for with a blocking
//! [`join`](RemoteTask::join). If the loop closes first, the job is dropped and the waiter
//! learns the task was cancelled: nothing is lost silently and nothing hangs.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_task::{FutureObj, Spawn, SpawnError};

use crate::remote::Remote;
use crate::{context, CancelHandle, TaskError};

/// A `Send + Clone` handle to a loop, for other threads.
///
/// Get one from [`Runner::handle`](crate::Runner::handle), or from [`handle`] inside a
/// running loop.
///
/// # Examples
///
/// ```
/// use looplet::{handle, run};
///
/// let sum = run(async {
///     let handle = handle();
///     let worker = std::thread::spawn(move || handle.spawn(async { 20 + 22 }));
///     worker.join().unwrap().await.unwrap()
/// });
/// assert_eq!(sum, 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    remote: Arc<Remote>,
}

/// A handle to the running loop; see [`Handle`].
///
/// # Examples
///
/// ```
/// looplet::run(async {
///     let handle = looplet::handle();
///     assert!(!handle.is_closed());
/// });
/// ```
///
/// # Panics
///
/// Panics when no looplet loop is running on this thread.
#[track_caller]
pub fn handle() -> Handle {
    Handle::new(context::expect_current("looplet::handle").remote().clone())
}

impl Handle {
    pub(crate) fn new(remote: Arc<Remote>) -> Handle {
        Handle { remote }
    }

    /// Runs `future` as a task on the loop and returns a handle to its outcome. Works from
    /// any thread, including the loop's own.
    ///
    /// If the loop has closed (or closes before the task finishes) the outcome is an error
    /// for which [`TaskError::is_cancelled`] is true.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::Runner;
    ///
    /// let mut runner = Runner::new();
    /// let handle = runner.handle();
    /// let remote = handle.spawn(async { 2 + 2 }); // from the loop's own thread, too
    /// assert_eq!(runner.run(remote).unwrap(), 4);
    /// runner.close();
    /// assert!(handle.spawn(async { 0 }).join().unwrap_err().is_cancelled()); // too late
    /// ```
    pub fn spawn<F>(&self, future: F) -> RemoteTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let slot = Arc::new(OutcomeSlot {
            state: Mutex::new(SlotState {
                outcome: None,
                waker: None,
                task: None,
                cancel_requested: false,
                finished: false,
            }),
            filled: Condvar::new(),
        });
        let completer = Completer {
            slot: Some(Arc::clone(&slot)),
        };
        let job_slot = Arc::clone(&slot);
        let _ = self.remote.submit(Box::new(move || {
            let task = crate::create_task(future);
            let cancel_requested = {
                let mut state = job_slot.lock();
                state.task = Some(task.cancel_handle());
                state.cancel_requested
            };
            if cancel_requested {
                task.cancel();
            }
            task.add_done_callback(move |task| completer.complete(task.result()));
        }));
        RemoteTask {
            slot,
            remote: Arc::clone(&self.remote),
        }
    }

    /// Whether the loop has closed (its runner was closed or dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::Runner;
    ///
    /// let runner = Runner::new();
    /// let handle = runner.handle();
    /// assert!(!handle.is_closed());
    /// drop(runner);
    /// assert!(handle.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.remote.is_closed()
    }
}

impl Spawn for Handle {
    fn spawn_obj(&self, future: FutureObj<'static, ()>) -> Result<(), SpawnError> {
        self.remote
            .submit(Box::new(move || drop(crate::create_task(future))))
            .map_err(|()| SpawnError::shutdown())
    }

    fn status(&self) -> Result<(), SpawnError> {
        if self.remote.is_closed() {
            Err(SpawnError::shutdown())
        } else {
            Ok(())
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The outcome of a future submitted with [`Handle::spawn`]: await it, or [`join`] it.
///
/// [`join`]: RemoteTask::join
///
/// # Examples
///
/// Waiting for the outcome from the submitting thread, with a blocking `join`:
///
/// ```
/// use looplet::{Runner, yield_now};
///
/// let mut runner = Runner::new();
/// let handle = runner.handle();
/// let submitter = std::thread::spawn(move || handle.spawn(async { 6 * 7 }).join());
/// // The loop runs the task while the submitter waits.
/// runner.run(async {
///     while looplet::stats().spawned == 0 {
///         yield_now().await;
///     }
///     yield_now().await;
/// });
/// assert_eq!(submitter.join().unwrap().unwrap(), 42);
/// ```
#[must_use = "the task runs anyway; keep the RemoteTask to learn its outcome"]
pub struct RemoteTask<T> {
    slot: Arc<OutcomeSlot<T>>,
    remote: Arc<Remote>,
}

struct OutcomeSlot<T> {
    state: Mutex<SlotState<T>>,
    filled: Condvar,
}

struct SlotState<T> {
    outcome: Option<Result<T, TaskError>>,
    waker: Option<Waker>,
    /// The task, once the loop has made it from the submitted job.
    task: Option<CancelHandle>,
    /// Set by [`RemoteTask::cancel`]; the job reads it when it makes the task.
    cancel_requested: bool,
    /// The outcome has come in (it may have been taken since).
    finished: bool,
}

impl<T> OutcomeSlot<T> {
    /// Poisoning cannot leave the slot half-written (every critical section is a plain
    /// assignment), so a poisoned lock is simply used.
    fn lock(&self) -> MutexGuard<'_, SlotState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T> RemoteTask<T> {
    /// Asks the loop to cancel the task, from any thread; returns whether it was still
    /// pending (its outcome not in yet). A task not made yet (its job still in the remote
    /// queue) is cancelled before its first poll.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::Runner;
    ///
    /// let mut runner = Runner::new();
    /// let handle = runner.handle();
    /// let remote = std::thread::spawn(move || {
    ///     let remote = handle.spawn(std::future::pending::<()>());
    ///     assert!(remote.cancel());
    ///     remote
    /// })
    /// .join()
    /// .unwrap();
    /// assert!(runner.run(remote).unwrap_err().is_cancelled());
    /// ```
    #[doc(alias = "abort")]
    pub fn cancel(&self) -> bool {
        let task = {
            let mut state = self.slot.lock();
            if state.finished {
                return false;
            }
            state.cancel_requested = true;
            state.task.clone()
        };
        if let Some(task) = task {
            task.cancel();
        }
        true
    }

    /// Blocks this thread until the task is done, and returns its outcome.
    ///
    /// # Panics
    ///
    /// Panics when called on the thread the task's loop runs on (unless that loop has
    /// closed): waiting there would block the very loop that must run the task. `.await`
    /// it instead.
    #[track_caller]
    pub fn join(self) -> Result<T, TaskError> {
        assert!(
            !self.remote.is_loop_thread() || self.remote.is_closed(),
            "RemoteTask::join would block the looplet loop that runs the task; .await it instead"
        );
        let mut state = self.slot.lock();
        loop {
            if let Some(outcome) = state.outcome.take() {
                return outcome;
            }
            state = self
                .slot
                .filled
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl<T> Future for RemoteTask<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.slot.lock();
        match state.outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for RemoteTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteTask").finish_non_exhaustive()
    }
}

/// Fills a [`RemoteTask`]'s slot once; if dropped unfilled (the loop closed before the task
/// ran or finished) it fills it with a cancellation.
struct Completer<T> {
    slot: Option<Arc<OutcomeSlot<T>>>,
}

impl<T> Completer<T> {
    fn complete(mut self, outcome: Result<T, TaskError>) {
        if let Some(slot) = self.slot.take() {
            fill(&slot, outcome);
        }
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            let error = TaskError::cancelled("a task submitted through a Handle".to_owned());
            fill(&slot, Err(error));
        }
    }
}

fn fill<T>(slot: &OutcomeSlot<T>, outcome: Result<T, TaskError>) {
    let waker = {
        let mut state = slot.lock();
        state.outcome = Some(outcome);
        state.finished = true;
        state.waker.take()
    };
    slot.filled.notify_all();
    if let Some(waker) = waker {
        waker.wake();
    }
}
