//! Creating tasks on the running loop: `create_task`, `TaskBuilder`, `yield_now`, `spawner`.

use std::future::Future;
use std::pin::Pin;
use std::rc::Weak;
use std::task::{Context, Poll};

use futures_task::{FutureObj, LocalFutureObj, LocalSpawn, Spawn, SpawnError};

use crate::context;
use crate::event_loop::Core;
use crate::stats::LoopStats;
use crate::Task;

/// Schedules `future` to run as a task on the running loop and returns its handle
/// (asyncio's `create_task`). Any `'static` future will do; it need not be `Send`.
///
/// The task starts at the loop's next turn, after the tasks already ready (FIFO).
///
/// # Panics
///
/// Panics when no looplet loop is running on this thread.
///
/// # Examples
///
/// ```
/// use looplet::{create_task, run};
///
/// run(async {
///     let a = create_task(async { 1 });
///     let b = create_task(async { 2 });
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// });
/// ```
#[track_caller]
pub fn create_task<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
{
    context::expect_current("looplet::create_task").spawn(None, false, future)
}

/// Creates a task with settings: its name, and whether it starts eagerly.
///
/// # Examples
///
/// ```
/// use looplet::{run, TaskBuilder};
///
/// run(async {
///     let task = TaskBuilder::new().name("fetcher").spawn(async {});
///     assert_eq!(task.name(), "fetcher");
/// });
/// ```
#[derive(Debug, Default, Clone)]
pub struct TaskBuilder {
    name: Option<Box<str>>,
    eager: bool,
}

impl TaskBuilder {
    /// Default settings: the task is named `Task-N`.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, TaskBuilder};
    ///
    /// run(async {
    ///     let task = TaskBuilder::new().spawn(async {});
    ///     assert_eq!(task.name(), task.id().to_string()); // "Task-1"
    /// });
    /// ```
    pub fn new() -> TaskBuilder {
        TaskBuilder::default()
    }

    /// Names the task (shown in errors, traces and debug warnings).
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, TaskBuilder};
    ///
    /// run(async {
    ///     let task = TaskBuilder::new().name("parser").spawn(async { panic!("bad input") });
    ///     let error = task.await.unwrap_err();
    ///     assert_eq!(error.to_string(), "parser panicked: bad input");
    /// });
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> TaskBuilder {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// Starts the task eagerly (Python 3.12's eager tasks, here per task): `spawn` polls
    /// the future at once, inside the caller's turn, up to its first suspension; a future
    /// that never suspends is done before `spawn` returns. From its first suspension on it
    /// is an ordinary task, woken and polled in FIFO order.
    ///
    /// Ordering: the eager task's first step runs *before* the code after `spawn` in the
    /// caller, and before every task already in the ready queue — unlike `create_task`,
    /// whose task starts at the loop's next turn, after them. It runs as a task of its own
    /// ([`current_task_id`] names it), nested in the caller's poll like a function call.
    /// A loop that is closing starts no task eagerly.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use looplet::{run, yield_now, TaskBuilder};
    ///
    /// run(async {
    ///     let log = Rc::new(RefCell::new(Vec::new()));
    ///     let inner = log.clone();
    ///     let task = TaskBuilder::new().eager().spawn(async move {
    ///         inner.borrow_mut().push("first step, inside spawn");
    ///         yield_now().await;
    ///         inner.borrow_mut().push("second step, at a later turn");
    ///     });
    ///     log.borrow_mut().push("back in the caller");
    ///     task.await.unwrap();
    ///     assert_eq!(
    ///         *log.borrow(),
    ///         ["first step, inside spawn", "back in the caller", "second step, at a later turn"]
    ///     );
    ///     // A future that never suspends is done before `spawn` returns.
    ///     assert!(TaskBuilder::new().eager().spawn(async { 1 }).is_done());
    /// });
    /// ```
    pub fn eager(mut self) -> TaskBuilder {
        self.eager = true;
        self
    }

    /// Creates the task on the running loop; see [`create_task`] (and [`eager`]).
    ///
    /// [`eager`]: TaskBuilder::eager
    ///
    /// # Panics
    ///
    /// Panics when no looplet loop is running on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, TaskBuilder};
    ///
    /// run(async {
    ///     let task = TaskBuilder::new().name("worker").spawn(async { 21 * 2 });
    ///     assert!(!task.is_done()); // queued: it starts at the loop's next turn
    ///     assert_eq!(task.await.unwrap(), 42);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        context::expect_current("TaskBuilder::spawn").spawn(self.name, self.eager, future)
    }
}

