//! `TaskGroup`: structured concurrency with asyncio's rules. The scope waits for every
//! child; the first failure cancels the rest; no child outlives its group.
//!
//! # Who owns what
//!
//! * `Shared` (behind an `Rc`) *is* the group: its [`GroupState`], the registry of live
//!   children, the errors and the first panic, and the waker of the [`Scope`] that waits for
//!   it. [`TaskGroup`] handles are clones of that `Rc`; so is the future of every child
//!   (`child_future`, which reports the child's end). The one done callback the group adds to
//!   a child that panicked or failed holds it weakly.
//! * The registry is a slab of live children's handles. A child enters it in
//!   [`TaskGroup::try_create_task`], at a key its future reserved, and leaves it when its
//!   future returns or is dropped (`child_future.rs`) — so "live children" is exactly the
//!   registry's length. A slab reuses freed keys, so its order is not creation order; the
//!   one walk that needs that order, cancelling "every child" in `Shared::abort`, sorts by
//!   task number.
//! * The [`Scope`] future owns the body (boxed, polled in place) and, once the body is done,
//!   its value or error. It alone turns the group's record into the scope's output.
//! * `Shared`'s cells are borrowed for the few lines that read or write them, never across a
//!   poll of the body, a `Drop` of user data, a waker call or a `cancel()`: user code running
//!   there may create tasks in the group or cancel it. A handle taken out of the registry is
//!   dropped only after the borrow ends.
//!
//! # Life cycle
//!
//! ```text
//!          Shared::abort: a child failed or panicked (end of batch),
//!          the body failed or panicked, cancel(), the Scope dropped
//!   Open ──────────────────────────────────────────────▶ ShuttingDown
//!     │                                                       │
//!     │ Scope::finish: body done, no child left               │ Scope::finish, or the last
//!     ▼                                                       ▼ child of a dropped Scope ends
//!   Closed ◀──────────────────────────────────────────────────┘
//! ```
//!
//! * **Open**: children run; `create_task` adds more.
//! * **ShuttingDown**: every child has been asked to cancel and the body is dropped at its
//!   next suspension. `create_task` still returns a task, cancelled before its first poll.
//! * **Closed**: the scope has returned. `create_task` is an error ([`CreateTaskError`]).
//!
//! # Why a child's failure aborts the group only at the end of the loop's batch
//!
//! asyncio learns of a failed child through a done callback that the loop schedules with
//! `call_soon`: every task already ready in the same loop iteration still runs first. So
//! when two children fail at the same instant, both errors are reported. looplet runs done
//! callbacks right after the task ends, so the group does not abort there: a child that
//! failed or panicked gets the group's done callback, which adds one more callback to the
//! (finished) child; the executor never runs that one inline but queues it for the end of
//! the current batch — asyncio's `call_soon`. The body failing, a panic in the body and
//! [`TaskGroup::cancel`] abort at once, as asyncio's `__aexit__` and `TaskGroup.cancel` do.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use looplet_executor::{create_task, Task};
use slab::Slab;

use crate::child::{ChildControl, ChildInner, ChildOutput, ChildTask};
use crate::child_future::child_future;
use crate::error::{BoxError, CreateTaskError, GroupError};

/// Where a [`TaskGroup`] is in its life; see [`TaskGroup::state`].
///
/// ```text
/// Open ──(first failure, cancel(), scope dropped)──▶ ShuttingDown ──▶ Closed
///   └────────────────(body and children done)───────────────────────────┘
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// Children run and new ones may be added. Invariant: no child was cancelled by the
    /// group.
    Open,
    /// Every child has been asked to cancel, and the body stops at its next suspension;
    /// a task created now is cancelled before its first poll. Invariant: entered once,
    /// never left except for `Closed`.
    ShuttingDown,
    /// The scope has returned (or was dropped and its last child has ended). Invariant: no
    /// child is live, and none can be added.
    Closed,
}

