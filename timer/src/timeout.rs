//! `timeout`: run a future against a deadline.
//!
//! The body is always polled before the deadline is checked, so a zero or past deadline
//! fires at the body's first suspension, never before it has had a chance to finish. A
//! `timeout` may be made with no loop running; its deadline is then fixed at its first
//! poll, like a [`sleep`](crate::sleep)'s.
//!
//! When timeouts are nested and several have expired, the *outermost* one reports: while an
//! expired timeout polls its body it raises a thread-local count, and an expired inner
//! timeout that sees the count above zero stays pending instead of reporting — its enclosing
//! timeout then returns `Elapsed` in the same poll.
//!
//! A `Timeout` is also asyncio's timeout handle: [`Timeout::when`], [`Timeout::reschedule`]
//! and [`Timeout::expired`]. It is `Unpin` (the body is boxed, the sleep is plain data), so
//! code awaiting it through `&mut` can reschedule it between polls. Once it has returned it
//! remembers whether its deadline had passed, and refuses another poll or a reschedule.

use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::context::expect_current;
use crate::{sleep_until, Sleep};

thread_local! {
    /// How many expired timeouts are polling their bodies right now, on this thread.
    static EXPIRED_OUTER_TIMEOUTS: Cell<usize> = const { Cell::new(0) };
}

/// Runs `future` for at most `duration`: its output, or [`Elapsed`] if the time ran out.
///
/// The deadline is fixed when `timeout` is called, or at the first poll when no loop is
/// running then. `Duration::ZERO` fires at the body's first suspension:
/// `timeout(Duration::ZERO, sleep(Duration::ZERO))` elapses, since a zero sleep yields once.
///
/// # Panics
///
/// Never when called; polling the `Timeout` panics with no looplet loop running on the
/// thread.
///
/// # Cancellation
///
/// When the time runs out the body is dropped, which cancels it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use looplet::{sleep, timeout};
///
/// looplet::Runner::builder().virtual_clock(true).build().run(async {
///     let quick = timeout(Duration::from_secs(1), async { 7 });
///     assert_eq!(quick.await, Ok(7));
///
///     let slow = timeout(Duration::from_secs(1), sleep(Duration::from_secs(10)));
///     let elapsed = slow.await.unwrap_err(); // cancelled after one (virtual) second
///     assert_eq!(elapsed.to_string(), "deadline has elapsed before the future completed");
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    let sleep = Sleep::after(duration, false);
    Timeout {
        future: Box::pin(future),
        sleep,
        end: End::Running,
    }
}

/// Runs `future` until `deadline` at most; see [`timeout`].
///
/// # Examples
///
/// ```
/// use std::future::pending;
/// use std::time::Duration;
///
/// looplet::Runner::builder().virtual_clock(true).build().run(async {
///     // Several steps against one deadline, asyncio's `timeout_at(loop.time() + 5)`.
///     let deadline = looplet::now() + Duration::from_secs(5);
///     let first = looplet::timeout_at(deadline, looplet::sleep(Duration::from_secs(3)));
///     assert!(first.await.is_ok());
///     let second = looplet::timeout_at(deadline, pending::<()>());
///     assert_eq!(second.await.unwrap_err().deadline(), deadline);
///     assert_eq!(looplet::now(), deadline);
/// });
/// ```
///
/// # Panics
///
/// Never when called; polling the `Timeout` panics with no looplet loop running on the
/// thread.
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future: Box::pin(future),
        sleep: sleep_until(deadline),
        end: End::Running,
    }
}

/// The future returned by [`timeout`] and [`timeout_at`], and the handle asyncio's
/// `asyncio.timeout()` context manager gives: [`when`](Timeout::when),
/// [`reschedule`](Timeout::reschedule), [`expired`](Timeout::expired).
///
/// A `Timeout` is `Unpin`, so it can be awaited through `&mut` and looked at or
/// rescheduled between polls — say, to push a deadline back whenever a slow download
/// shows progress.
#[must_use = "a Timeout does nothing unless awaited"]
#[derive(Debug)]
pub struct Timeout<F> {
    future: Pin<Box<F>>,
    sleep: Sleep,
    end: End,
}

/// Whether a timeout has returned, and whether its deadline had passed when it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Running,
    Finished { expired: bool },
}

impl<F> Timeout<F> {
    /// The deadline the body must finish by; for one made with no loop running and not
    /// polled yet, what it would be if polled now (see [`Sleep::deadline`]).
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// The deadline, asyncio's name for it: the same as [`deadline`](Timeout::deadline).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// looplet::Runner::builder().virtual_clock(true).build().run(async {
    ///     let guarded = looplet::timeout(Duration::from_secs(3), async { 7 });
    ///     assert_eq!(guarded.when(), looplet::now() + Duration::from_secs(3));
    ///     assert_eq!(guarded.await, Ok(7));
    /// });
    /// ```
    pub fn when(&self) -> Instant {
        self.deadline()
    }

