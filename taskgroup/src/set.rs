//! `TaskSet`: background tasks kept alive until they end — asyncio's "keep a strong
//! reference in a set, and `add_done_callback(set.discard)`", made a type — whose outcomes
//! come back in the order the tasks finish (asyncio's `as_completed`, tokio's `JoinSet`).
//!
//! # Who owns what
//!
//! * `SetInner` (behind an `Rc`) holds each live task's handle, by task number in creation
//!   order; the outcomes of the tasks that ended, until taken (`outcomes.rs`); and the wakers
//!   of the [`JoinAll`] and [`JoinNext`] futures waiting on it.
//! * Each task's done callback holds the set *weakly*: it takes the task's outcome, queues
//!   it, and removes the task. That callback is the only way out of the live tasks, so they
//!   are exactly the tasks that have not ended — whatever ended them: a value, a panic,
//!   `cancel_all`, or the `Runner` closing.
//! * Dropping every `TaskSet` handle detaches the live tasks (they run on); it does not
//!   cancel them. Call [`TaskSet::cancel_all`] for that. Outcomes nobody took are reported
//!   then (`outcomes.rs`), and so is the panic of a task that ends after its set is gone.
//! * The cells are borrowed for a few lines at a time, never across a `cancel()`, a waker
//!   call or the drop of an outcome; a removed handle is dropped only after the borrow ends.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use looplet_executor::{create_task, CancelHandle, Task, TaskError, TaskId};

use crate::outcomes::Outcomes;

struct Entry<T> {
    id: TaskId,
    task: Rc<Task<T>>,
}

struct SetInner<T: 'static> {
    /// The tasks that have not ended, by task number.
    live: RefCell<BTreeMap<u64, Entry<T>>>,
    /// The outcomes of the tasks that ended, in the order they ended, until taken.
    outcomes: RefCell<Outcomes<T>>,
    /// `join_all` futures waiting for `live` to empty.
    emptied: RefCell<Vec<Waker>>,
    /// `join_next` futures waiting for an outcome.
    joiners: RefCell<Vec<Waker>>,
}

/// A set of background tasks: each is held until its done callback removes it, and its
/// outcome waits in the set until [`join_next`](TaskSet::join_next) takes it.
///
/// Cheap to clone; clones share one set. Every task of a set returns the same type `T`
/// (`()` unless said otherwise). A task that panics leaves the set like any other; its
/// panic is an outcome for `join_next`. When the `Runner` closes, the tasks still in a set
/// are cancelled and leave it.
///
/// Nothing is lost silently: when the set is dropped, the panics nobody took are reported
/// on stderr, and so are values nobody took (one of them could be an `Err` a worker
/// returned). A set of tasks returning `()` that nobody joins keeps no memory for the tasks
/// that succeeded, however many end.
///
/// # Examples
///
/// Background tasks, kept until they end (asyncio's `background_tasks` set):
///
/// ```
/// use looplet::{run, yield_now, TaskSet};
///
/// let set = TaskSet::new();
/// run(async {
///     set.spawn(async { yield_now().await });
///     set.spawn(async {});
///     assert_eq!(set.len(), 2);
///     set.join_all().await;
///     assert!(set.is_empty());
/// });
/// ```
///
/// Results as tasks finish (asyncio's `as_completed`, tokio's `JoinSet::join_next`):
///
/// ```
/// use std::time::Duration;
/// use looplet::{run, sleep, TaskSet};
///
/// run(async {
///     let set = TaskSet::new();
///     for seconds in [3, 1, 2] {
///         set.spawn(async move {
///             sleep(Duration::from_millis(seconds)).await;
///             seconds
///         });
///     }
///     let mut order = Vec::new();
///     while let Some(outcome) = set.join_next().await {
///         order.push(outcome.unwrap());
///     }
///     assert_eq!(order, [1, 2, 3]);
/// });
/// ```
///
/// A set holds `!Send` task handles, so it stays on its loop's thread:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(looplet::TaskSet::<()>::new());
/// ```
pub struct TaskSet<T: 'static = ()> {
    inner: Rc<SetInner<T>>,
}