/// The group itself, shared by its handles, its scope and its children.
pub(crate) struct Shared {
    state: Cell<GroupState>,
    /// Live children, each at the key its future reserved (module docs: the registry).
    children: RefCell<Slab<Rc<dyn ChildControl>>>,
    /// Errors of the children, in the order they happened.
    errors: RefCell<Vec<BoxError>>,
    /// The first panic of a child or the body; the others are reported on stderr.
    panic: RefCell<Option<Box<dyn Any + Send>>>,
    /// A child failed or panicked: the group must abort at the end of this batch.
    abort_wanted: Cell<bool>,
    /// That end-of-batch abort has been queued.
    abort_queued: Cell<bool>,
    /// `cancel()` was called: a body that ends up dropped means "cancelled on purpose".
    cancelled: Cell<bool>,
    /// The scope has returned or was dropped: nobody will read the errors any more.
    scope_gone: Cell<bool>,
    /// The scope's waker, woken when it has something to do.
    scope_waker: RefCell<Option<Waker>>,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            state: Cell::new(GroupState::Open),
            children: RefCell::new(Slab::new()),
            errors: RefCell::new(Vec::new()),
            panic: RefCell::new(None),
            abort_wanted: Cell::new(false),
            abort_queued: Cell::new(false),
            cancelled: Cell::new(false),
            scope_gone: Cell::new(false),
            scope_waker: RefCell::new(None),
        }
    }

    fn live(&self) -> usize {
        self.children.borrow().len()
    }

    /// Open → ShuttingDown: asks every live child to cancel, in creation order, and wakes the
    /// scope, which drops the body at its next poll. Does nothing once Closed; repeating it
    /// is harmless.
    fn abort(&self) {
        match self.state.get() {
            GroupState::Closed => return,
            GroupState::Open => self.state.set(GroupState::ShuttingDown),
            GroupState::ShuttingDown => {}
        }
        let mut children: Vec<Rc<dyn ChildControl>> = self
            .children
            .borrow()
            .iter()
            .map(|(_, child)| Rc::clone(child))
            .collect();
        // The loop applies cancellations in the order they were asked for; keep that the
        // creation order, whichever keys the slab handed out.
        children.sort_by_key(|child| child.id().number());
        for child in children {
            child.cancel();
        }
        self.wake_scope();
    }

    /// The child at `key` ended — returned, was cancelled, or panicked — and leaves the
    /// registry; its future's report calls this exactly once. The last child out wakes the
    /// scope, and closes the group if the scope is already gone.
    pub(crate) fn child_left(&self, key: usize) {
        let (removed, live) = {
            let mut children = self.children.borrow_mut();
            (children.try_remove(key), children.len())
        };
        // `None` only for a child whose task could not be created: it was never registered.
        let Some(removed) = removed else {
            return;
        };
        drop(removed);
        if live == 0 {
            if self.scope_gone.get() {
                self.state.set(GroupState::Closed);
            }
            self.wake_scope();
        }
    }

    /// The child at `key` returned `Err`: record the error (in order), cancel the child — it
    /// stops at this suspension, and leaves through [`child_left`](Shared::child_left) — and
    /// have the group abort at the end of the batch (the group's done callback, added here,
    /// queues that).
    pub(crate) fn child_failed(&self, key: usize, error: BoxError) {
        self.errors.borrow_mut().push(error);
        self.abort_wanted.set(true);
        let child = self.children.borrow().get(key).cloned();
        if let Some(child) = child {
            child.cancel();
            child.watch();
        }
    }

    /// The poll of the child at `key` panicked (its future is being dropped; the loop holds
    /// the payload as the task's outcome). The group's done callback takes the payload once
    /// the task is done; the child leaves the registry now.
    pub(crate) fn child_panicked(&self, key: usize) {
        let child = self.children.borrow().get(key).cloned();
        if let Some(child) = child {
            child.watch();
        }
        self.child_left(key);
    }

    /// The group's done callback, on the children that need one (`child.rs`): takes a
    /// panic's payload, and queues the group's abort for the end of the batch after a
    /// failure or a panic.
    pub(crate) fn on_watched_child_done<T>(shared: &Rc<Shared>, task: &Task<T>) {
        if task.is_panicked() {
            if let Err(error) = task.result() {
                let whose = task.name().into_owned();
                if let Ok(payload) = error.try_into_panic() {
                    shared.record_panic(payload, &whose);
                }
            }
            shared.abort_wanted.set(true);
        }
        if shared.abort_wanted.get()
            && shared.state.get() == GroupState::Open
            && !shared.abort_queued.replace(true)
        {
            // The task is done, so the executor queues this callback for the end of the
            // current batch instead of running it now (module docs: asyncio's call_soon).
            let soon = Rc::clone(shared);
            task.add_done_callback(move |_| soon.abort());
        }
    }

    /// Keeps the first panic; reports a later one on stderr (asyncio keeps one
    /// BaseException too).
    fn record_panic(&self, payload: Box<dyn Any + Send>, whose: &str) {
        let mut slot = self.panic.borrow_mut();
        if slot.is_none() {
            *slot = Some(payload);
            return;
        }
        drop(slot);
        eprintln!(
            "looplet: {whose} panicked too ({}) after another panic in its TaskGroup; only the \
             first panic is resumed, this one is dropped",
            panic_message(payload.as_ref())
        );
    }

    fn wake_scope(&self) {
        let waker = self.scope_waker.borrow().clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn set_scope_waker(&self, waker: &Waker) {
        let mut slot = self.scope_waker.borrow_mut();
        match &*slot {
            Some(current) if current.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// Reports on stderr what the group recorded but nobody will read (the scope was
    /// dropped, or a panic is about to win over the errors).
    fn report_unread(&self, errors: &[BoxError], panic: Option<&(dyn Any + Send)>) {
        for error in errors {
            eprintln!(
                "looplet: a TaskGroup error was never retrieved (the scope was dropped, or a \
                 panic won over it): {error}"
            );
        }
        if let Some(payload) = panic {
            eprintln!(
                "looplet: a panic in a TaskGroup was never resumed because its scope was \
                 dropped: {}",
                panic_message(payload)
            );
        }
    }
}

/// A handle to a task group: create children in it, cancel it, ask its state. Cheap to
/// clone; pass clones into children so they can create tasks in the same group.
///
/// A group exists only inside [`TaskGroup::scope`], which guarantees the exit wait: the
/// scope returns only when the body and every child have ended.
///
/// # Examples
///
/// Children run concurrently with the body; the scope waits for all of them.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use looplet_executor::{run, yield_now};
/// use looplet_taskgroup::TaskGroup;
///
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let seen = log.clone();
/// run(TaskGroup::scope(|tg| async move {
///     for name in ["a", "b"] {
///         let log = seen.clone();
///         tg.create_task(async move {
///             yield_now().await;
///             log.borrow_mut().push(name);
///         });
///     }
///     seen.borrow_mut().push("body done");
///     Ok(())
/// }))
/// .unwrap();
/// assert_eq!(*log.borrow(), ["body done", "a", "b"]);
/// ```
///
/// A group belongs to its loop's thread, like the tasks in it: it is not `Send`.
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// looplet_executor::run(looplet_taskgroup::TaskGroup::scope(|tg| async move {
///     send(tg);
///     Ok(())
/// }));
/// ```
#[derive(Clone)]
pub struct TaskGroup {
    shared: Rc<Shared>,
}

impl TaskGroup {
    /// Runs `body` with a new group and waits, on exit, for every child it created
    /// (asyncio's `async with TaskGroup() as tg:`).
    ///
    /// The scope's output is:
    ///
    /// * `Ok(Some(value))` — the body returned `Ok(value)` and every child succeeded;
    /// * `Ok(None)` — the group was stopped on purpose with [`cancel`](TaskGroup::cancel)
    ///   before the body finished (no error: nothing failed);
    /// * `Err(GroupError)` — a child or the body failed: every error, in order, the body's
    ///   last.
    ///
    /// `body` is called when the scope is first polled, on the loop, so the scope can be
    /// made outside one (`run(TaskGroup::scope(..))`).
    ///
    /// # Panics
    ///
    /// A panic in a child or in the body cancels everything else like an error does; once
    /// every child has ended, the (first) panic is resumed in the task awaiting the scope.
    ///
    /// # Cancellation
    ///
    /// Dropping the scope (the task awaiting it is cancelled, a `timeout` around it fires)
    /// cancels every child at once: no child outlives its group. Nothing is reported then,
    /// unless errors had been recorded, which go to stderr rather than be lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet_executor::run;
    /// use looplet_taskgroup::TaskGroup;
    ///
    /// let total = run(TaskGroup::scope(|tg| async move {
    ///     let a = tg.create_task(async { Ok::<_, std::io::Error>(20) });
    ///     let b = tg.create_task(async { Ok::<_, std::io::Error>(22) });
    ///     Ok(a.await? + b.await?)
    /// }));
    /// assert_eq!(total.unwrap(), Some(42));
    /// ```
    pub fn scope<T, F, Fut>(body: F) -> Scope<T, F, Fut>
    where
        F: FnOnce(TaskGroup) -> Fut,
        Fut: Future<Output = Result<T, BoxError>>,
    {
        Scope {
            group: TaskGroup {
                shared: Rc::new(Shared::new()),
            },
            start: Some(body),
            body: None,
            value: None,
            body_error: None,
            body_cancelled: false,
            finished: false,
        }
    }

    /// Creates a child task running `future` (asyncio's `tg.create_task`).
    ///
    /// `future` returns `()` (it cannot fail) or a `Result` (an `Err` fails the group); see
    /// [`ChildOutput`]. The child starts at the loop's next turn. In a group that is
    /// shutting down, the task is created already cancelled: its future never runs.
    ///
    /// # Panics
    ///
    /// Panics when the group has finished (its scope returned) — use
    /// [`try_create_task`](TaskGroup::try_create_task) to get that as an error — and when
    /// no looplet loop is running on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet_executor::run;
    /// use looplet_taskgroup::TaskGroup;
    ///
    /// run(TaskGroup::scope(|tg| async move {
    ///     // A child can create more children through its own clone of the group.
    ///     let inner = tg.clone();
    ///     tg.create_task(async move {
    ///         inner.create_task(async {});
    ///     });
    ///     Ok(())
    /// }))
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn create_task<F>(&self, future: F) -> ChildTask<<F::Output as ChildOutput>::Value>
    where
        F: Future + 'static,
        F::Output: ChildOutput,
    {
        match self.try_create_task(future) {
            Ok(child) => child,
            Err(error) => panic!("{error}"),
        }
    }

    /// Like [`create_task`](TaskGroup::create_task), but a finished group is an error
    /// instead of a panic.
    ///
    /// # Panics
    ///
    /// Panics when no looplet loop is running on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet_executor::run;
    /// use looplet_taskgroup::TaskGroup;
    ///
    /// run(TaskGroup::scope(|tg| async move {
    ///     let child = tg.try_create_task(async { Ok::<_, std::fmt::Error>(1) })?;
    ///     assert_eq!(child.await?, 1);
    ///     Ok(())
    /// }))
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn try_create_task<F>(
        &self,
        future: F,
    ) -> Result<ChildTask<<F::Output as ChildOutput>::Value>, CreateTaskError>
    where
        F: Future + 'static,
        F::Output: ChildOutput,
    {
        if self.shared.state.get() == GroupState::Closed {
            return Err(CreateTaskError::closed());
        }
        // The child's future must know its registry key before the task exists, so the key
        // is reserved first. Nothing can take it meanwhile: `create_task` runs no user code.
        let key = self.shared.children.borrow().vacant_key();
        let task = create_task(child_future(future, Rc::clone(&self.shared), key));
        let child = ChildInner::new(task, Rc::downgrade(&self.shared));
        let registered = self.shared.children.borrow_mut().insert(child.clone());
        assert_eq!(
            registered, key,
            "a TaskGroup's registry changed while one of its tasks was being created"
        );
        if self.shared.state.get() == GroupState::ShuttingDown {
            child.cancel();
        }
        Ok(ChildTask::new(child))
    }

    /// Stops the whole group on purpose (asyncio 3.15's `TaskGroup.cancel`): every child is
    /// cancelled, and so is the body at its next suspension. The scope then returns
    /// `Ok(None)` — no error — unless something had already failed. Calling it on a group
    /// that is already shutting down or closed does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet_executor::run;
    /// use looplet_taskgroup::TaskGroup;
    ///
    /// let outcome = run(TaskGroup::scope(|tg| async move {
    ///     let forever = tg.create_task(std::future::pending::<()>());
    ///     let stopper = tg.clone();
    ///     tg.create_task(async move { stopper.cancel() });
    ///     forever.await?; // the body is cancelled while it waits here
    ///     unreachable!("the group was cancelled");
    /// }));
    /// assert_eq!(outcome.unwrap(), None::<()>); // told apart from a body that finished
    /// ```
    pub fn cancel(&self) {
        if self.shared.state.get() != GroupState::Open {
            return;
        }
        self.shared.cancelled.set(true);
        self.shared.abort();
    }

    /// Where the group is in its life.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet_executor::{run, yield_now};
    /// use looplet_taskgroup::{GroupState, TaskGroup};
    ///
    /// run(TaskGroup::scope(|tg| async move {
    ///     tg.create_task(yield_now());
    ///     assert_eq!((tg.state(), tg.len()), (GroupState::Open, 1));
    ///     tg.cancel();
    ///     assert_eq!((tg.state(), tg.len()), (GroupState::ShuttingDown, 1));
    ///     Ok(())
    /// }))
    /// .unwrap();
    /// ```
    pub fn state(&self) -> GroupState {
        self.shared.state.get()
    }

    /// How many children are live (created and not yet ended).
    pub fn len(&self) -> usize {
        self.shared.live()
    }

    /// Whether no child is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("state", &self.state())
            .field("live_children", &self.len())
            .finish()
    }
}

/// The future returned by [`TaskGroup::scope`]: it drives the body and waits for every
/// child. Dropping it cancels every child.
#[must_use = "a TaskGroup scope does nothing unless awaited; .await it"]
pub struct Scope<T, F, Fut> {
    group: TaskGroup,
    /// The closure that makes the body, until the first poll calls it.
    start: Option<F>,
    /// The body while it runs; `None` once it returned, failed, panicked or was dropped.
    body: Option<Pin<Box<Fut>>>,
    value: Option<T>,
    body_error: Option<BoxError>,
    /// The body was dropped at a suspension because the group shut down.
    body_cancelled: bool,
    /// The scope returned its output; polling again is a bug.
    finished: bool,
}

// The body is boxed and the value is never pinned: `Scope` pins nothing in place.
impl<T, F, Fut> Unpin for Scope<T, F, Fut> {}

impl<T, F, Fut> Scope<T, F, Fut>
where
    F: FnOnce(TaskGroup) -> Fut,
    Fut: Future<Output = Result<T, BoxError>>,
{
    /// Polls the body once if the group is open; drops it if the group is shutting down.
    fn poll_body(&mut self, cx: &mut Context<'_>) {
        let Some(body) = self.body.as_mut() else {
            return;
        };
        let shared = Rc::clone(&self.group.shared);
        if shared.state.get() == GroupState::Open {
            let polled = catch_unwind(AssertUnwindSafe(|| body.as_mut().poll(cx)));
            match polled {
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(Ok(value))) => {
                    self.body = None;
                    self.value = Some(value);
                    return;
                }
                Ok(Poll::Ready(Err(error))) => {
                    self.body = None;
                    self.body_error = Some(error);
                    shared.abort();
                    return;
                }
                Err(payload) => {
                    self.body = None;
                    shared.record_panic(payload, "the TaskGroup's body");
                    shared.abort();
                    return;
                }
            }
        }
        if shared.state.get() != GroupState::Open {
            // Shutting down: the body stops at this suspension. Its `Drop` code may use the
            // group; no cell of `Shared` is borrowed here.
            self.body = None;
            self.body_cancelled = true;
        }
    }

    /// Closes the group and turns its record into the scope's output.
    fn finish(&mut self) -> Result<Option<T>, GroupError> {
        let shared = &self.group.shared;
        shared.state.set(GroupState::Closed);
        shared.scope_gone.set(true);
        let mut errors = std::mem::take(&mut *shared.errors.borrow_mut());
        let body_failed = self.body_error.is_some();
        errors.extend(self.body_error.take());
        let panic = shared.panic.borrow_mut().take();
        if let Some(payload) = panic {
            shared.report_unread(&errors, None);
            resume_unwind(payload);
        }
        if !errors.is_empty() {
            return Err(GroupError::new(errors, body_failed));
        }
        if self.body_cancelled {
            return Ok(None);
        }
        Ok(self.value.take())
    }
}

