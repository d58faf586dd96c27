//! Creating a group's children: [`ChildBuilder`], with which every `create_*` method of a
//! `TaskGroup` makes its child, named or not.
//!
//! # Two kinds of child
//!
//! * `create_task`: any output but a `Result` ([`ChildValue`]); the child's value is its
//!   output. Only a panic fails the group.
//! * `create_fallible`: a `Result` output; an `Err` fails the group (asyncio's exception),
//!   an `Ok` is the child's value.
//!
//! Both run the same wrapper future (`child_future.rs`); they differ only in the `split` it
//! is given, which tells the child's value from an error for the group.
//!
//! # Ground rules
//!
//! * A child's registry key is reserved before its task exists, and filled in right after:
//!   nothing can take it meanwhile, since creating a task runs no user code.
//! * The builder borrows the group's record, so making a child costs no reference count
//!   beyond the one its future holds.

use std::fmt;
use std::future::Future;
use std::rc::Rc;

use looplet_executor::{create_task, Task, TaskBuilder};

use crate::child::{ChildInner, ChildTask, ChildValue};
use crate::child_future::child_future;
use crate::error::{BoxError, CreateTaskError};
use crate::shared::{GroupState, Shared};

/// Creates a child of a [`TaskGroup`](crate::TaskGroup) with settings — for now its name —
/// as [`TaskBuilder`] does for a plain task. Get one from
/// [`TaskGroup::builder`](crate::TaskGroup::builder).
///
/// # Examples
///
/// ```
/// use looplet::{current_task_name, run, TaskGroup};
///
/// run(TaskGroup::scope(|tg| async move {
///     let fetcher = tg.builder().name("fetcher").create_task(async {
///         current_task_name() // a child reads its own name
///     });
///     assert_eq!(fetcher.name(), "fetcher");
///     assert_eq!(fetcher.await?.as_deref(), Some("fetcher"));
///     Ok(())
/// }))
/// .unwrap();
/// ```
#[must_use = "a ChildBuilder creates nothing until one of its create_* methods is called"]
pub struct ChildBuilder<'a> {
    shared: &'a Rc<Shared>,
    name: Option<String>,
}

impl<'a> ChildBuilder<'a> {
    pub(crate) fn new(shared: &'a Rc<Shared>) -> ChildBuilder<'a> {
        ChildBuilder { shared, name: None }
    }

    /// Names the child (shown by [`ChildTask::name`], in its errors, traces and debug
    /// warnings, and to the child itself through
    /// [`current_task_name`](looplet_executor::current_task_name)); without a name it is
    /// `Task-N`.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, TaskGroup};
    ///
    /// run(TaskGroup::scope(|tg| async move {
    ///     let parser = tg.builder().name("parser").create_fallible(async {
    ///         "42".parse::<u32>()
    ///     });
    ///     assert_eq!(parser.name(), "parser");
    ///     assert_eq!(parser.await?, 42);
    ///     Ok(())
    /// }))
    /// .unwrap();
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> ChildBuilder<'a> {
        self.name = Some(name.into());
        self
    }

    /// Creates the child; see [`TaskGroup::create_task`](crate::TaskGroup::create_task).
    ///
    /// # Panics
    ///
    /// Panics when the group has finished, and when no looplet loop is running on this
    /// thread.
    #[track_caller]
    pub fn create_task<F, Marker>(self, future: F) -> ChildTask<F::Output>
    where
        F: Future + 'static,
        F::Output: ChildValue<Marker> + 'static,
    {
        expect_open(self.try_create_task(future))
    }

    /// Creates a child whose `Err` fails the group; see
    /// [`TaskGroup::create_fallible`](crate::TaskGroup::create_fallible).
    ///
    /// # Panics
    ///
    /// Panics when the group has finished, and when no looplet loop is running on this
    /// thread.
    #[track_caller]
    pub fn create_fallible<F, T, E>(self, future: F) -> ChildTask<T>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: Into<BoxError>,
    {
        expect_open(self.try_create_fallible(future))
    }

    /// Like [`create_task`](ChildBuilder::create_task), but a finished group is an error
    /// instead of a panic.
    ///
    /// # Panics
    ///
    /// Panics when no looplet loop is running on this thread.
    #[track_caller]
    pub fn try_create_task<F, Marker>(
        self,
        future: F,
    ) -> Result<ChildTask<F::Output>, CreateTaskError>
    where
        F: Future + 'static,
        F::Output: ChildValue<Marker> + 'static,
    {
        self.spawn(future, Ok)
    }

    /// Like [`create_fallible`](ChildBuilder::create_fallible), but a finished group is an
    /// error instead of a panic.
    ///
    /// # Panics
    ///
    /// Panics when no looplet loop is running on this thread.
    #[track_caller]
    pub fn try_create_fallible<F, T, E>(self, future: F) -> Result<ChildTask<T>, CreateTaskError>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: Into<BoxError>,
    {
        self.spawn(future, |output: Result<T, E>| output.map_err(Into::into))
    }

    /// Makes the child: its task runs `future`, whose output `split` turns into the child's
    /// value or an error that fails the group.
    #[track_caller]
    pub(crate) fn spawn<F, T, S>(self, future: F, split: S) -> Result<ChildTask<T>, CreateTaskError>
    where
        F: Future + 'static,
        T: 'static,
        S: FnOnce(F::Output) -> Result<T, BoxError> + 'static,
    {
        let shared = self.shared;
        if shared.state() == GroupState::Closed {
            return Err(CreateTaskError::closed());
        }
        // See "Ground rules": the key is reserved first, then filled in.
        let key = shared.vacant_key();
        let future = child_future(future, split, Rc::clone(shared), key);
        let task = match self.name {
            None => create_task(future),
            Some(name) => spawn_named(name, future),
        };
        let child = ChildInner::new(task, Rc::downgrade(shared));
        shared.register(key, child.clone());
        Ok(ChildTask::new(child))
    }
}

impl fmt::Debug for ChildBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildBuilder")
            .field("group_state", &self.shared.state())
            .field("name", &self.name)
            .finish()
    }
}

/// Creates a named task. Kept out of line, so that an unnamed child pays for its own path
/// only: inlined here, the named path cost every child of the `taskgroup` bench 37
/// instructions (callgrind, 1,552 → 1,515 a child).
#[cold]
#[inline(never)]
#[track_caller]
fn spawn_named<F>(name: String, future: F) -> Task<F::Output>
where
    F: Future + 'static,
{
    TaskBuilder::new().name(name).spawn(future)
}

/// The child, or the panic that a finished group asks for.
#[track_caller]
pub(crate) fn expect_open<T>(created: Result<ChildTask<T>, CreateTaskError>) -> ChildTask<T> {
    match created {
        Ok(child) => child,
        Err(error) => panic!("{error}"),
    }
}
