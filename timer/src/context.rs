//! The thread's current timer queue: set by the running loop, read by `sleep` and friends.
//!
//! The loop calls [`TimerQueue::enter`](crate::TimerQueue::enter) when it starts running and
//! drops the guard when it stops; while entered, the queue is reachable from this thread
//! only. Entering while another queue is entered is refused: two loops cannot run on one
//! thread at once.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::time::Instant;

use crate::TimerQueue;

thread_local! {
    /// Set and restored only by [`EnterGuard`]. No drop glue (`ManuallyDrop`), so it is never
    /// marked destroyed: a loop closing during thread exit (a `Runner` kept in a
    /// `thread_local!`) still reaches its queue. The guards leave it empty, so nothing leaks.
    static CURRENT: RefCell<ManuallyDrop<Option<Rc<TimerQueue>>>> =
        const { RefCell::new(ManuallyDrop::new(None)) };
}

/// Keeps a [`TimerQueue`] current on this thread until dropped.
///
/// Returned by [`TimerQueue::enter`]. It is `!Send`: it must be dropped on the thread that
/// entered.
#[must_use = "the queue stops being current as soon as the guard is dropped"]
#[derive(Debug)]
pub struct EnterGuard {
    previous: Option<Rc<TimerQueue>>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let replaced =
            CURRENT.with_borrow_mut(|current| std::mem::replace(&mut **current, previous));
        // Dropped after the borrow ends: dropping a queue drops wakers, which may reach here.
        drop(replaced);
    }
}

pub(crate) fn enter(queue: Rc<TimerQueue>) -> EnterGuard {
    let previous = CURRENT.with_borrow_mut(|current| current.replace(queue));
    EnterGuard {
        previous,
        _not_send: PhantomData,
    }
}

/// Runs `f` with this thread's current queue, or returns `None` when no loop is running.
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<TimerQueue>) -> R) -> Option<R> {
    CURRENT.with_borrow(|current| current.as_ref().map(f))
}

/// This thread's current queue, or `None` when no loop is running. A clone of the `Rc`, so
/// the thread-local is not borrowed while the caller works: code the caller runs (a waker's
/// `clone` or `drop`) may enter or leave a queue itself.
#[inline]
pub(crate) fn current() -> Option<Rc<TimerQueue>> {
    CURRENT.with_borrow(|current| current.as_ref().map(Rc::clone))
}

/// Like [`current`], but panics with a message naming the fix when no loop is running.
#[track_caller]
#[inline]
pub(crate) fn expect_current_queue(what: &str) -> Rc<TimerQueue> {
    match current() {
        Some(queue) => queue,
        None => no_loop(what),
    }
}

#[track_caller]
#[cold]
#[inline(never)]
fn no_loop(what: &str) -> ! {
    panic!(
        "{what} needs a running looplet event loop: do it inside looplet::run or \
         Runner::run, e.g. `looplet::run(async {{ looplet::sleep(d).await }})` (a sleep, \
         timeout or interval may be created anywhere, but is awaited on the loop)"
    )
}

/// Like [`with_current`], but panics with a message naming the fix when no loop is running.
#[track_caller]
pub(crate) fn expect_current<R>(what: &str, f: impl FnOnce(&Rc<TimerQueue>) -> R) -> R {
    match with_current(f) {
        Some(value) => value,
        None => no_loop(what),
    }
}

/// The current loop's time: `Instant::now()` on a real clock, the virtual time otherwise.
///
/// # Panics
///
/// Panics when no looplet loop is running on this thread; see [`try_now`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// looplet::Runner::builder().virtual_clock(true).build().run(async {
///     let start = looplet::now();
///     looplet::sleep(Duration::from_millis(5)).await;
///     assert_eq!(looplet::now() - start, Duration::from_millis(5));
/// });
/// ```
#[track_caller]
pub fn now() -> Instant {
    expect_current("looplet::now", |queue| queue.now())
}

/// The current loop's time, or `None` when no looplet loop is running on this thread.
///
/// # Examples
///
/// ```
/// assert!(looplet::try_now().is_none()); // no loop here
/// looplet::run(async {
///     assert!(looplet::try_now().is_some());
/// });
/// ```
pub fn try_now() -> Option<Instant> {
    with_current(|queue| queue.now())
}

/// The wall-clock time on the current loop's clock: on a virtual clock it moves with
/// virtual time, so programs that print timestamps read the same on both clocks; a new
/// virtual clock carries on from where this thread's earlier ones got to (see
/// [`Clock::system_time`](crate::Clock::system_time)).
///
/// # Panics
///
/// Panics when no looplet loop is running on this thread.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// // An hour-long program, printing wall-clock times as it goes, in no real time.
/// looplet::Runner::builder().virtual_clock(true).build().run(async {
///     let started = looplet::system_time();
///     looplet::sleep(Duration::from_secs(3600)).await;
///     let finished = looplet::system_time();
///     assert_eq!(finished.duration_since(started).unwrap(), Duration::from_secs(3600));
/// });
/// ```
#[track_caller]
pub fn system_time() -> std::time::SystemTime {
    expect_current("looplet::system_time", |queue| queue.clock().system_time())
}