impl<T, F, Fut> Future for Scope<T, F, Fut>
where
    F: FnOnce(TaskGroup) -> Fut,
    Fut: Future<Output = Result<T, BoxError>>,
{
    type Output = Result<Option<T>, GroupError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            !this.finished,
            "a TaskGroup scope was polled after it returned; await it once"
        );
        this.group.shared.set_scope_waker(cx.waker());
        if let Some(start) = this.start.take() {
            this.body = Some(Box::pin(start(this.group.clone())));
        }
        this.poll_body(cx);
        if this.body.is_some() || this.group.shared.live() > 0 {
            return Poll::Pending;
        }
        this.finished = true;
        Poll::Ready(this.finish())
    }
}

impl<T, F, Fut> Drop for Scope<T, F, Fut> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let shared = &self.group.shared;
        shared.scope_gone.set(true);
        shared.abort();
        if shared.live() == 0 {
            shared.state.set(GroupState::Closed);
        }
        let mut errors = std::mem::take(&mut *shared.errors.borrow_mut());
        errors.extend(self.body_error.take());
        let panic = shared.panic.borrow_mut().take();
        shared.report_unread(&errors, panic.as_deref());
        // The body (if still there) is dropped after this, with no cell borrowed.
    }
}

impl<T, F, Fut> fmt::Debug for Scope<T, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("group", &self.group)
            .field("started", &self.start.is_none())
            .field("body_running", &self.body.is_some())
            .finish()
    }
}

/// The message of a panic payload that is a `&str` or a `String`.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string payload")
}
