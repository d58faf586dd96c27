//! The thread's running loop: who is running here, and the refusals that keep it single.
//!
//! At most one looplet loop runs on a thread at a time. [`enter`] makes a loop current for
//! the duration of one `run` call (and its timer queue current with it); entering while a
//! loop is already current is refused with the message users see for nested `run` calls.
//! Everything that needs "the loop" — `create_task`, wakers' local fast path, `handle()` —
//! asks this module, and gets `None` (or a clear panic) when no loop runs.

use std::cell::RefCell;
use std::rc::Rc;

use looplet_timer::EnterGuard as TimerEnterGuard;

use crate::event_loop::Core;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// Keeps a loop current on this thread until dropped.
pub(crate) struct EnterGuard {
    _timers: TimerEnterGuard,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // Take the loop out first and drop it after the borrow ends: dropping a `Core` may
        // run arbitrary `Drop` code that asks for the current loop.
        let previous = CURRENT.try_with(|current| current.borrow_mut().take());
        drop(previous);
    }
}

/// Makes `core` the running loop, or returns `None` if another loop already runs here.
pub(crate) fn try_enter(core: &Rc<Core>) -> Option<EnterGuard> {
    let entered = CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        if current.is_some() {
            return false;
        }
        *current = Some(Rc::clone(core));
        true
    });
    entered.then(|| EnterGuard {
        _timers: core.timers().enter(),
    })
}

/// Makes `core` the running loop; a nested call panics with the message that names the fix.
#[track_caller]
pub(crate) fn enter(core: &Rc<Core>) -> EnterGuard {
    match try_enter(core) {
        Some(guard) => guard,
        None => panic!(
            "looplet::run cannot be called from a running event loop: inside async code, \
             .await the future (or create_task it) instead of starting another loop"
        ),
    }
}

/// Runs `f` with the running loop, or returns `None` when no loop runs on this thread.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Core>) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| current.borrow().as_ref().map(f))
        .ok()
        .flatten()
}

/// The running loop, or a panic that names `what` and the fix.
#[track_caller]
pub(crate) fn expect_current(what: &str) -> Rc<Core> {
    match with_current(Rc::clone) {
        Some(core) => core,
        None => panic!(
            "{what} needs a running looplet event loop: call it from inside looplet::run \
             or Runner::run"
        ),
    }
}
