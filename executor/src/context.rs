//! The thread's running loop: who is running here, and the refusals that keep it single.
//!
//! At most one looplet loop runs on a thread at a time. [`enter`] makes a loop current for
//! the duration of one `run` call (and its timer queue current with it); entering while a
//! loop is already current is refused with the message users see for nested `run` calls.
//! Everything that needs "the loop" — `create_task`, wakers' local fast path, `handle()` —
//! asks this module, and gets `None` (or a clear panic) when no loop runs.
//!
//! It also knows every loop *alive* on the thread, running or not ([`loop_owning`]), for
//! the rare calls that need a task's loop between two runs: a `Task` handle used after
//! `Runner::run` returned. Tasks do not keep a pointer to their loop for those: eight bytes
//! in every task for a path that few take.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use looplet_timer::EnterGuard as TimerEnterGuard;

use crate::event_loop::Core;
use crate::remote::Remote;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
    /// The loops made on this thread; dead entries are pruned at each registration.
    static ALIVE: RefCell<Vec<Weak<Core>>> = const { RefCell::new(Vec::new()) };
}

/// Records a new loop as alive on this thread (a loop never leaves its thread: `Core` is
/// `!Send`).
pub(crate) fn register(core: &Rc<Core>) {
    ALIVE.with(|alive| {
        let mut alive = alive.borrow_mut();
        alive.retain(|core| core.strong_count() > 0);
        alive.push(Rc::downgrade(core));
    });
}

/// The loop behind `remote`, if it is alive on this thread: the running one first, then any
/// other made here.
pub(crate) fn loop_owning(remote: &Arc<Remote>) -> Option<Rc<Core>> {
    let running = with_current(|core| core.is_same_loop(remote).then(|| Rc::clone(core)));
    if let Some(core) = running.flatten() {
        return Some(core);
    }
    ALIVE
        .try_with(|alive| {
            let alive = alive.borrow();
            alive
                .iter()
                .filter_map(Weak::upgrade)
                .find(|core| core.is_same_loop(remote))
        })
        .ok()
        .flatten()
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
