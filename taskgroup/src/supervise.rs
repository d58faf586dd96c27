//! Supervisor groups: [`TaskGroup::supervise`], a scope in which a failing child does not
//! cancel its siblings. Every error is collected, and handed back once all have ended.
//!
//! # The rules, next to an ordinary group's
//!
//! | what happens                      | `TaskGroup::scope`             | `TaskGroup::supervise`          |
//! |-----------------------------------|--------------------------------|---------------------------------|
//! | a child returns `Err`             | every other task is cancelled  | recorded; the others go on      |
//! | the body returns `Err`            | every child is cancelled       | recorded; the scope still waits |
//! | a child or the body panics        | everything cancelled; resumed  | the others go on; resumed at the end |
//! | `tg.cancel()`, the scope dropped  | every child cancelled          | the same                        |
//!
//! A panic is resumed in the task awaiting the scope once every task under it has ended —
//! `std::thread::scope`'s rule. It is not turned into an error: a panic is a bug, and a
//! supervisor that swallowed it would hide that bug behind a list of failures. It does not
//! cancel the siblings either, since isolating one child from another is what a supervisor
//! is for; and the siblings' own errors, which the panic then wins over, go to stderr.
//!
//! The invariant is an ordinary group's: the scope returns only once the body, every child
//! and every task of a group nested in them have ended (`shared.rs`: nesting).
//!
//! Errors are kept until the scope returns, so a supervisor that runs forever and restarts
//! failing children keeps one error per failure: such a loop should handle its children's
//! errors itself (`create_task` with a child that catches them) and keep supervision for
//! the failures it means to report.

use std::future::Future;

use crate::error::BoxError;
use crate::group::{Scope, TaskGroup};

impl TaskGroup {
    /// Runs `body` with a new *supervisor* group and waits, on exit, for every child it
    /// created — like [`scope`](TaskGroup::scope), except that nothing failing cancels
    /// anything else (asked of asyncio in cpython#101581).
    ///
    /// * A child's `Err` (from [`create_fallible`](TaskGroup::create_fallible)) is recorded
    ///   and that child ends; its siblings and the body go on.
    /// * The body's `Err` is recorded too, last, and the scope still waits for the children.
    /// * A panic, in a child or the body, cancels nothing; the first one is resumed in the
    ///   task awaiting the scope once every task under it has ended, as
    ///   `std::thread::scope` does.
    /// * [`cancel`](TaskGroup::cancel) and dropping the scope cancel everything, as in any
    ///   group: that is how a supervisor is stopped.
    ///
    /// The scope gives `Ok(value)` when nothing failed, and otherwise a [`GroupError`] with
    /// every error, in the order they happened, the body's last.
    ///
    /// [`GroupError`]: crate::GroupError
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, yield_now, TaskGroup};
    ///
    /// let outcome = run(TaskGroup::supervise(|tg| async move {
    ///     tg.create_fallible(async { Err::<(), _>("worker 1 lost its connection") });
    ///     let slow = tg.create_task(async {
    ///         yield_now().await; // still running after both failures
    ///         "worker 2 done"
    ///     });
    ///     tg.create_fallible(async { Err::<(), _>("worker 3 ran out of disk") });
    ///     // The failures cancelled nobody: the slow worker finished its job.
    ///     assert_eq!(slow.await?, "worker 2 done");
    ///     Ok(())
    /// }));
    /// let errors: Vec<String> = outcome.unwrap_err().iter().map(|e| e.to_string()).collect();
    /// assert_eq!(errors, ["worker 1 lost its connection", "worker 3 ran out of disk"]);
    /// ```
    pub fn supervise<T, F, Fut>(body: F) -> Scope<T, F, Fut>
    where
        F: FnOnce(TaskGroup) -> Fut,
        Fut: Future<Output = Result<T, BoxError>>,
    {
        Scope::new(body, true)
    }
}
