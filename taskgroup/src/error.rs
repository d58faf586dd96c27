//! The errors a task group hands back: [`GroupError`] (asyncio's `ExceptionGroup`) and
//! [`CreateTaskError`] (a task offered to a group that has finished).
//!
//! Both are opaque: read them through their methods, never their fields. A `GroupError` is
//! never empty — a group with nothing to report returns `Ok` — and its errors keep the order
//! in which they happened, the body's (if any) last.

use std::error::Error;
use std::fmt;

/// The error type of a group's body and of its fallible children: any error, boxed, as
/// asyncio lets a task raise any exception. `?` converts every `std::error::Error` (and
/// `String` and `&str`) into it.
///
/// It is not `Send`: the loop is single-threaded, and this lets `?` take errors that are not
/// `Sync` either — a [`TaskError`](looplet_executor::TaskError) from awaiting a child, or an
/// error holding an `Rc`.
pub type BoxError = Box<dyn Error + 'static>;

/// Every error of a failed [`TaskGroup`](crate::TaskGroup), in the order they happened,
/// the body's last (asyncio's `ExceptionGroup`).
///
/// Cancelled children are not errors: neither those the group cancelled while shutting
/// down, nor those cancelled through their own handle.
///
/// # Examples
///
/// ```
/// use looplet_executor::run;
/// use looplet_taskgroup::TaskGroup;
///
/// let outcome = run(TaskGroup::scope(|tg| async move {
///     tg.create_task(async { Err::<(), _>("the disk is full") });
///     Ok(())
/// }));
/// let group = outcome.unwrap_err();
/// assert_eq!(group.errors().len(), 1);
/// assert_eq!(group.to_string(), "1 task of the group failed: the disk is full");
/// let errors: Vec<String> = group.into_iter().map(|error| error.to_string()).collect();
/// assert_eq!(errors, ["the disk is full"]);
/// ```
pub struct GroupError {
    errors: Vec<BoxError>,
    body_failed: bool,
}

impl GroupError {
    /// Wraps `errors` (never empty); `body_failed` says the last one is the body's.
    pub(crate) fn new(errors: Vec<BoxError>, body_failed: bool) -> GroupError {
        debug_assert!(!errors.is_empty(), "a GroupError always holds an error");
        GroupError {
            errors,
            body_failed,
        }
    }

    /// The errors, in the order they happened; the body's, if it failed, is last.
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
    /// use looplet_executor::{run, yield_now};
    /// use looplet_taskgroup::TaskGroup;
    ///
    /// let group = run(TaskGroup::scope(|tg| async move {
    ///     tg.create_task(async { Err::<(), _>("child") });
    ///     yield_now().await; // the child fails first, in the same turn as the body
    ///     Err::<(), _>("body".into())
    /// }))
    /// .unwrap_err();
    /// let all: Vec<String> = group.iter().map(|e| e.to_string()).collect();
    /// assert_eq!(all, ["child", "body"]);
    /// assert_eq!(group.body_error().unwrap().to_string(), "body");
    /// ```
    pub fn body_error(&self) -> Option<&(dyn Error + 'static)> {
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
            [] => write!(f, "a task group failed with no error recorded"),
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
