//! `TaskError`: why a task's outcome is not a value.
//!
//! A `TaskError` is `Send + Sync + 'static`, so `?` carries it into `anyhow::Error` and
//! `Box<dyn Error + Send + Sync>`. A panic payload is only `Send`; it sits behind a `Mutex`
//! (never locked while shared: it is only taken out, by value) and its message is copied out
//! when the error is made, so reading the message needs no lock.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::sync::{Mutex, PoisonError};

/// Why awaiting (or reading) a task gave no value: it was cancelled, it panicked, it is not
/// done yet, its outcome was already taken, or awaiting it could never end (a task awaiting
/// itself, or a task whose loop is not running).
///
/// # Examples
///
/// ```
/// looplet::run(async {
///     let task = looplet::create_task(async { panic!("boom") });
///     let error = task.await.unwrap_err();
///     assert!(error.is_panic());
///     assert_eq!(error.panic_message(), Some("boom"));
/// });
/// ```
pub struct TaskError {
    // Boxed: errors are rare, and a small `TaskError` keeps every task's cell small.
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    task: String,
}

enum Kind {
    Cancelled,
    Panicked {
        /// `Mutex` only to make the error `Sync`; see the module docs.
        payload: Mutex<Box<dyn Any + Send + 'static>>,
        message: Option<String>,
    },
    NotDone,
    Taken,
    AwaitedItself,
    LoopNotRunning,
}

impl TaskError {
    fn new(kind: Kind, task: String) -> TaskError {
        TaskError {
            inner: Box::new(Inner { kind, task }),
        }
    }

    pub(crate) fn cancelled(task: String) -> TaskError {
        TaskError::new(Kind::Cancelled, task)
    }

    pub(crate) fn panicked(task: String, payload: Box<dyn Any + Send + 'static>) -> TaskError {
        let message = panic_message(payload.as_ref()).map(str::to_owned);
        let payload = Mutex::new(payload);
        TaskError::new(Kind::Panicked { payload, message }, task)
    }

    pub(crate) fn awaited_itself(task: String) -> TaskError {
        TaskError::new(Kind::AwaitedItself, task)
    }

    pub(crate) fn loop_not_running(task: String) -> TaskError {
        TaskError::new(Kind::LoopNotRunning, task)
    }

    pub(crate) fn not_done(task: String) -> TaskError {
        TaskError::new(Kind::NotDone, task)
    }

    pub(crate) fn taken(task: String) -> TaskError {
        TaskError::new(Kind::Taken, task)
    }

