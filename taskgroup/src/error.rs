//! The errors a task group hands back: [`GroupError`] (asyncio's `ExceptionGroup`) and
//! [`CreateTaskError`] (a task offered to a group that has finished).
//!
//! Both are opaque: read them through their methods, never their fields. A `GroupError` holds
//! at least one error, unless the group was stopped on purpose before its body returned
//! ([`GroupError::is_cancelled`]); its errors keep the order in which they happened, the
//! body's (if any) last. Both are `Send + Sync + 'static`, so `?` carries them into
//! `anyhow::Error` and `Box<dyn Error + Send + Sync>`.

use std::error::Error;
use std::fmt;

/// The error type of a group's body and of its fallible children: any error, boxed, as
/// asyncio lets a task raise any exception. `?` converts into it every `std::error::Error`
/// that is `Send + Sync` — a [`TaskError`](looplet_executor::TaskError) from awaiting a
/// child, a [`GroupError`] from a nested group, an `anyhow::Error` — and `String` and `&str`.
///
/// It is `Send + Sync` so that the [`GroupError`] holding it is too, and travels on with `?`
/// into `anyhow` or a `Box<dyn Error + Send + Sync>`, as Rust errors are expected to. An
/// error that is not `Send + Sync` (one holding an `Rc`) is refused where it is converted:
/// turn it into a message first (`error.to_string()`).
///
/// # Examples
///
/// ```
/// use looplet::{run, BoxError, TaskGroup};
///
/// async fn parse(text: &str) -> Result<u32, BoxError> {
///     Ok(text.parse::<u32>()?) // a ParseIntError becomes a BoxError
/// }
///
/// let outcome = run(TaskGroup::scope(|tg| async move {
///     tg.create_fallible(parse("x"));
///     Ok(())
/// }));
/// assert!(outcome.unwrap_err().errors()[0].is::<std::num::ParseIntError>());
/// ```
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Why a [`TaskGroup`](crate::TaskGroup)'s scope gave no value: every error of a failed
/// group, in the order they happened, the body's last (asyncio's `ExceptionGroup`) — or, with
/// no error at all, a group stopped on purpose by [`TaskGroup::cancel`] before its body
/// returned ([`is_cancelled`](GroupError::is_cancelled)).
///
/// Cancelled children are not errors: neither those the group cancelled while shutting
/// down, nor those cancelled through their own handle.
///
/// `Send + Sync + 'static`, so `?` carries it on into `anyhow::Error` or a
/// `Box<dyn Error + Send + Sync>`; [`errors`](GroupError::errors) gives each error back, to
/// downcast to your own types.
///
/// # Examples
///
/// ```
/// use looplet::{run, TaskGroup};
///
/// let outcome = run(TaskGroup::scope(|tg| async move {
///     tg.create_fallible(async { Err::<(), _>("the disk is full") });
///     Ok(())
/// }));
/// let group = outcome.unwrap_err();
/// assert_eq!(group.errors().len(), 1);
/// assert_eq!(group.to_string(), "1 task of the group failed: the disk is full");
/// let errors: Vec<String> = group.into_iter().map(|error| error.to_string()).collect();
/// assert_eq!(errors, ["the disk is full"]);
/// ```
///
/// [`TaskGroup::cancel`]: crate::TaskGroup::cancel
pub struct GroupError {
    errors: Vec<BoxError>,
    body_failed: bool,
}

impl GroupError {
    /// Wraps `errors` (never empty); `body_failed` says the last one is the body's.
    pub(crate) fn new(errors: Vec<BoxError>, body_failed: bool) -> GroupError {
        debug_assert!(!errors.is_empty(), "a failed group holds an error");
        GroupError {
            errors,
            body_failed,
        }
    }

    /// The group was stopped on purpose before its body returned, and nothing failed.
    pub(crate) fn cancelled() -> GroupError {
        GroupError {
            errors: Vec::new(),
            body_failed: false,
        }
    }