impl<T: 'static> TaskSet<T> {
    /// An empty set.
    pub fn new() -> TaskSet<T> {
        TaskSet {
            inner: Rc::new(SetInner {
                live: RefCell::new(BTreeMap::new()),
                outcomes: RefCell::new(Outcomes::new()),
                emptied: RefCell::new(Vec::new()),
                joiners: RefCell::new(Vec::new()),
            }),
        }
    }

    /// Creates a task running `future` on the running loop and keeps it in the set until it
    /// ends (tokio's `JoinSet::spawn`). Returns a handle that cancels it — from any thread —
    /// and tells its [`id`](CancelHandle::id).
    ///
    /// # Panics
    ///
    /// Panics when no looplet loop is running on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, TaskSet};
    ///
    /// run(async {
    ///     let set = TaskSet::new();
    ///     let handle = set.spawn(std::future::pending::<()>());
    ///     assert!(set.contains(handle.id()));
    ///     handle.cancel();
    ///     assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> CancelHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.add(create_task(future))
    }

    /// Keeps `task` in the set until it ends (a task already done leaves at the loop's next
    /// turn); its outcome then waits for [`join_next`](TaskSet::join_next). Returns a
    /// handle that cancels it.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, yield_now, TaskBuilder, TaskSet};
    ///
    /// run(async {
    ///     let set = TaskSet::new();
    ///     let id = set.add(TaskBuilder::new().name("flusher").spawn(yield_now())).id();
    ///     assert!(set.contains(id));
    ///     assert_eq!(set.ids(), [id]);
    ///     assert_eq!(set.names(), ["flusher"]);
    ///     set.join_all().await;
    ///     assert!(!set.contains(id));
    /// });
    /// ```
    pub fn add(&self, task: Task<T>) -> CancelHandle {
        let id = task.id();
        let handle = task.cancel_handle();
        let task = Rc::new(task);
        let entry = Entry {
            id,
            task: Rc::clone(&task),
        };
        self.inner.live.borrow_mut().insert(id.number(), entry);
        // Added after the insert: with no loop left to defer it, the callback runs now.
        let weak = Rc::downgrade(&self.inner);
        task.add_done_callback(move |task| on_done(&weak, task));
        handle
    }

    /// How many tasks in the set have not ended yet. Outcomes waiting for `join_next` are
    /// not counted.
    pub fn len(&self) -> usize {
        self.inner.live.borrow().len()
    }

    /// Whether every task of the set has ended (their outcomes may still wait for
    /// `join_next`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the task with this id is still in the set (has not ended).
    pub fn contains(&self, id: TaskId) -> bool {
        self.inner
            .live
            .borrow()
            .get(&id.number())
            .is_some_and(|entry| entry.id == id)
    }

    /// The ids of the tasks in the set, oldest first.
    pub fn ids(&self) -> Vec<TaskId> {
        let live = self.inner.live.borrow();
        live.values().map(|entry| entry.id).collect()
    }

    /// The names of the tasks in the set, oldest first.
    pub fn names(&self) -> Vec<String> {
        let live = self.inner.live.borrow();
        live.values()
            .map(|entry| entry.task.name().into_owned())
            .collect()
    }

    /// Waits for the next task of the set to end and gives its outcome — its value, or a
    /// [`TaskError`] saying it panicked or was cancelled — in the order the tasks end
    /// (asyncio's `as_completed`, tokio's `JoinSet::join_next`). `None` once every task has
    /// ended and every outcome has been taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, yield_now, TaskSet};
    ///
    /// run(async {
    ///     let set = TaskSet::new();
    ///     set.spawn(async { panic!("worker failed") });
    ///     set.spawn(async { yield_now().await });
    ///     let first = set.join_next().await.unwrap();
    ///     assert_eq!(first.unwrap_err().panic_message(), Some("worker failed"));
    ///     assert!(set.join_next().await.unwrap().is_ok());
    ///     assert!(set.join_next().await.is_none());
    /// });
    /// ```
    ///
    /// # Cancellation
    ///
    /// Dropping the future takes nothing: an outcome stays in the set until a `join_next`
    /// that returns it.
    pub fn join_next(&self) -> JoinNext<T> {
        JoinNext { set: self.clone() }
    }

    /// The outcome of a task that has ended, if one is waiting — without waiting (tokio's
    /// `JoinSet::try_join_next`). Oldest first, like [`join_next`](TaskSet::join_next).
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, yield_now, TaskSet};
    ///
    /// run(async {
    ///     let set = TaskSet::new();
    ///     set.spawn(async { 7 });
    ///     assert!(set.try_join_next().is_none()); // not run yet
    ///     yield_now().await;
    ///     assert_eq!(set.try_join_next().unwrap().unwrap(), 7);
    /// });
    /// ```
    pub fn try_join_next(&self) -> Option<Result<T, TaskError>> {
        self.inner.outcomes.borrow_mut().pop()
    }

    /// Asks the loop to cancel every task in the set; returns how many were still pending.
    ///
    /// # Cancellation
    ///
    /// Cancellation is applied by the loop at its next turn; the tasks leave the set then,
    /// through their done callbacks, and their outcomes (cancelled) wait for `join_next`.
    /// `set.cancel_all(); set.join_all().await` waits for that.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, TaskSet};
    ///
    /// run(async {
    ///     let set = TaskSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     assert_eq!(set.cancel_all(), 1);
    ///     set.join_all().await;
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub fn cancel_all(&self) -> usize {
        let tasks: Vec<Rc<Task<T>>> = {
            let live = self.inner.live.borrow();
            live.values().map(|entry| Rc::clone(&entry.task)).collect()
        };
        tasks.iter().filter(|task| task.cancel()).count()
    }

    /// Waits until every task of the set has ended: those in it now, and any added
    /// meanwhile. Their outcomes stay for [`join_next`](TaskSet::join_next).
    pub fn join_all(&self) -> JoinAll<T> {
        JoinAll { set: self.clone() }
    }
}

