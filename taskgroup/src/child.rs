//! A group's children: what `create_task` takes a child's output to be ([`ChildValue`]) and
//! the handle to a child ([`ChildTask`]).
//!
//! # Who owns what
//!
//! A child is an ordinary loop task. Its one [`Task`] handle lives in a `ChildInner`, behind
//! an `Rc` shared by the group's registry (so the group can cancel it) and by every
//! [`ChildTask`] clone (so its owner can await it or read its value after the scope). The
//! executor's `Task` is not `Clone`; this shared cell is what lets both sides hold it.
//!
//! # The group's done callback, only where needed
//!
//! The group learns of a child's end from the child's own future (`child_future.rs`), not
//! from a done callback per child. Two kinds of child still get the group's done callback
//! (`ChildControl::watch`), added once they are known to need it: one that panicked — the
//! payload becomes the task's outcome, readable only once the task is done — and one that
//! failed — the group's abort is queued from there, for the end of the batch. And since a
//! user's done callback must not take a panic's payload before the group does,
//! [`ChildTask::add_done_callback`] adds the group's callback first. A child gets at most
//! one (`group_watches`).
//!
//! # Borrow rule
//!
//! The `RefCell` around the `Task` is borrowed mutably only inside [`ChildTask::poll`],
//! which calls `Task::poll` and nothing else — no user code, no callback. Every other use
//! borrows it shared for one call. So the borrows never overlap, and the `try_borrow`s below
//! never fail in practice; they fail soft (report "not cancelled") rather than panic on a
//! shutdown path.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use looplet_executor::{DoneCallbackId, Task, TaskError, TaskId};

use crate::shared::{ChildControl, Shared};

/// What [`TaskGroup::create_task`](crate::TaskGroup::create_task) takes a child's output to
/// be: any value — except a `Result`, which goes to
/// [`create_fallible`](crate::TaskGroup::create_fallible) so that its `Err` fails the group.
///
/// A child is asyncio's task, and an `Err` is how a Rust task raises. A `Result` handed to
/// `create_task` would make its `Err` a plain value that nobody may ever look at, so it is
/// refused at compile time instead: every type has the [`AnyValue`] impl, a `Result` also has
/// the [`UseCreateFallible`] one, and the compiler, unable to choose, says
///
/// ```text
/// error[E0283]: type annotations needed
/// note: multiple `impl`s satisfying `Result<(), BoxError>: ChildValue<_>` found
///     impl<T> ChildValue<AnyValue> for T {}
///     impl<T, E> ChildValue<UseCreateFallible> for Result<T, E> {}
/// ```
///
/// The marker is inferred, never written. Sealed: these two impls are all there are.
///
/// # Examples
///
/// ```
/// use looplet::{run, TaskGroup};
///
/// run(TaskGroup::scope(|tg| async move {
///     let answer = tg.create_task(async { 42 }); // any value
///     let parsed = tg.create_fallible(async { "7".parse::<u32>() }); // an Err fails the group
///     assert_eq!(answer.await? + parsed.await?, 49);
///     Ok(())
/// }))
/// .unwrap();
/// ```
///
/// ```compile_fail
/// looplet::run(looplet::TaskGroup::scope(|tg| async move {
///     tg.create_task(async { "7".parse::<u32>() }); // a Result: create_fallible
///     Ok(())
/// }));
/// ```
pub trait ChildValue<Marker>: sealed::Sealed<Marker> {}

/// The [`ChildValue`] marker every output type has.
#[derive(Debug)]
pub enum AnyValue {}

/// The [`ChildValue`] marker a `Result` has too, so that `create_task` cannot choose: a
/// child returning a `Result` goes to
/// [`create_fallible`](crate::TaskGroup::create_fallible).
#[derive(Debug)]
pub enum UseCreateFallible {}

impl<T> ChildValue<AnyValue> for T {}
impl<T, E> ChildValue<UseCreateFallible> for Result<T, E> {}

mod sealed {
    pub trait Sealed<Marker> {}
    impl<T> Sealed<super::AnyValue> for T {}
    impl<T, E> Sealed<super::UseCreateFallible> for Result<T, E> {}
}

