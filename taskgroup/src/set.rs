//! `TaskSet`: background tasks kept alive until they end — asyncio's "keep a strong
//! reference in a set, and `add_done_callback(set.discard)`", made a type.
//!
//! # Who owns what
//!
//! * `SetInner` (behind an `Rc`) holds each live task's handle, by task number in creation
//!   order, and the wakers of [`JoinAll`] futures waiting for the set to empty.
//! * Each task's done callback holds the set *weakly* and removes the task. That callback is
//!   the only way out of the set, so the set's contents are exactly the tasks that have not
//!   ended — whatever ended them: a value, a panic, `cancel_all`, or the `Runner` closing.
//! * Dropping every `TaskSet` handle detaches the tasks (they run on); it does not cancel
//!   them. Call [`TaskSet::cancel_all`] for that.
//! * The cells are borrowed for a few lines at a time, never across a `cancel()` or a waker
//!   call, and a removed handle is dropped only after the borrow ends.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use looplet_executor::{create_task, Task, TaskId};

/// What the set needs from a task, whatever its output type.
trait Member {
    fn cancel(&self) -> bool;
    fn name(&self) -> String;
}

impl<T> Member for Task<T> {
    fn cancel(&self) -> bool {
        Task::cancel(self)
    }

    fn name(&self) -> String {
        Task::name(self).into_owned()
    }
}

struct Entry {
    id: TaskId,
    task: Rc<dyn Member>,
}

#[derive(Default)]
struct SetInner {
    tasks: RefCell<BTreeMap<u64, Entry>>,
    waiters: RefCell<Vec<Waker>>,
}

/// A set of background tasks: each is held until its done callback removes it.
///
/// Cheap to clone; clones share one set. Tasks of any output type can share a set; their
/// outputs are dropped. A task that panics leaves the set like any other, and its panic is
/// reported on stderr (the set is its only observer). When the `Runner` closes, the tasks
/// still in a set are cancelled and leave it.
///
/// # Examples
///
/// ```
/// use looplet_executor::{run, yield_now};
/// use looplet_taskgroup::TaskSet;
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
/// A set holds `!Send` task handles, so it stays on its loop's thread:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(looplet_taskgroup::TaskSet::new());
/// ```
#[derive(Clone, Default)]
pub struct TaskSet {
    inner: Rc<SetInner>,
}

impl TaskSet {
    /// An empty set.
    pub fn new() -> TaskSet {
        TaskSet::default()
    }

    /// Creates a task running `future` on the running loop and keeps it in the set until it
    /// ends. Returns its id.
    ///
    /// # Panics
    ///
    /// Panics when no looplet loop is running on this thread.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> TaskId
    where
        F: Future + 'static,
    {
        self.add(create_task(future))
    }

    /// Keeps `task` in the set until it ends (a task already done leaves at the loop's next
    /// turn). Returns its id.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet_executor::{run, yield_now, TaskBuilder};
    /// use looplet_taskgroup::TaskSet;
    ///
    /// run(async {
    ///     let set = TaskSet::new();
    ///     let id = set.add(TaskBuilder::new().name("flusher").spawn(yield_now()));
    ///     assert!(set.contains(id));
    ///     assert_eq!(set.ids(), [id]);
    ///     assert_eq!(set.names(), ["flusher"]);
    ///     set.join_all().await;
    ///     assert!(!set.contains(id));
    /// });
    /// ```
    pub fn add<T: 'static>(&self, task: Task<T>) -> TaskId {
        let id = task.id();
        let task = Rc::new(task);
        let entry = Entry {
            id,
            task: Rc::clone(&task) as Rc<dyn Member>,
        };
        self.inner.tasks.borrow_mut().insert(id.number(), entry);
        // Added after the insert: with no loop left to defer it, the callback runs now.
        let weak = Rc::downgrade(&self.inner);
        task.add_done_callback(move |task| on_done(&weak, task));
        id
    }

    /// How many tasks are in the set (not yet ended).
    pub fn len(&self) -> usize {
        self.inner.tasks.borrow().len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the task with this id is still in the set.
    pub fn contains(&self, id: TaskId) -> bool {
        self.inner
            .tasks
            .borrow()
            .get(&id.number())
            .is_some_and(|entry| entry.id == id)
    }

    /// The ids of the tasks in the set, oldest first.
    pub fn ids(&self) -> Vec<TaskId> {
        let tasks = self.inner.tasks.borrow();
        tasks.values().map(|entry| entry.id).collect()
    }

    /// The names of the tasks in the set, oldest first.
    pub fn names(&self) -> Vec<String> {
        let tasks = self.inner.tasks.borrow();
        tasks.values().map(|entry| entry.task.name()).collect()
    }

    /// Asks the loop to cancel every task in the set; returns how many were still pending.
    ///
    /// # Cancellation
    ///
    /// Cancellation is applied by the loop at its next turn; the tasks leave the set then,
    /// through their done callbacks. `set.cancel_all(); set.join_all().await` waits for that.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet_executor::run;
    /// use looplet_taskgroup::TaskSet;
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
        let members: Vec<Rc<dyn Member>> = {
            let tasks = self.inner.tasks.borrow();
            tasks.values().map(|entry| Rc::clone(&entry.task)).collect()
        };
        members.iter().filter(|task| task.cancel()).count()
    }

    /// Waits until the set is empty: for the tasks in it now, and for any added meanwhile.
    pub fn join_all(&self) -> JoinAll {
        JoinAll { set: self.clone() }
    }
}

/// A task's done callback: it leaves the set; a panic is reported, since the set is the
/// task's only observer; an emptied set wakes its `join_all` waiters.
fn on_done<T>(set: &Weak<SetInner>, task: &Task<T>) {
    if task.is_panicked() {
        if let Err(error) = task.result() {
            eprintln!(
                "looplet: background task {error}; it left its TaskSet, and the loop goes on"
            );
        }
    }
    let Some(inner) = set.upgrade() else {
        return;
    };
    let removed = inner.tasks.borrow_mut().remove(&task.id().number());
    drop(removed);
    if inner.tasks.borrow().is_empty() {
        let waiters = std::mem::take(&mut *inner.waiters.borrow_mut());
        for waker in waiters {
            waker.wake();
        }
    }
}

impl fmt::Debug for TaskSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskSet").field("ids", &self.ids()).finish()
    }
}

/// The future returned by [`TaskSet::join_all`]: ready once the set is empty.
#[must_use = "join_all does nothing unless awaited"]
pub struct JoinAll {
    set: TaskSet,
}

impl Future for JoinAll {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &self.set.inner;
        if inner.tasks.borrow().is_empty() {
            return Poll::Ready(());
        }
        let mut waiters = inner.waiters.borrow_mut();
        if !waiters.iter().any(|waker| waker.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl fmt::Debug for JoinAll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll").field("set", &self.set).finish()
    }
}
