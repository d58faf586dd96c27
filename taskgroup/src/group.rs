//! `TaskGroup`: structured concurrency with asyncio's rules. The scope waits for every
//! child; the first failure cancels the rest; no child outlives its group.
//!
//! # Who owns what
//!
//! * The group's record — its state, its live children, its errors and first panic — is
//!   `Shared` (`shared.rs`), behind an `Rc`. A [`TaskGroup`] handle is a clone of that `Rc`.
//! * The [`Scope`] future owns the body (boxed, polled in place) and, once the body is done,
//!   its value or error. It alone turns the group's record into the scope's output: it
//!   closes the group when it returns, and asks every child to cancel when it is dropped.
//! * No cell of the record is borrowed while the body is polled or dropped: the body may
//!   create tasks in the group or cancel it from there.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::builder::ChildBuilder;
use crate::child::{ChildTask, ChildValue};
use crate::error::{BoxError, CreateTaskError, GroupError};
use crate::shared::{GroupState, Shared};

/// A handle to a task group: create children in it, cancel it, ask its state. Cheap to
/// clone; pass clones into children so they can create tasks in the same group.
///
/// A group exists only inside [`TaskGroup::scope`], which guarantees the exit wait: the
/// scope returns only when the body, every child and every task of a group nested in them
/// have ended.
///
/// # Examples
///
/// Children run concurrently with the body; the scope waits for all of them.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use looplet::{run, yield_now, TaskGroup};
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
/// looplet::run(looplet::TaskGroup::scope(|tg| async move {
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
    /// * `Ok(value)` — the body returned `Ok(value)` and every child succeeded, so
    ///   `scope(..).await?` is the body's value;
    /// * `Err(GroupError)` — a child or the body failed: every error, in order, the body's
    ///   last. Or, with no error at all, the group was stopped on purpose with
    ///   [`cancel`](TaskGroup::cancel) before the body returned, which
    ///   [`GroupError::is_cancelled`] tells apart.
    ///
    /// The `GroupError` is `Send + Sync`, so `?` carries it on into `anyhow::Error`, a
    /// `Box<dyn Error + Send + Sync>`, or the [`BoxError`] of an enclosing group's body.
    ///
    /// `body` is called when the scope is first polled, on the loop, so the scope can be
    /// made outside one (`run(TaskGroup::scope(..))`).
    ///
    /// For a group in which a failure cancels nobody, see
    /// [`supervise`](TaskGroup::supervise).
    ///
    /// # Panics
    ///
    /// A panic in a child or in the body cancels everything else like an error does; once
    /// every task under it has ended, the (first) panic is resumed in the task awaiting the
    /// scope.
    ///
    /// # Cancellation
    ///
    /// Dropping the scope (the task awaiting it is cancelled, a `timeout` around it fires)
    /// cancels every child at once: no child outlives its group. Nothing is reported then,
    /// unless errors had been recorded, which go to stderr rather than be lost.
    ///
    /// # Nested groups
    ///
    /// A scope awaited in another group's body or child is nested in that group. When a
    /// scope returns, every task started under it — by its children, its body, and the
    /// groups nested in them, at any depth — has ended and its future has been dropped,
    /// also when a nested scope was dropped early (its host cancelled, a `timeout` fired).
    ///
    /// ```
    /// use std::{cell::RefCell, future::pending, rc::Rc};
    /// use looplet::{run, yield_now, TaskGroup};
    ///
    /// let deep = Rc::new(RefCell::new(None));
    /// let slot = deep.clone();
    /// let outcome = run(TaskGroup::scope(|outer| {
    ///     // A child that opens a group of its own, whose child never ends by itself.
    ///     outer.create_fallible(TaskGroup::scope(move |inner| {
    ///         *slot.borrow_mut() = Some(inner.create_task(pending::<()>()));
    ///         async { Ok(()) }
    ///     }));
    ///     outer.create_fallible(async {
    ///         yield_now().await;
    ///         Err::<(), _>("failed")
    ///     });
    ///     async { Ok(()) }
    /// }));
    /// assert!(outcome.is_err());
    /// // The failure cancelled the inner group's child too, before the outer scope returned.
    /// let deep = deep.borrow_mut().take().unwrap();
    /// assert!(deep.is_done() && deep.is_cancelled());
    /// ```
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, TaskGroup};
    ///
    /// let total = run(TaskGroup::scope(|tg| async move {
    ///     let a = tg.create_task(async { 20 });
    ///     let b = tg.create_fallible(async { "22".parse::<u32>() });
    ///     Ok(a.await? + b.await?)
    /// }));
    /// assert_eq!(total.unwrap(), 42);
    /// ```
    ///
    /// In a function returning `anyhow::Result` (or `Result<_, Box<dyn Error + Send +
    /// Sync>>`), `?` takes the body's value out of the scope, or the group's error on:
    ///
    /// ```
    /// use std::error::Error;
    /// use looplet::TaskGroup;
    ///
    /// async fn total() -> Result<u32, Box<dyn Error + Send + Sync>> {
    ///     let sum = TaskGroup::scope(|tg| async move {
    ///         let a = tg.create_task(async { 20 });
    ///         let b = tg.create_task(async { 22 });
    ///         Ok(a.await? + b.await?)
    ///     })
    ///     .await?;
    ///     Ok(sum)
    /// }
    ///
    /// assert_eq!(looplet::run(total()).unwrap(), 42);
    /// ```
    pub fn scope<T, F, Fut>(body: F) -> Scope<T, F, Fut>
    where
        F: FnOnce(TaskGroup) -> Fut,
        Fut: Future<Output = Result<T, BoxError>>,
    {
        Scope::new(body, false)
    }

    /// Creates a child task running `future` (asyncio's `tg.create_task`); its value is
    /// whatever `future` returns.
    ///
    /// Any output will do but a `Result`: a child that can fail — an `Err` that should stop
    /// the group, as an exception stops an asyncio `TaskGroup` — goes to
    /// [`create_fallible`](TaskGroup::create_fallible), and a `Result` given here is a
    /// compile error saying so (see [`ChildValue`]). A panic in the child fails the group
    /// either way. The child starts at the loop's next turn. In a group that is shutting
    /// down, the task is created already cancelled: its future never runs.
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
    /// use looplet::{run, TaskGroup};
    ///
    /// run(TaskGroup::scope(|tg| async move {
    ///     let answer = tg.create_task(async { 6 * 7 });
    ///     // A child can create more children through its own clone of the group.
    ///     let inner = tg.clone();
    ///     tg.create_task(async move {
    ///         inner.create_task(async {});
    ///     });
    ///     assert_eq!(answer.await?, 42);
    ///     Ok(())
    /// }))
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn create_task<F, Marker>(&self, future: F) -> ChildTask<F::Output>
    where
        F: Future + 'static,
        F::Output: ChildValue<Marker> + 'static,
    {
        self.builder().create_task(future)
    }

    /// Creates a child task running `future`, a future that can fail: its `Err` fails the
    /// group — every other child and the body are cancelled, and the error comes back in
    /// the scope's [`GroupError`] — as an exception does in asyncio. Its `Ok` is the child's
    /// value. The error may be any `E` that converts into a [`BoxError`].
    ///
    /// # Panics
    ///
    /// Panics when the group has finished (its scope returned) — use
    /// [`try_create_fallible`](TaskGroup::try_create_fallible) to get that as an error — and
    /// when no looplet loop is running on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::pending;
    /// use looplet::{run, yield_now, TaskGroup};
    ///
    /// let outcome = run(TaskGroup::scope(|tg| async move {
    ///     let stuck = tg.create_task(pending::<()>());
    ///     tg.create_fallible(async {
    ///         yield_now().await;
    ///         "A".parse::<u32>()
    ///     });
    ///     stuck.await?; // cancelled by the failure, with the body
    ///     Ok(())
    /// }));
    /// let group = outcome.unwrap_err();
    /// assert_eq!(group.errors()[0].to_string(), "invalid digit found in string");
    /// ```
    #[track_caller]
    pub fn create_fallible<F, T, E>(&self, future: F) -> ChildTask<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: Into<BoxError>,
    {
        self.builder().create_fallible(future)
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
    /// use looplet::{run, TaskGroup};
    ///
    /// run(TaskGroup::scope(|tg| async move {
    ///     let child = tg.try_create_task(async { 1 })?;
    ///     assert_eq!(child.await?, 1);
    ///     Ok(())
    /// }))
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn try_create_task<F, Marker>(
        &self,
        future: F,
    ) -> Result<ChildTask<F::Output>, CreateTaskError>
    where
        F: Future + 'static,
        F::Output: ChildValue<Marker> + 'static,
    {
        self.builder().try_create_task(future)
    }

    /// Like [`create_fallible`](TaskGroup::create_fallible), but a finished group is an error
    /// instead of a panic.
    ///
    /// # Panics
    ///
    /// Panics when no looplet loop is running on this thread.
    #[track_caller]
    pub fn try_create_fallible<F, T, E>(&self, future: F) -> Result<ChildTask<T>, CreateTaskError>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: Into<BoxError>,
    {
        self.builder().try_create_fallible(future)
    }

    /// A builder for a child with settings, such as its name (asyncio's
    /// `tg.create_task(coro, name=...)`); see [`ChildBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, TaskGroup};
    ///
    /// run(TaskGroup::scope(|tg| async move {
    ///     let child = tg.builder().name("indexer").create_task(async {});
    ///     assert_eq!(child.name(), "indexer");
    ///     Ok(())
    /// }))
    /// .unwrap();
    /// ```
    pub fn builder(&self) -> ChildBuilder<'_> {
        ChildBuilder::new(&self.shared)
    }

    /// Stops the whole group on purpose (asyncio 3.15's `TaskGroup.cancel`): every child is
    /// cancelled, and so is the body at its next suspension. If the body had not returned
    /// by then, the scope has no value to give: it returns a [`GroupError`] with no error in
    /// it, for which [`is_cancelled`](GroupError::is_cancelled) is true — unless something
    /// failed, which is an ordinary failure. A body that returned its value keeps it, and
    /// the scope returns `Ok(value)` once the children are cancelled. Calling `cancel` on a
    /// group that is already shutting down or closed does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, TaskGroup};
    ///
    /// let outcome = run(TaskGroup::scope(|tg| async move {
    ///     let forever = tg.create_task(std::future::pending::<()>());
    ///     let stopper = tg.clone();
    ///     tg.create_task(async move { stopper.cancel() });
    ///     forever.await?; // the body is cancelled while it waits here
    ///     unreachable!("the group was cancelled");
    /// }));
    /// let group: looplet::GroupError = outcome.map(|()| ()).unwrap_err();
    /// assert!(group.is_cancelled()); // told apart from a failure
    /// assert!(group.errors().is_empty());
    /// ```
    pub fn cancel(&self) {
        if self.shared.state() == GroupState::Open {
            self.shared.abort();
        }
    }

    /// Where the group is in its life.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, yield_now, GroupState, TaskGroup};
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
        self.shared.state()
    }

    /// Whether this group was made by [`TaskGroup::supervise`], so that no failure cancels
    /// the rest.
    ///
    /// ```
    /// use looplet::{run, TaskGroup};
    ///
    /// run(TaskGroup::supervise(|tg| async move {
    ///     assert!(tg.is_supervisor());
    ///     Ok(())
    /// }))
    /// .unwrap();
    /// ```
    pub fn is_supervisor(&self) -> bool {
        self.shared.is_supervisor()
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
            .field("supervisor", &self.is_supervisor())
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
    /// The body's value, once it returned one. `None` at the end with no error and no panic
    /// means the body was dropped at a suspension: the group was cancelled on purpose.
    value: Option<T>,
    body_error: Option<BoxError>,
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
    /// A scope that will run `body` in a new group, a supervisor group if `supervising`.
    pub(crate) fn new(body: F, supervising: bool) -> Scope<T, F, Fut> {
        Scope {
            group: TaskGroup {
                shared: Shared::new(supervising),
            },
            start: Some(body),
            body: None,
            value: None,
            body_error: None,
            finished: false,
        }
    }

    /// Polls the body once if the group is open; drops it if the group is shutting down.
    fn poll_body(&mut self, cx: &mut Context<'_>) {
        let Some(body) = self.body.as_mut() else {
            return;
        };
        let shared = Rc::clone(&self.group.shared);
        if shared.state() == GroupState::Open {
            let polled = catch_unwind(AssertUnwindSafe(|| {
                shared.enclosing(|| body.as_mut().poll(cx))
            }));
            match polled {
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(Ok(value))) => {
                    self.body = None;
                    self.value = Some(value);
                    return;
                }
                // A supervisor waits for its children after its body failed or panicked,
                // as `std::thread::scope` does.
                Ok(Poll::Ready(Err(error))) => {
                    self.body = None;
                    self.body_error = Some(error);
                    if !shared.is_supervisor() {
                        shared.abort();
                    }
                    return;
                }
                Err(payload) => {
                    self.body = None;
                    shared.record_panic(payload, "the TaskGroup's body");
                    if !shared.is_supervisor() {
                        shared.abort();
                    }
                    return;
                }
            }
        }
        if shared.state() != GroupState::Open {
            // Shutting down: the body stops at this suspension. Its `Drop` code may use the
            // group; no cell of `Shared` is borrowed here.
            self.body = None;
        }
    }

    /// Closes the group and turns its record into the scope's output.
    fn finish(&mut self) -> Result<T, GroupError> {
        let shared = &self.group.shared;
        let (mut errors, panic) = shared.close();
        let body_failed = self.body_error.is_some();
        errors.extend(self.body_error.take());
        if let Some(payload) = panic {
            shared.report_unread(&errors, None);
            resume_unwind(payload);
        }
        if !errors.is_empty() {
            return Err(GroupError::new(errors, body_failed));
        }
        // No value, no error, no panic: the body was dropped because the group shut down,
        // and nothing failed — it was cancelled on purpose.
        self.value.take().ok_or_else(GroupError::cancelled)
    }
}

impl<T, F, Fut> Future for Scope<T, F, Fut>
where
    F: FnOnce(TaskGroup) -> Fut,
    Fut: Future<Output = Result<T, BoxError>>,
{
    type Output = Result<T, GroupError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            !this.finished,
            "a TaskGroup scope was polled after it returned; await it once"
        );
        this.group.shared.set_scope_waker(cx.waker());
        if let Some(start) = this.start.take() {
            this.group.shared.find_parent();
            this.body = Some(Box::pin(start(this.group.clone())));
        }
        this.poll_body(cx);
        if this.body.is_some() || !this.group.shared.is_settled() {
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
        self.group.shared.scope_dropped(self.body_error.take());
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