/// Lets the other ready tasks run before this one continues (asyncio's `sleep(0)`).
///
/// # Examples
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use looplet::{create_task, run, yield_now};
///
/// let order = Rc::new(RefCell::new(Vec::new()));
/// let log = order.clone();
/// run(async move {
///     let other = log.clone();
///     let task = create_task(async move { other.borrow_mut().push("task") });
///     log.borrow_mut().push("main before yield");
///     yield_now().await;
///     log.borrow_mut().push("main after yield");
///     task.await.unwrap();
/// });
/// assert_eq!(*order.borrow(), ["main before yield", "task", "main after yield"]);
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[must_use = "yield_now does nothing unless awaited"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The id of the task being polled right now (asyncio's `current_task()`), or `None` when
/// called from the future given to `run`, or with no loop running.
///
/// # Examples
///
/// ```
/// use looplet::{create_task, current_task_id, run};
///
/// run(async {
///     assert_eq!(current_task_id(), None); // the main future is not a task
///     let task = create_task(async { current_task_id() });
///     let id = task.id();
///     assert_eq!(task.await.unwrap(), Some(id));
/// });
/// ```
pub fn current_task_id() -> Option<crate::TaskId> {
    context::with_current(|core| core.current_task()).flatten()
}

/// The name of the task being polled right now (asyncio's `current_task().get_name()`):
/// the one given to [`TaskBuilder::name`], or `Task-N`; `None` when called from the future
/// given to `run`, or with no loop running.
///
/// # Examples
///
/// ```
/// use looplet::{create_task, current_task_name, run, TaskBuilder};
///
/// run(async {
///     assert_eq!(current_task_name(), None);
///     let named = TaskBuilder::new().name("fetcher").spawn(async { current_task_name() });
///     assert_eq!(named.await.unwrap().as_deref(), Some("fetcher"));
///     let unnamed = create_task(async { current_task_name() });
///     assert_eq!(unnamed.await.unwrap().as_deref(), Some("Task-2"));
/// });
/// ```
pub fn current_task_name() -> Option<String> {
    context::with_current(|core| core.current_task().and_then(|id| core.task_name(id))).flatten()
}

/// The running loop's counters; see [`LoopStats`].
///
/// # Examples
///
/// ```
/// looplet::run(async {
///     let task = looplet::create_task(async {});
///     assert_eq!(looplet::stats().live_tasks, 1);
///     task.await.unwrap();
///     assert_eq!(looplet::stats().live_tasks, 0);
/// });
/// ```
///
/// # Panics
///
/// Panics when no looplet loop is running on this thread.
#[track_caller]
pub fn stats() -> LoopStats {
    context::expect_current("looplet::stats").stats()
}

/// A spawner for the running loop, implementing `futures-task`'s [`LocalSpawn`] and
/// [`Spawn`], for generic code written against those traits.
///
/// # Panics
///
/// Panics when no looplet loop is running on this thread.
///
/// # Examples
///
/// ```
/// use futures_task::LocalSpawn;
/// use looplet::{run, spawner, yield_now};
///
/// run(async {
///     let spawner = spawner();
///     spawner.spawn_local_obj(Box::pin(async {}).into()).unwrap();
///     yield_now().await;
/// });
/// ```
#[track_caller]
pub fn spawner() -> LocalSpawner {
    LocalSpawner {
        core: std::rc::Rc::downgrade(&context::expect_current("looplet::spawner")),
    }
}

/// The loop-thread spawner returned by [`spawner`]; it refuses work once its loop closed.
#[derive(Debug, Clone)]
pub struct LocalSpawner {
    core: Weak<Core>,
}

impl LocalSpawner {
    fn spawn_detached<F: Future<Output = ()> + 'static>(
        &self,
        future: F,
    ) -> Result<(), SpawnError> {
        match self.core.upgrade() {
            Some(core) if !core.is_closed() => {
                drop(core.spawn(None, false, future));
                Ok(())
            }
            _ => Err(SpawnError::shutdown()),
        }
    }
}

impl LocalSpawn for LocalSpawner {
    fn spawn_local_obj(&self, future: LocalFutureObj<'static, ()>) -> Result<(), SpawnError> {
        self.spawn_detached(future)
    }

    fn status_local(&self) -> Result<(), SpawnError> {
        match self.core.upgrade() {
            Some(core) if !core.is_closed() => Ok(()),
            _ => Err(SpawnError::shutdown()),
        }
    }
}

impl Spawn for LocalSpawner {
    fn spawn_obj(&self, future: FutureObj<'static, ()>) -> Result<(), SpawnError> {
        self.spawn_detached(future)
    }

    fn status(&self) -> Result<(), SpawnError> {
        self.status_local()
    }
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("stats", &self.stats())
            .finish()
    }
}