/// A task's done callback: its outcome is queued for `join_next`, it leaves the set, and
/// the futures waiting on the set are woken.
fn on_done<T: 'static>(set: &Weak<SetInner<T>>, task: &Task<T>) {
    let Some(inner) = set.upgrade() else {
        // The set is gone, and its done callback counts as the outcome's observer: say
        // what nobody can take any more.
        if task.is_panicked() {
            if let Err(error) = task.result() {
                eprintln!("looplet: background task {error}, after its TaskSet was dropped");
            }
        }
        return;
    };
    let outcome = task.result();
    inner.outcomes.borrow_mut().push(outcome);
    let removed = inner.live.borrow_mut().remove(&task.id().number());
    drop(removed);
    wake_all(&inner.joiners);
    if inner.live.borrow().is_empty() {
        wake_all(&inner.emptied);
    }
}

/// Wakes every waker in `wakers`, with no cell borrowed.
fn wake_all(wakers: &RefCell<Vec<Waker>>) {
    let wakers = std::mem::take(&mut *wakers.borrow_mut());
    for waker in wakers {
        waker.wake();
    }
}

/// Adds `cx`'s waker to `wakers`, unless it is there already.
fn register(wakers: &RefCell<Vec<Waker>>, cx: &Context<'_>) {
    let mut wakers = wakers.borrow_mut();
    if !wakers.iter().any(|waker| waker.will_wake(cx.waker())) {
        wakers.push(cx.waker().clone());
    }
}

impl<T: 'static> Clone for TaskSet<T> {
    fn clone(&self) -> TaskSet<T> {
        TaskSet {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<T: 'static> Default for TaskSet<T> {
    fn default() -> TaskSet<T> {
        TaskSet::new()
    }
}

impl<T: 'static> fmt::Debug for TaskSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet")
            .field("ids", &self.ids())
            .field(
                "outcomes_waiting",
                &!self.inner.outcomes.borrow().is_empty(),
            )
            .finish()
    }
}

/// The future returned by [`TaskSet::join_next`]: the next outcome, or `None` once every
/// task has ended and every outcome has been taken.
#[must_use = "join_next does nothing unless awaited"]
pub struct JoinNext<T: 'static> {
    set: TaskSet<T>,
}

impl<T: 'static> Future for JoinNext<T> {
    type Output = Option<Result<T, TaskError>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &self.set.inner;
        // Taken out before the borrow ends; the caller drops it, with no cell borrowed.
        let outcome = inner.outcomes.borrow_mut().pop();
        if let Some(outcome) = outcome {
            return Poll::Ready(Some(outcome));
        }
        if inner.live.borrow().is_empty() {
            return Poll::Ready(None);
        }
        register(&inner.joiners, cx);
        Poll::Pending
    }
}

impl<T: 'static> fmt::Debug for JoinNext<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinNext").field("set", &self.set).finish()
    }
}

/// The future returned by [`TaskSet::join_all`]: ready once every task of the set has ended.
#[must_use = "join_all does nothing unless awaited"]
pub struct JoinAll<T: 'static = ()> {
    set: TaskSet<T>,
}

impl<T: 'static> Future for JoinAll<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &self.set.inner;
        if inner.live.borrow().is_empty() {
            return Poll::Ready(());
        }
        register(&inner.emptied, cx);
        Poll::Pending
    }
}

impl<T: 'static> fmt::Debug for JoinAll<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll").field("set", &self.set).finish()
    }
}