/// The child's one `Task` handle, shared by the group and the `ChildTask`s.
pub(crate) struct ChildInner<T> {
    task: RefCell<Task<T>>,
    id: TaskId,
    /// The group, for the done callback that [`watch`](ChildControl::watch) adds. Weak: a
    /// handle kept after the scope does not keep the group alive.
    group: Weak<Shared>,
    /// The group's done callback is on the task. Set once, when it is added.
    group_watches: Cell<bool>,
}

impl<T> ChildInner<T> {
    pub(crate) fn new(task: Task<T>, group: Weak<Shared>) -> Rc<ChildInner<T>> {
        Rc::new(ChildInner {
            id: task.id(),
            task: RefCell::new(task),
            group,
            group_watches: Cell::new(false),
        })
    }

    fn add_done_callback(&self, callback: impl FnOnce(&Task<T>) + 'static) -> DoneCallbackId {
        // The one mutable borrow (module docs) is in `ChildTask::poll`, which runs no user
        // code and so never overlaps this one.
        self.task.borrow().add_done_callback(callback)
    }

    fn cancel(&self) -> bool {
        self.task.try_borrow().is_ok_and(|task| task.cancel())
    }
}

impl<T: 'static> ChildControl for ChildInner<T> {
    fn id(&self) -> TaskId {
        self.id
    }

    fn cancel(&self) -> bool {
        ChildInner::cancel(self)
    }

    fn watch(&self) {
        if self.group_watches.get() {
            return;
        }
        let Ok(task) = self.task.try_borrow() else {
            return;
        };
        // A child already done has nothing left for the group to see: had it panicked or
        // failed, the group would have added its callback before it ended.
        if task.is_done() {
            return;
        }
        self.group_watches.set(true);
        let group = Weak::clone(&self.group);
        task.add_done_callback(move |task| {
            if let Some(shared) = group.upgrade() {
                Shared::on_watched_child_done(&shared, task);
            }
        });
    }
}

/// A handle to a child of a [`TaskGroup`](crate::TaskGroup): a real loop task, shared with
/// its group so the group can cancel it. Cheap to clone; every clone is the same child.
///
/// It offers what [`Task`] offers — await it, [`cancel`](ChildTask::cancel) it, ask
/// [`is_done`](ChildTask::is_done), read its value without waiting with
/// [`result`](ChildTask::result) — and its value is still there after the scope returns.
/// Dropping it does nothing: the group keeps the child until it ends.
///
/// What the handle gives back for a child that did not succeed:
///
/// * a child cancelled by its group, or through a handle: a cancelled [`TaskError`];
/// * a child of [`create_fallible`](crate::TaskGroup::create_fallible) that returned `Err`:
///   a cancelled [`TaskError`] too — its error was moved into the group's
///   [`GroupError`](crate::GroupError), and the child stopped right there;
/// * a child that panicked: [`is_panicked`](ChildTask::is_panicked) is true, but the panic
///   payload itself was taken by the group, which resumes it in the task awaiting the scope
///   (so the outcome reads as already taken).
///
/// # Examples
///
/// ```
/// use looplet::{run, TaskGroup};
///
/// run(async {
///     let mut answer = None;
///     TaskGroup::scope(|tg| {
///         answer = Some(tg.create_task(async { 6 * 7 }));
///         async { Ok(()) }
///     })
///     .await
///     .unwrap();
///     // The scope waited for the child: its value is there, no await needed.
///     assert_eq!(answer.unwrap().result().unwrap(), 42);
/// });
/// ```
///
/// Like [`Task`], it belongs to its loop's thread:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// looplet::run(looplet::TaskGroup::scope(|tg| async move {
///     send(tg.create_task(async {}));
///     Ok(())
/// }));
/// ```
pub struct ChildTask<T> {
    inner: Rc<ChildInner<T>>,
}

impl<T> ChildTask<T> {
    pub(crate) fn new(inner: Rc<ChildInner<T>>) -> ChildTask<T> {
        ChildTask { inner }
    }

    /// The child's task id, unique within its loop.
    pub fn id(&self) -> TaskId {
        self.inner.id
    }

