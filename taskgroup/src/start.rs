//! `start`, Trio's `nursery.start`: create a child and wait until it says it has started,
//! with a value — the address a server bound, a handle it opened. [`Start`] is that wait,
//! [`Started`] is how the child says it, [`StartError`] is why it never did.
//!
//! # How a start ends
//!
//! The child and the waiting caller share one `StartSlot`. Exactly one outcome is put in it,
//! by whichever comes first:
//!
//! * the child calls [`Started::started`]: the caller gets the value; from then on the child
//!   is an ordinary fallible child of the group, and a later `Err` fails the group;
//! * the child's future returns `Err` before that: the caller gets the error, and the group
//!   does not (Trio's rule: until it has started, the child is the caller's business);
//! * it returns `Ok` before that, or can no longer start — it suspends without its
//!   `Started`, or that handle is dropped elsewhere — : an error naming the fix, and the
//!   child, which nobody waits for any more, is cancelled;
//! * it is cancelled or panics before that: an error saying so. A panic still belongs to
//!   the group, which handles it as any child's panic.
//!
//! The slot's `Guard`, in the child's future, tells a panic from a cancellation as
//! `child_future.rs` does: dropped while the user's code is being polled, it panicked. It
//! is dropped before the user's future, so a `Started` dropped with that future sees the
//! child ending and leaves the outcome to the guard. A `Started` dropped before the child's
//! first poll (a closure that never moved it into its future) decides nothing either: the
//! child's first poll does, so that a child failing at once reports its error.
//!
//! # Ground rules
//!
//! * A cell of the slot is borrowed for one read or write, never across user code or a
//!   waker call.
//! * Dropping the [`Start`] before an outcome cancels the child: nobody would get its value.

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::builder::{expect_open, ChildBuilder};
use crate::child::ChildTask;
use crate::error::BoxError;
use crate::group::TaskGroup;

impl TaskGroup {
    /// Creates a child from `make(started)` and waits until the child calls
    /// [`started.started(value)`](Started::started) — Trio's `nursery.start`. The wait gives
    /// `value`; the child keeps running in the group, as a
    /// [`create_fallible`](TaskGroup::create_fallible) child whose `Err` fails the group.
    ///
    /// Before it has started, the child is the caller's: if it returns `Err`, the caller
    /// gets that error (in a [`StartError`]) and the group does not. If it is cancelled, or
    /// returns `Ok` without starting, the caller gets an error saying so; and as soon as it
    /// can no longer start — it suspends without its `Started` (never moved it into its
    /// future, or dropped it), or the handle is dropped elsewhere — the caller gets an error
    /// naming the fix and the child is cancelled, rather than the caller waiting for a value
    /// that cannot come. A panic is the group's, as for any child; the caller learns of it
    /// ([`StartError::is_panicked`]) if it is still running. Dropping the wait before the
    /// child started cancels the child.
    ///
    /// # Panics
    ///
    /// Panics when the group has finished (its scope returned), and when no looplet loop is
    /// running on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, yield_now, TaskGroup};
    ///
    /// run(TaskGroup::scope(|tg| async move {
    ///     let port = tg
    ///         .start(|started| async move {
    ///             yield_now().await; // binding a listener, say
    ///             started.started(8080_u16);
    ///             // ... then serving, in the group, for as long as it likes.
    ///             Ok::<_, std::io::Error>(())
    ///         })
    ///         .await?;
    ///     assert_eq!(port, 8080); // the server is ready: connect to it
    ///     Ok(())
    /// }))
    /// .unwrap();
    /// ```
    #[track_caller]
    pub fn start<V, M, Fut, T, E>(&self, make: M) -> Start<V>
    where
        V: 'static,
        M: FnOnce(Started<V>) -> Fut,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: Into<BoxError> + 'static,
    {
        self.builder().start(make)
    }
}

impl ChildBuilder<'_> {
    /// Like [`TaskGroup::start`], for a child with these settings (its name).
    ///
    /// # Panics
    ///
    /// Panics when the group has finished, and when no looplet loop is running on this
    /// thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{run, TaskGroup};
    ///
    /// let outcome = run(TaskGroup::scope(|tg| async move {
    ///     let failed = tg
    ///         .builder()
    ///         .name("listener")
    ///         .start(|_started: looplet::Started<u16>| async { Err::<(), _>("port in use") })
    ///         .await;
    ///     // The error is the caller's, not the group's: the caller may try again.
    ///     assert_eq!(failed.unwrap_err().to_string(), "the task failed before it started: port in use");
    ///     Ok("recovered")
    /// }));
    /// assert_eq!(outcome.unwrap(), "recovered");
    /// ```
    #[track_caller]
    pub fn start<V, M, Fut, T, E>(self, make: M) -> Start<V>
    where
        V: 'static,
        M: FnOnce(Started<V>) -> Fut,
        Fut: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: Into<BoxError> + 'static,
    {
        let slot = Rc::new(StartSlot {
            state: RefCell::new(State::Waiting),
            waker: RefCell::new(None),
            handle_dropped: Cell::new(false),
            child_polling: Cell::new(false),
            child_polled: Cell::new(false),
            child_ending: Cell::new(false),
        });
        let future = make(Started {
            slot: Rc::clone(&slot),
        });
        let guard = Guard {
            slot: Rc::clone(&slot),
        };
        let child = expect_open(self.spawn(start_future(future, guard), |output| output));
        Start {
            slot,
            child: Some(child),
        }
    }
}

