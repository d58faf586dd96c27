//! `YieldOnce`: the yield future shared by every runtime in the benches.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Returns `Pending` once, after waking its own task, then `Ready`.
///
/// This is the smallest honest yield: the wake goes through the runtime's waker (so the
/// task is re-queued behind the other ready tasks), and nothing runtime-specific is
/// involved. tokio's `yield_now` for instance defers the wake to the end of the tick, and
/// a runtime's own yield may skip the waker altogether; using one future for all keeps
/// `yield_many` a comparison of schedulers.
#[derive(Debug, Default)]
#[must_use = "YieldOnce does nothing unless awaited"]
pub struct YieldOnce {
    yielded: bool,
}

impl YieldOnce {
    /// A yield that has not happened yet.
    pub fn new() -> YieldOnce {
        YieldOnce { yielded: false }
    }
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