    /// The child's task name: the one given to
    /// [`ChildBuilder::name`](crate::ChildBuilder::name), or `Task-N` (as
    /// [`Task::name`]). The child reads it from inside with
    /// [`current_task_name`](looplet_executor::current_task_name).
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{current_task_name, run, TaskGroup};
    ///
    /// run(TaskGroup::scope(|tg| async move {
    ///     let named = tg.builder().name("fetcher").create_task(async { current_task_name() });
    ///     assert_eq!(named.name(), "fetcher");
    ///     assert_eq!(named.await?.as_deref(), Some("fetcher"));
    ///     let unnamed = tg.create_task(async {});
    ///     assert_eq!(unnamed.name(), unnamed.id().to_string()); // "Task-N"
    ///     Ok(())
    /// }))
    /// .unwrap();
    /// ```
    pub fn name(&self) -> Cow<'_, str> {
        // Owned: the name lives in the task, behind this handle's `RefCell`.
        match self.inner.task.try_borrow() {
            Ok(task) => Cow::Owned(task.name().into_owned()),
            Err(_) => Cow::Owned(self.inner.id.to_string()),
        }
    }

    /// Whether the child has ended: with a value, a failure, a panic, or cancelled.
    pub fn is_done(&self) -> bool {
        self.inner
            .task
            .try_borrow()
            .is_ok_and(|task| task.is_done())
    }

    /// Whether the child ended cancelled (by its group, by a handle, or after handing its
    /// error to the group).
    pub fn is_cancelled(&self) -> bool {
        self.inner
            .task
            .try_borrow()
            .is_ok_and(|task| task.is_cancelled())
    }

    /// Whether the child ended by panicking.
    pub fn is_panicked(&self) -> bool {
        self.inner
            .task
            .try_borrow()
            .is_ok_and(|task| task.is_panicked())
    }

    /// Asks the loop to cancel this child only; returns whether it was still pending. A
    /// child cancelled this way is not an error of the group.
    pub fn cancel(&self) -> bool {
        self.inner.cancel()
    }

    /// Takes the child's value without waiting (asyncio's `Task.result()`); see
    /// [`Task::result`]. Before the child is done this is an error for which
    /// [`TaskError::is_not_done`] is true.
    pub fn result(&self) -> Result<T, TaskError> {
        // The borrow is shared and `Task::result` runs no user code (see module docs). The
        // value is moved out before the borrow ends; dropping it is the caller's business.
        self.inner.task.borrow().result()
    }

    /// Runs `callback` once the child is done, from the loop; see
    /// [`Task::add_done_callback`]. The group looks at the child first: by the time
    /// `callback` runs, the child no longer counts in [`TaskGroup::len`], and a panicked
    /// child's payload has been taken by the group (its outcome reads as already taken).
    ///
    /// [`TaskGroup::len`]: crate::TaskGroup::len
    pub fn add_done_callback(&self, callback: impl FnOnce(&Task<T>) + 'static) -> DoneCallbackId
    where
        T: 'static,
    {
        // The group's callback goes first, so no callback can take a panic from it.
        self.inner.watch();
        self.inner.add_done_callback(callback)
    }

    /// Removes a done callback that has not run yet; returns whether it was still waiting.
    /// See [`Task::remove_done_callback`].
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, TaskGroup};
    ///
    /// run(TaskGroup::scope(|tg| async move {
    ///     let child = tg.create_task(async { 1 });
    ///     let callback = child.add_done_callback(|_| unreachable!("removed"));
    ///     assert!(child.remove_done_callback(callback));
    ///     assert_eq!(child.await?, 1);
    ///     Ok(())
    /// }))
    /// .unwrap();
    /// ```
    pub fn remove_done_callback(&self, id: DoneCallbackId) -> bool {
        self.inner
            .task
            .try_borrow()
            .is_ok_and(|task| task.remove_done_callback(id))
    }
}

impl<T> Clone for ChildTask<T> {
    fn clone(&self) -> ChildTask<T> {
        ChildTask {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<T> Future for ChildTask<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The only mutable borrow of the cell (module docs): `Task::poll` runs no user code.
        let mut task = self.inner.task.borrow_mut();
        Pin::new(&mut *task).poll(cx)
    }
}

impl<T> fmt::Debug for ChildTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.task.try_borrow() {
            Ok(task) => fmt::Debug::fmt(&*task, f),
            Err(_) => f
                .debug_struct("ChildTask")
                .field("id", &self.inner.id)
                .finish(),
        }
    }
}