/// The child's side of a [`start`](TaskGroup::start): call [`started`](Started::started)
/// once the child is ready, with the value the caller waits for.
///
/// # Examples
///
/// ```
/// use looplet::{run, TaskGroup};
///
/// run(TaskGroup::scope(|tg| async move {
///     let ready = tg
///         .start(|started: looplet::Started<&str>| async move {
///             started.started("ready");
///             Ok::<_, looplet::BoxError>(())
///         })
///         .await?;
///     assert_eq!(ready, "ready");
///     Ok(())
/// }))
/// .unwrap();
/// ```
pub struct Started<V> {
    slot: Rc<StartSlot<V>>,
}

impl<V> Started<V> {
    /// Tells the waiting caller that the child has started, handing it `value`. Consumes the
    /// handle: a child starts once. If the caller stopped waiting (its wait was dropped, so
    /// the child is being cancelled) the value is dropped.
    pub fn started(self, value: V) {
        self.slot.settle(State::Started(value));
    }
}

impl<V> Drop for Started<V> {
    fn drop(&mut self) {
        // The child may go on without it, but can no longer start: the waiting caller must
        // not wait for a value that cannot come. Inside the child's poll, the end of that
        // poll says so; while the child ends, its guard does; before its first poll, that
        // poll does (module docs).
        let slot = &self.slot;
        slot.handle_dropped.set(true);
        if slot.child_polled.get() && !slot.child_polling.get() && !slot.child_ending.get() {
            slot.settle(State::Ended(StartError::new(Why::NotStarted)));
        }
    }
}

impl<V> fmt::Debug for Started<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Started").finish_non_exhaustive()
    }
}

/// The future returned by [`TaskGroup::start`]: the value the child
/// [started](Started::started) with, or why it never did. Dropping it before then cancels
/// the child.
///
/// # Examples
///
/// Giving up on a child that takes too long to start cancels it:
///
/// ```
/// use std::time::Duration;
/// use looplet::{sleep, timeout, yield_now, Runner, Started, TaskGroup};
///
/// let mut runner = Runner::builder().virtual_clock(true).build();
/// runner
///     .run(TaskGroup::scope(|tg| async move {
///         let slow = tg.start(|started: Started<()>| async move {
///             sleep(Duration::from_secs(3600)).await; // a very slow warm-up
///             started.started(());
///             Ok::<_, looplet::BoxError>(())
///         });
///         assert!(timeout(Duration::from_secs(1), slow).await.is_err());
///         yield_now().await; // the loop drops the cancelled child at its next turn
///         assert_eq!(tg.len(), 0, "the child was cancelled with the wait");
///         Ok(())
///     }))
///     .unwrap();
/// ```
#[must_use = "a start does nothing for the caller unless awaited; .await it"]
pub struct Start<V> {
    slot: Rc<StartSlot<V>>,
    /// The child, to cancel if this wait is dropped first; `None` once it has an outcome.
    child: Option<ChildTask<()>>,
}

impl<V> Future for Start<V> {
    type Output = Result<V, StartError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let state = this.slot.state.replace(State::Taken);
        let outcome = match state {
            State::Started(value) => Ok(value),
            State::Ended(error) => {
                // A child that can no longer start may still be running: nobody waits for
                // it now. (A child that ended is not affected.)
                if let Some(child) = &this.child {
                    child.cancel();
                }
                Err(error)
            }
            State::Waiting => {
                *this.slot.state.borrow_mut() = State::Waiting;
                let mut waker = this.slot.waker.borrow_mut();
                match &*waker {
                    Some(current) if current.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            State::Taken => panic!("a TaskGroup start was polled after it returned; await it once"),
        };
        this.child = None;
        Poll::Ready(outcome)
    }
}

impl<V> Drop for Start<V> {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            child.cancel();
        }
    }
}

impl<V> fmt::Debug for Start<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Start")
            .field("waiting", &self.child.is_some())
            .finish()
    }
}

/// Why a [`TaskGroup::start`] gave no value: the child failed, panicked, was cancelled, or
/// ended (or dropped its [`Started`]) without calling [`Started::started`].
///
/// `Send + Sync + 'static`, so `?` carries it into a group's [`BoxError`] or `anyhow`.
///
/// # Examples
///
/// ```
/// use looplet::{run, TaskGroup};
///
/// run(TaskGroup::scope(|tg| async move {
///     let forgot = tg
///         .start(|_started: looplet::Started<()>| async { Ok::<_, looplet::BoxError>(()) })
///         .await
///         .unwrap_err();
///     assert!(forgot.is_not_started());
///     assert!(forgot.to_string().contains("call started.started(value)"));
///     Ok(())
/// }))
/// .unwrap();
/// ```
pub struct StartError {
    why: Why,
}