    /// Moves the deadline to `deadline`, earlier or later, as asyncio's
    /// `Timeout.reschedule` does. The body keeps running; the new deadline counts from the
    /// next poll, and one already past fires then, at the body's next suspension. (asyncio's
    /// `reschedule(None)`, no deadline at all, is a deadline too far to reach:
    /// `now() + Duration::MAX` saturates and never fires.)
    ///
    /// # Panics
    ///
    /// Panics when the timeout has already returned: it has no deadline left to move.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// looplet::Runner::builder().virtual_clock(true).build().run(async {
    ///     let slow = looplet::sleep(Duration::from_secs(3));
    ///     let mut guarded = looplet::timeout(Duration::from_secs(1), slow);
    ///     guarded.reschedule(looplet::now() + Duration::from_secs(5)); // more time
    ///     assert!((&mut guarded).await.is_ok());
    ///     assert!(!guarded.expired());
    /// });
    /// ```
    #[track_caller]
    pub fn reschedule(&mut self, deadline: Instant) {
        assert!(
            self.end == End::Running,
            "Timeout::reschedule on a timeout that has already returned: it has no \
             deadline left to move; start a new looplet::timeout_at(deadline, future)"
        );
        self.sleep.reset(deadline);
    }

    /// Whether the deadline has been reached: once the timeout has returned, whether its
    /// deadline had passed by then (true for every `Elapsed`); before, whether it has passed
    /// on the current loop's clock, so that the next poll reports `Elapsed` unless the body
    /// finishes in it. asyncio's `Timeout.expired`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::pending;
    /// use std::time::Duration;
    ///
    /// looplet::Runner::builder().virtual_clock(true).build().run(async {
    ///     let mut stuck = looplet::timeout(Duration::from_secs(1), pending::<()>());
    ///     assert!(!stuck.expired());
    ///     assert!((&mut stuck).await.is_err());
    ///     assert!(stuck.expired());
    /// });
    /// ```
    pub fn expired(&self) -> bool {
        match self.end {
            End::Finished { expired } => expired,
            End::Running => self.sleep.is_elapsed(),
        }
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            this.end == End::Running,
            "a looplet Timeout polled again after it returned; await it once (or through \
             `&mut` until it returns)"
        );
        // A fresh clock reading on every poll, unlike `Sleep`, which judges by the last one:
        // a deadline already past must fire at the body's first suspension, and with nested
        // timeouts an outer one must judge by a reading no older than its inner ones', or
        // an inner timeout could report first. (Judging by the last reading once saved 52
        // instructions and a clock read per poll, and broke both: `tests/real_clock.rs`
        // has a test for each.)
        let expired = expect_current("awaiting a looplet Timeout", |queue| {
            let deadline = this.sleep.start(queue);
            queue.now() >= deadline
        });
        let enclosing_expired = EXPIRED_OUTER_TIMEOUTS.with(Cell::get) > 0;

        let body = {
            let _counted = expired.then(ExpiredGuard::enter);
            this.future.as_mut().poll(cx)
        };
        if let Poll::Ready(output) = body {
            this.end = End::Finished { expired };
            return Poll::Ready(Ok(output));
        }
        if expired || Pin::new(&mut this.sleep).poll(cx).is_ready() {
            if enclosing_expired {
                // An enclosing timeout has expired too; it reports, in this same poll.
                return Poll::Pending;
            }
            this.end = End::Finished { expired: true };
            return Poll::Ready(Err(Elapsed {
                deadline: this.deadline(),
            }));
        }
        Poll::Pending
    }
}

/// Counts one expired timeout as polling its body; uncounts it even if the body panics.
struct ExpiredGuard;

impl ExpiredGuard {
    fn enter() -> ExpiredGuard {
        EXPIRED_OUTER_TIMEOUTS.with(|count| count.set(count.get() + 1));
        ExpiredGuard
    }
}

impl Drop for ExpiredGuard {
    fn drop(&mut self) {
        let _ = EXPIRED_OUTER_TIMEOUTS.try_with(|count| count.set(count.get().saturating_sub(1)));
    }
}

/// The error of a [`timeout`] whose time ran out before its body finished.
///
/// Its `Display` reads "deadline has elapsed before the future completed". It is
/// `Send + Sync + 'static` and implements `std::error::Error`, so `?` carries it into
/// `Box<dyn Error + Send + Sync>` and the like.
///
/// # Examples
///
/// ```
/// use std::error::Error;
/// use std::future::pending;
/// use std::time::Duration;
///
/// async fn fetch() -> Result<u32, Box<dyn Error + Send + Sync>> {
///     let value = looplet::timeout(Duration::from_secs(2), pending::<u32>()).await?;
///     Ok(value)
/// }
///
/// let outcome = looplet::Runner::builder().virtual_clock(true).build().run(fetch());
/// assert!(outcome.unwrap_err().is::<looplet::Elapsed>());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed {
    deadline: Instant,
}

impl Elapsed {
    /// The deadline that passed.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed before the future completed")
    }
}

impl Error for Elapsed {}

// `Elapsed` travels through `?` into any error box: checked here, not only promised.
const _: () = {
    const fn send_sync_static<T: Send + Sync + 'static>() {}
    send_sync_static::<Elapsed>();
};
