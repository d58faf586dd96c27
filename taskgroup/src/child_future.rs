//! `child_future`: the future a child's task runs — the user's future, followed by a report
//! to the group of how it ended.
//!
//! # Why the child reports, not a done callback
//!
//! The group must learn of every child's end: it counts live children, collects errors and
//! panics, and wakes the scope when the last one is gone. A done callback on every child
//! would tell it, but costs a boxed closure (and the callback list it goes in) per child.
//! The wrapper future runs *inside* the child's task, so it can tell the group itself:
//!
//! * the user's future returned a value: the wrapper reports it from `poll`, then returns it;
//! * it returned an error — a `create_fallible` child's `Err`, split from its value by the
//!   `split` it was made with: the wrapper hands the error to the group from `poll`, which
//!   cancels the child; the wrapper then waits for that cancellation;
//! * it never returned — the child was cancelled, or its poll panicked: the loop drops the
//!   wrapper, and the `Drop` of its [`Report`] tells the group. This is the only way to see
//!   a cancellation, and `Drop` runs on the loop thread like everything else here.
//!
//! # Telling a panic from a cancellation
//!
//! A panic in the user's code unwinds out of `poll`; the loop catches it outside this future
//! (`poll_future` in the executor) and then drops the future in place. The report tells
//! that from a cancellation by its [`Progress`]: a report dropped while still `Polling` was
//! in the middle of the user's code, which can only mean that code panicked. The payload
//! itself is not here — the loop stores it as the task's outcome — so for a panic the group
//! adds a done callback to the child (the rare path) and takes the payload from there.
//!
//! # Ground rules
//!
//! * The report's registry key is the child's alone: reserved before the task exists, filled
//!   in by [`TaskGroup::try_create_task`](crate::TaskGroup::try_create_task) right after,
//!   used only by this report, and freed exactly once, by it (`Shared::child_left`). So a
//!   key is never stale, and needs no generation.
//! * The user's future is declared before the report, so it is dropped first: its `Drop` code
//!   runs while the child still counts as live, as it would for any task whose end is learned
//!   after its future is gone.
//! * While the user's future is polled, the child's group is the thread's "polling" group
//!   (`Shared::enclosing`), so a scope first polled in there is nested in it.
//! * `Polling` covers exactly the user's code — its `poll`, and turning its output into a
//!   value or an error — and the group is told only after that code has returned. So a
//!   report dropped while `Polling` can only mean that the user's code panicked.

use std::future::{pending, poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;

use crate::error::BoxError;
use crate::shared::Shared;

/// How far a child's future has got, as its report sees it.
///
/// ```text
///            poll: the user's future is polled
///   Waiting ───────────────────────────────▶ Polling ──Ready, a value──▶ Returned
///      ▲                                      │   │
///      └────────────── Pending ───────────────┘   └──Ready, an error──▶ Failed
/// ```
///
/// Dropped while `Waiting`: cancelled. While `Polling`: the user's code panicked. While
/// `Failed`: the cancellation the failure asked for. While `Returned`: nothing left to say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Progress {
    /// Between two polls, or not polled yet. The only state in which the future is polled.
    Waiting,
    /// Inside the user's future's `poll`, or turning its output into a value or an error:
    /// user code is running. Left before `poll` returns, unless that code panics.
    Polling,
    /// The user's future returned an error; it is the group's, and the child has been
    /// asked to cancel. Never polled again: the loop drops it right after this poll.
    Failed,
    /// The user's future returned its value, and the group was told.
    Returned,
}

/// The part of a child's future that speaks to the group; see the module docs.
pub(crate) struct Report {
    group: Rc<Shared>,
    /// The child's key in the group's registry (its own: see "Ground rules").
    key: usize,
    progress: Progress,
}

impl Drop for Report {
    fn drop(&mut self) {
        match self.progress {
            // Cancelled — by the group, through a handle, by the loop closing, or because it
            // failed — and whatever ended it, it leaves the group now.
            Progress::Waiting | Progress::Failed => self.group.child_left(self.key),
            Progress::Polling => self.group.child_panicked(self.key),
            Progress::Returned => {}
        }
    }
}

/// The parts a child's future starts from. As one value they are dropped in field order —
/// the user's future first — even when the child is cancelled before its first poll.
struct Parts<F> {
    future: F,
    report: Report,
}

/// The future a child's task runs: `future`, then a report to the group; see the module
/// docs. `split` tells the child's value from an error that fails the group: `Ok` for a
/// `create_task` child, which cannot fail that way. An `async` block with `pin!` does the
/// pinning, so no `unsafe` and no pin-projection crate are needed.
pub(crate) fn child_future<F, T, S>(
    future: F,
    split: S,
    group: Rc<Shared>,
    key: usize,
) -> impl Future<Output = T>
where
    F: Future,
    S: FnOnce(F::Output) -> Result<T, BoxError>,
{
    let parts = Parts {
        future,
        report: Report {
            group,
            key,
            progress: Progress::Waiting,
        },
    };
    async move {
        let Parts { future, mut report } = parts;
        // Declared after `report`, so dropped before it: see "Ground rules".
        let mut future = pin!(future);
        let output = poll_fn(|cx| {
            report.progress = Progress::Polling;
            // A scope first polled in here is nested in this child's group.
            let polled = report.group.enclosing(|| future.as_mut().poll(cx));
            if polled.is_pending() {
                report.progress = Progress::Waiting;
            }
            polled
        })
        .await;
        // Still `Polling`, in the same poll: `split` may run user code (an `Into<BoxError>`).
        let output = split(output);
        match output {
            Ok(value) => {
                report.progress = Progress::Returned;
                report.group.child_left(report.key);
                value
            }
            Err(error) => {
                report.progress = Progress::Failed;
                report.group.child_failed(report.key, error);
                // The group cancelled this task: it ends at this suspension, and the loop
                // drops this future, which reports `Failed`.
                pending().await
            }
        }
    }
}