    /// Whether the group was stopped on purpose — by [`TaskGroup::cancel`] — before its body
    /// returned a value, with nothing failing: the scope has no value to give, and no error
    /// either ([`errors`](GroupError::errors) is empty). A caller that never cancels its
    /// group never sees this.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::pending;
    /// use looplet::{run, TaskGroup};
    ///
    /// let outcome = run(TaskGroup::scope(|tg| async move {
    ///     let stopper = tg.clone();
    ///     tg.create_task(async move { stopper.cancel() });
    ///     pending::<()>().await; // the body is cancelled while it waits here
    ///     Ok("never")
    /// }));
    /// let stopped = match outcome {
    ///     Ok(value) => Some(value),
    ///     Err(group) if group.is_cancelled() => None, // told apart from a failure
    ///     Err(group) => panic!("the group failed: {group}"),
    /// };
    /// assert_eq!(stopped, None);
    /// ```
    ///
    /// [`TaskGroup::cancel`]: crate::TaskGroup::cancel
    pub fn is_cancelled(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors, in the order they happened; the body's, if it failed, is last. Empty only
    /// for a group that was [cancelled](GroupError::is_cancelled).
    pub fn errors(&self) -> &[BoxError] {
        &self.errors
    }

    /// The errors by reference, in order; the same as `errors().iter()`.
    pub fn iter(&self) -> std::slice::Iter<'_, BoxError> {
        self.errors.iter()
    }

    /// The errors by value, in order, e.g. to downcast them to your own types.
    pub fn into_errors(self) -> Vec<BoxError> {
        self.errors
    }

    /// The body's own error, when the body failed (it is also the last of
    /// [`errors`](GroupError::errors)).
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, yield_now, TaskGroup};
    ///
    /// let group = run(TaskGroup::scope(|tg| async move {
    ///     tg.create_fallible(async { Err::<(), _>("child") });
    ///     yield_now().await; // the child fails first, in the same turn as the body
    ///     Err::<(), _>("body".into())
    /// }))
    /// .unwrap_err();
    /// let all: Vec<String> = group.iter().map(|e| e.to_string()).collect();
    /// assert_eq!(all, ["child", "body"]);
    /// assert_eq!(group.body_error().unwrap().to_string(), "body");
    /// ```
    pub fn body_error(&self) -> Option<&(dyn Error + Send + Sync + 'static)> {
        match self.errors.last() {
            Some(error) if self.body_failed => Some(error.as_ref()),
            _ => None,
        }
    }
}

impl IntoIterator for GroupError {
    type Item = BoxError;
    type IntoIter = std::vec::IntoIter<BoxError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

impl<'a> IntoIterator for &'a GroupError {
    type Item = &'a BoxError;
    type IntoIter = std::slice::Iter<'a, BoxError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.as_slice() {
            [] => write!(
                f,
                "the TaskGroup was cancelled (TaskGroup::cancel) before its body returned a \
                 value; GroupError::is_cancelled tells this apart from a failure"
            ),
            [only] => write!(f, "1 task of the group failed: {only}"),
            [first, ..] => write!(
                f,
                "{} tasks of the group failed, the first with: {first} \
                 (iterate GroupError::errors() to see every one)",
                self.errors.len()
            ),
        }
    }
}

impl fmt::Debug for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("errors", &self.errors)
            .field("body_failed", &self.body_failed)
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Error for GroupError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        let first: &(dyn Error + 'static) = self.errors.first()?.as_ref();
        Some(first)
    }
}

/// Why [`TaskGroup::try_create_task`](crate::TaskGroup::try_create_task) refused a task: the
/// group has finished (its scope returned), so nobody would wait for the task.
///
/// # Examples
///
/// ```
/// use looplet_executor::run;
/// use looplet_taskgroup::TaskGroup;
///
/// run(async {
///     let mut kept = None;
///     TaskGroup::scope(|tg| {
///         kept = Some(tg.clone());
///         async { Ok(()) }
///     })
///     .await
///     .unwrap();
///     let error = kept.unwrap().try_create_task(async {}).unwrap_err();
///     assert!(error.is_closed());
/// });
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CreateTaskError {
    _private: (),
}

impl CreateTaskError {
    pub(crate) fn closed() -> CreateTaskError {
        CreateTaskError { _private: () }
    }

    /// Whether the group had finished (the only reason there is, for now).
    pub fn is_closed(&self) -> bool {
        true
    }
}

impl fmt::Display for CreateTaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot create a task in a TaskGroup that has finished (its scope returned, so \
             nobody would wait for the task): create tasks while the scope runs, or open a \
             new TaskGroup::scope"
        )
    }
}

impl fmt::Debug for CreateTaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateTaskError")
            .field("closed", &true)
            .finish()
    }
}

impl Error for CreateTaskError {}