    /// Whether the task was cancelled before it finished.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, run};
    ///
    /// run(async {
    ///     let task = create_task(std::future::pending::<()>());
    ///     task.cancel();
    ///     assert!(task.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.inner.kind, Kind::Cancelled)
    }

    /// Whether the task panicked; [`into_panic`](TaskError::into_panic) hands the payload back.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, run};
    ///
    /// run(async {
    ///     // The panic stays inside the task: the awaiting code gets it as an error.
    ///     let error = create_task(async { panic!("boom") }).await.unwrap_err();
    ///     assert!(error.is_panic());
    ///     assert!(!error.is_cancelled());
    /// });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.inner.kind, Kind::Panicked { .. })
    }

    /// Whether the outcome was asked for before the task finished.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, run};
    ///
    /// run(async {
    ///     let task = create_task(async { 1 });
    ///     // Not polled yet: `result` reports that instead of waiting.
    ///     assert!(task.result().unwrap_err().is_not_done());
    /// });
    /// ```
    pub fn is_not_done(&self) -> bool {
        matches!(self.inner.kind, Kind::NotDone)
    }

    /// Whether the outcome had already been taken (by `.await` or [`Task::result`](crate::Task::result)).
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, run, yield_now};
    ///
    /// run(async {
    ///     let task = create_task(async { 1 });
    ///     yield_now().await;
    ///     assert_eq!(task.result().unwrap(), 1);
    ///     assert!(task.result().unwrap_err().is_taken()); // an outcome is taken once
    /// });
    /// ```
    pub fn is_taken(&self) -> bool {
        matches!(self.inner.kind, Kind::Taken)
    }

    /// Whether a task awaited its own handle, which could never end (asyncio: "Task cannot
    /// await on itself").
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use looplet::{create_task, run, Task};
    ///
    /// run(async {
    ///     let slot: Rc<RefCell<Option<Task<()>>>> = Rc::default();
    ///     let me = slot.clone();
    ///     let task = create_task(async move {
    ///         let own = me.borrow_mut().take().unwrap();
    ///         assert!(own.await.unwrap_err().is_self_await());
    ///     });
    ///     *slot.borrow_mut() = Some(task);
    ///     looplet::yield_now().await;
    /// });
    /// ```
    pub fn is_self_await(&self) -> bool {
        matches!(self.inner.kind, Kind::AwaitedItself)
    }

    /// Whether the task was awaited where its loop is not running — outside any loop, in
    /// another `Runner`'s loop, or between two `Runner::run` calls — so it could never
    /// finish. Await it inside its own `Runner::run` instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, Runner};
    ///
    /// let mut first = Runner::new();
    /// let task = first.run(async { create_task(std::future::pending::<()>()) });
    /// let mut second = Runner::new();
    /// let error = second.run(task).unwrap_err(); // `first` is not running: no hang
    /// assert!(error.is_loop_not_running());
    /// ```
    pub fn is_loop_not_running(&self) -> bool {
        matches!(self.inner.kind, Kind::LoopNotRunning)
    }

    /// The name of the task this error is about.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, TaskBuilder};
    ///
    /// run(async {
    ///     let task = TaskBuilder::new().name("fetcher").spawn(std::future::pending::<()>());
    ///     task.cancel();
    ///     assert_eq!(task.await.unwrap_err().task_name(), "fetcher");
    /// });
    /// ```
    pub fn task_name(&self) -> &str {
        &self.inner.task
    }

    /// The panic's message, when the task panicked with a string.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, run};
    ///
    /// run(async {
    ///     // A formatted panic carries a `String`; a literal one a `&str`: both are read.
    ///     let error = create_task(async { panic!("step {} failed", 3) }).await.unwrap_err();
    ///     assert_eq!(error.panic_message(), Some("step 3 failed"));
    /// });
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &self.inner.kind {
            Kind::Panicked { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// The panic payload, to resume it with `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// Panics if the task did not panic; check [`is_panic`](TaskError::is_panic) first, or
    /// use [`try_into_panic`](TaskError::try_into_panic).
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, run};
    ///
    /// let error = run(async { create_task(async { panic!("boom") }).await.unwrap_err() });
    /// let payload = error.into_panic(); // or: std::panic::resume_unwind(error.into_panic())
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(error) => panic!("TaskError::into_panic called on an error that is not a panic ({error}); check is_panic() first"),
        }
    }

    /// The panic payload, or the error itself when the task did not panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, run};
    ///
    /// run(async {
    ///     let task = create_task(std::future::pending::<()>());
    ///     task.cancel();
    ///     let error = task.await.unwrap_err();
    ///     // Not a panic: the error comes back unchanged instead of panicking.
    ///     assert!(error.try_into_panic().unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        let Inner { kind, task } = *self.inner;
        match kind {
            Kind::Panicked { payload, .. } => {
                Ok(payload.into_inner().unwrap_or_else(PoisonError::into_inner))
            }
            kind => Err(TaskError::new(kind, task)),
        }
    }
}

/// The message of a panic payload that is a `&str` or a `String`.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let task = &self.inner.task;
        match &self.inner.kind {
            Kind::Cancelled => write!(f, "{task} was cancelled"),
            Kind::Panicked { message, .. } => match message {
                Some(message) => write!(f, "{task} panicked: {message}"),
                None => write!(f, "{task} panicked"),
            },
            Kind::NotDone => write!(
                f,
                "{task} is not done yet: .await the task, or check is_done() before reading its result"
            ),
            Kind::Taken => write!(
                f,
                "the outcome of {task} was already taken (by .await or result()); it can be taken once"
            ),
            Kind::AwaitedItself => write!(
                f,
                "{task} cannot await its own handle: it would wait for itself forever"
            ),
            Kind::LoopNotRunning => write!(
                f,
                "{task} belongs to a looplet loop that is not running, so awaiting it would \
                 never end: await it inside that loop's Runner::run"
            ),
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.inner.kind {
            Kind::Cancelled => "Cancelled",
            Kind::Panicked { .. } => "Panicked",
            Kind::NotDone => "NotDone",
            Kind::Taken => "Taken",
            Kind::AwaitedItself => "AwaitedItself",
            Kind::LoopNotRunning => "LoopNotRunning",
        };
        f.debug_struct("TaskError")
            .field("kind", &kind)
            .field("task", &self.inner.task)
            .field("message", &self.panic_message())
            .finish()
    }
}

impl Error for TaskError {}