enum Why {
    Failed(BoxError),
    Panicked,
    Cancelled,
    NotStarted,
}

impl StartError {
    fn new(why: Why) -> StartError {
        StartError { why }
    }

    /// Whether the child returned `Err` before it started; [`into_error`](StartError::into_error)
    /// gives that error back.
    pub fn is_failed(&self) -> bool {
        matches!(self.why, Why::Failed(_))
    }

    /// Whether the child panicked before it started. The panic is its group's: resumed where
    /// the group's scope is awaited.
    pub fn is_panicked(&self) -> bool {
        matches!(self.why, Why::Panicked)
    }

    /// Whether the child was cancelled before it started (its group shut down, or it was
    /// cancelled through a handle).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.why, Why::Cancelled)
    }

    /// Whether the child ended, or dropped its [`Started`], without calling
    /// [`Started::started`].
    pub fn is_not_started(&self) -> bool {
        matches!(self.why, Why::NotStarted)
    }

    /// The child's own error, when it failed before it started.
    pub fn into_error(self) -> Option<BoxError> {
        match self.why {
            Why::Failed(error) => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.why {
            Why::Failed(error) => write!(f, "the task failed before it started: {error}"),
            Why::Panicked => write!(
                f,
                "the task panicked before it started; the panic is resumed where its \
                 TaskGroup's scope is awaited"
            ),
            Why::Cancelled => write!(f, "the task was cancelled before it started"),
            Why::NotStarted => write!(
                f,
                "the task given to TaskGroup::start ended, or dropped its Started handle, \
                 without starting: call started.started(value) once it is ready"
            ),
        }
    }
}

impl fmt::Debug for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match &self.why {
            Why::Failed(error) => return f.debug_tuple("StartError::Failed").field(error).finish(),
            Why::Panicked => "Panicked",
            Why::Cancelled => "Cancelled",
            Why::NotStarted => "NotStarted",
        };
        write!(f, "StartError::{why}")
    }
}

impl Error for StartError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.why {
            Why::Failed(error) => Some(error.as_ref()),
            _ => None,
        }
    }
}

/// What the child and its waiting caller share.
struct StartSlot<V> {
    state: RefCell<State<V>>,
    waker: RefCell<Option<Waker>>,
    /// The child's `Started` is gone, used or not.
    handle_dropped: Cell<bool>,
    /// The child's user code is running (its future's poll, or converting its error).
    child_polling: Cell<bool>,
    /// The child's future has been polled at least once.
    child_polled: Cell<bool>,
    /// The child's future is being dropped (its guard went first).
    child_ending: Cell<bool>,
}

enum State<V> {
    /// No outcome yet.
    Waiting,
    Started(V),
    Ended(StartError),
    /// The caller took the outcome (or stopped waiting).
    Taken,
}

impl<V> StartSlot<V> {
    /// Puts the first outcome in; a later one is dropped, after the borrow ends.
    fn settle(&self, outcome: State<V>) {
        let late = {
            let mut state = self.state.borrow_mut();
            match &*state {
                State::Waiting => {
                    *state = outcome;
                    None
                }
                _ => Some(outcome),
            }
        };
        drop(late);
        self.wake();
    }

    fn is_waiting(&self) -> bool {
        matches!(*self.state.borrow(), State::Waiting)
    }

    fn wake(&self) {
        let waker = self.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// In the child's future: settles the slot with how the child ended, if nothing did before.
struct Guard<V> {
    slot: Rc<StartSlot<V>>,
}

impl<V> Drop for Guard<V> {
    fn drop(&mut self) {
        self.slot.child_ending.set(true);
        // Dropped while the user's code was running: it panicked.
        let why = if self.slot.child_polling.get() {
            Why::Panicked
        } else {
            Why::Cancelled
        };
        self.slot.settle(State::Ended(StartError::new(why)));
    }
}

/// The child's future: the user's, reporting to the slot until it has started; after that
/// its `Err` is the group's.
async fn start_future<V, Fut, T, E>(future: Fut, guard: Guard<V>) -> Result<(), BoxError>
where
    Fut: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    let mut future = pin!(future);
    // Declared after the user's future, so dropped before it (module docs).
    let guard = guard;
    let slot = &guard.slot;
    let output = poll_fn(|cx| {
        slot.child_polling.set(true);
        let polled = future.as_mut().poll(cx);
        if polled.is_pending() {
            slot.child_polling.set(false);
            slot.child_polled.set(true);
            if slot.handle_dropped.get() {
                // Suspended without its `Started`: it can never start.
                slot.settle(State::Ended(StartError::new(Why::NotStarted)));
            }
        }
        polled
    })
    .await;
    // Still polling: the conversion is user code.
    let output = output.map(drop).map_err(Into::into);
    slot.child_polling.set(false);
    slot.child_polled.set(true);
    match output {
        Err(error) if guard.slot.is_waiting() => {
            guard
                .slot
                .settle(State::Ended(StartError::new(Why::Failed(error))));
            Ok(())
        }
        Err(error) => Err(error),
        Ok(()) => {
            guard
                .slot
                .settle(State::Ended(StartError::new(Why::NotStarted)));
            Ok(())
        }
    }
}
