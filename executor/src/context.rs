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
//!
//! # Thread exit
//!
//! A `Runner` may live in a `thread_local!`, or in a value that another thread-local drops:
//! then it closes while the thread's thread-locals are being destroyed, in an order nobody
//! controls. Both of this module's thread-locals therefore have no drop glue (their
//! contents sit in `ManuallyDrop`), and a thread-local without drop glue is never marked
//! destroyed: running, closing, waking and freeing work during thread exit as anywhere
//! else. Nothing leaks for it: `CURRENT` is emptied by the guard that filled it, and
//! `ALIVE` gives its memory back when the last loop of the thread is dropped.

use std::cell::RefCell;
use std::mem::ManuallyDrop;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use looplet_timer::EnterGuard as TimerEnterGuard;

use crate::event_loop::Core;
use crate::remote::Remote;

thread_local! {
    /// The running loop; set and emptied only by [`EnterGuard`] (module docs, "Thread exit").
    static CURRENT: RefCell<ManuallyDrop<Option<Rc<Core>>>> =
        const { RefCell::new(ManuallyDrop::new(None)) };
    /// The loops made on this thread; dead entries are pruned at each registration and
    /// when a loop is dropped (module docs, "Thread exit").
    static ALIVE: RefCell<ManuallyDrop<Vec<Weak<Core>>>> =
        const { RefCell::new(ManuallyDrop::new(Vec::new())) };
}

/// Records a new loop as alive on this thread (a loop never leaves its thread: `Core` is
/// `!Send`).
pub(crate) fn register(core: &Rc<Core>) {
    ALIVE.with_borrow_mut(|alive| {
        alive.retain(|core| core.strong_count() > 0);
        alive.push(Rc::downgrade(core));
    });
}

/// Forgets the loops of this thread that are gone; called as each loop is dropped, so the
/// list's memory is given back when the thread's last loop goes.
pub(crate) fn prune_dead_loops() {
    ALIVE.with_borrow_mut(|alive| {
        alive.retain(|core| core.strong_count() > 0);
        if alive.is_empty() {
            **alive = Vec::new();
        }
    });
}

/// The loop behind `remote`, if it is alive on this thread: the running one first, then any
/// other made here.
pub(crate) fn loop_owning(remote: &Arc<Remote>) -> Option<Rc<Core>> {
    let running = with_current(|core| core.is_same_loop(remote).then(|| Rc::clone(core)));
    if let Some(core) = running.flatten() {
        return Some(core);
    }
    ALIVE.with_borrow(|alive| {
        alive
            .iter()
            .filter_map(Weak::upgrade)
            .find(|core| core.is_same_loop(remote))
    })
}

/// Keeps a loop current on this thread until dropped.
pub(crate) struct EnterGuard {
    _timers: TimerEnterGuard,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // Take the loop out first and drop it after the borrow ends: dropping a `Core` may
        // run arbitrary `Drop` code that asks for the current loop.
        let previous = CURRENT.with_borrow_mut(|current| current.take());
        drop(previous);
    }
}

/// Makes `core` the running loop, or returns `None` if another loop already runs here.
pub(crate) fn try_enter(core: &Rc<Core>) -> Option<EnterGuard> {
    let entered = CURRENT.with_borrow_mut(|current| {
        if current.is_some() {
            return false;
        }
        **current = Some(Rc::clone(core));
        true
    });
    entered.then(|| EnterGuard {
        _timers: core.timers().enter(),
    })
}

/// Makes `core` the running loop; a nested call panics with the message that names the fix
/// and `caller`, the public function called (`looplet::run`, `Runner::run`).
#[track_caller]
pub(crate) fn enter(core: &Rc<Core>, caller: &str) -> EnterGuard {
    match try_enter(core) {
        Some(guard) => guard,
        None => panic!(
            "{caller} cannot be called from a running event loop: inside async code, \
             .await the future (or create_task it) instead of starting another loop"
        ),
    }
}

/// Runs `f` with the running loop, or returns `None` when no loop runs on this thread.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Core>) -> R) -> Option<R> {
    CURRENT.with_borrow(|current| current.as_ref().map(f))
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
