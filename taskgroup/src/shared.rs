//! The group's record, `Shared`: its state, the registry of live children, the errors and
//! the first panic, and the waker of the scope that waits for it. `group.rs` builds the
//! public `TaskGroup` and `Scope` on it; `child.rs` and `child_future.rs` report to it.
//!
//! # Who owns what
//!
//! * `Shared` (behind an `Rc`) *is* the group. `TaskGroup` handles are clones of that `Rc`;
//!   so is the future of every child (`child_future`, which reports the child's end). The
//!   one done callback the group adds to a child that panicked or failed holds it weakly.
//! * The registry is a slab of live children, seen through [`ChildControl`]. A child enters
//!   it in `TaskGroup::try_create_task`, at a key its future reserved, and leaves it when
//!   its future returns or is dropped (`child_future.rs`) — so "live children" is exactly
//!   the registry's length. A slab reuses freed keys, so its order is not creation order;
//!   the one walk that needs that order, cancelling "every child" in [`Shared::abort`],
//!   sorts by task number.
//! * The cells are borrowed for the few lines that read or write them, never across a poll
//!   of the body, a `Drop` of user data, a waker call or a `cancel()`: user code running
//!   there may create tasks in the group or cancel it. A handle taken out of the registry is
//!   dropped only after the borrow ends.
//!
//! # Life cycle
//!
//! ```text
//!          Shared::abort: a child failed or panicked (end of batch),
//!          the body failed or panicked, cancel(), the Scope dropped
//!   Open ──────────────────────────────────────────────▶ ShuttingDown
//!     │                                                       │
//!     │ Shared::close: body done, no child left               │ Shared::close, or the last
//!     ▼                                                       ▼ child of a dropped Scope ends
//!   Closed ◀──────────────────────────────────────────────────┘
//! ```
//!
//! * **Open**: children run; `create_task` adds more.
//! * **ShuttingDown**: every child has been asked to cancel and the body is dropped at its
//!   next suspension. `create_task` still returns a task, cancelled before its first poll.
//! * **Closed**: the scope has returned. `create_task` is an error (`CreateTaskError`).
//!
//! # Why a child's failure aborts the group only at the end of the loop's batch
//!
//! asyncio learns of a failed child through a done callback that the loop schedules with
//! `call_soon`: every task already ready in the same loop iteration still runs first. So
//! when two children fail at the same instant, both errors are reported. looplet runs done
//! callbacks right after the task ends, so the group does not abort there: a child that
//! failed or panicked gets the group's done callback, which adds one more callback to the
//! (finished) child; the executor never runs that one inline but queues it for the end of
//! the current batch — asyncio's `call_soon`. The body failing, a panic in the body and
//! `TaskGroup::cancel` abort at once, as asyncio's `__aexit__` and `TaskGroup.cancel` do.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Waker;

use looplet_executor::{Task, TaskId};
use slab::Slab;

use crate::error::BoxError;

/// Where a [`TaskGroup`](crate::TaskGroup) is in its life; see
/// [`TaskGroup::state`](crate::TaskGroup::state).
///
/// ```text
/// Open ──(first failure, cancel(), scope dropped)──▶ ShuttingDown ──▶ Closed
///   └────────────────(body and children done)───────────────────────────┘
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// Children run and new ones may be added. Invariant: no child was cancelled by the
    /// group.
    Open,
    /// Every child has been asked to cancel, and the body stops at its next suspension;
    /// a task created now is cancelled before its first poll. Invariant: entered once,
    /// never left except for `Closed`.
    ShuttingDown,
    /// The scope has returned (or was dropped and its last child has ended). Invariant: no
    /// child is live, and none can be added.
    Closed,
}

/// What the group needs from a child, whatever its value's type (`child.rs` implements it).
pub(crate) trait ChildControl {
    /// The child's task id; its number orders the children by creation.
    fn id(&self) -> TaskId;

    /// Asks the loop to cancel the child; whether it was still pending.
    fn cancel(&self) -> bool;

    /// Makes sure the group's done callback is on the child's task; see `child.rs`.
    fn watch(&self);
}

/// The group itself, shared by its handles, its scope and its children.
pub(crate) struct Shared {
    state: Cell<GroupState>,
    /// Live children, each at the key its future reserved (module docs: the registry).
    children: RefCell<Slab<Rc<dyn ChildControl>>>,
    /// Errors of the children, in the order they happened.
    errors: RefCell<Vec<BoxError>>,
    /// The first panic of a child or the body; the others are reported on stderr.
    panic: RefCell<Option<Box<dyn Any + Send>>>,
    /// A child failed or panicked: the group must abort at the end of this batch.
    abort_wanted: Cell<bool>,
    /// That end-of-batch abort has been queued.
    abort_queued: Cell<bool>,
    /// The scope has returned or was dropped: nobody will read the errors any more.
    scope_gone: Cell<bool>,
    /// The scope's waker, woken when it has something to do.
    scope_waker: RefCell<Option<Waker>>,
}

impl Shared {
    pub(crate) fn new() -> Shared {
        Shared {
            state: Cell::new(GroupState::Open),
            children: RefCell::new(Slab::new()),
            errors: RefCell::new(Vec::new()),
            panic: RefCell::new(None),
            abort_wanted: Cell::new(false),
            abort_queued: Cell::new(false),
            scope_gone: Cell::new(false),
            scope_waker: RefCell::new(None),
        }
    }

    /// Where the group is in its life.
    pub(crate) fn state(&self) -> GroupState {
        self.state.get()
    }

    /// How many children are live.
    pub(crate) fn live(&self) -> usize {
        self.children.borrow().len()
    }

    /// The key the next registered child will get; see [`register`](Shared::register).
    pub(crate) fn vacant_key(&self) -> usize {
        self.children.borrow().vacant_key()
    }

    /// Enters a just-created child in the registry at `key`, which its future reserved with
    /// [`vacant_key`](Shared::vacant_key). In a group shutting down, the child is cancelled
    /// before its first poll.
    pub(crate) fn register(&self, key: usize, child: Rc<dyn ChildControl>) {
        let registered = self.children.borrow_mut().insert(Rc::clone(&child));
        assert_eq!(
            registered, key,
            "a TaskGroup's registry changed while one of its tasks was being created"
        );
        if self.state.get() == GroupState::ShuttingDown {
            child.cancel();
        }
    }

    /// Open → ShuttingDown: asks every live child to cancel, in creation order, and wakes the
    /// scope, which drops the body at its next poll. Does nothing once Closed; repeating it
    /// is harmless.
    pub(crate) fn abort(&self) {
        match self.state.get() {
            GroupState::Closed => return,
            GroupState::Open => self.state.set(GroupState::ShuttingDown),
            GroupState::ShuttingDown => {}
        }
        let mut children: Vec<Rc<dyn ChildControl>> = self
            .children
            .borrow()
            .iter()
            .map(|(_, child)| Rc::clone(child))
            .collect();
        // The loop applies cancellations in the order they were asked for; keep that the
        // creation order, whichever keys the slab handed out.
        children.sort_by_key(|child| child.id().number());
        for child in children {
            child.cancel();
        }
        self.wake_scope();
    }

    /// The child at `key` ended — returned, was cancelled, or panicked — and leaves the
    /// registry; its future's report calls this exactly once. The last child out wakes the
    /// scope, and closes the group if the scope is already gone.
    pub(crate) fn child_left(&self, key: usize) {
        let (removed, live) = {
            let mut children = self.children.borrow_mut();
            (children.try_remove(key), children.len())
        };
        // `None` only for a child whose task could not be created: it was never registered.
        let Some(removed) = removed else {
            return;
        };
        drop(removed);
        if live == 0 {
            if self.scope_gone.get() {
                self.state.set(GroupState::Closed);
            }
            self.wake_scope();
        }
    }

    /// The child at `key` returned `Err`: record the error (in order), cancel the child — it
    /// stops at this suspension, and leaves through [`child_left`](Shared::child_left) — and
    /// have the group abort at the end of the batch (the group's done callback, added here,
    /// queues that).
    pub(crate) fn child_failed(&self, key: usize, error: BoxError) {
        self.errors.borrow_mut().push(error);
        self.abort_wanted.set(true);
        let child = self.children.borrow().get(key).cloned();
        if let Some(child) = child {
            child.cancel();
            child.watch();
        }
    }

    /// The poll of the child at `key` panicked (its future is being dropped; the loop holds
    /// the payload as the task's outcome). The group's done callback takes the payload once
    /// the task is done; the child leaves the registry now.
    pub(crate) fn child_panicked(&self, key: usize) {
        let child = self.children.borrow().get(key).cloned();
        if let Some(child) = child {
            child.watch();
        }
        self.child_left(key);
    }

    /// The group's done callback, on the children that need one (`child.rs`): takes a
    /// panic's payload, and queues the group's abort for the end of the batch after a
    /// failure or a panic.
    pub(crate) fn on_watched_child_done<T>(shared: &Rc<Shared>, task: &Task<T>) {
        if task.is_panicked() {
            if let Err(error) = task.result() {
                let whose = task.name().into_owned();
                if let Ok(payload) = error.try_into_panic() {
                    shared.record_panic(payload, &whose);
                }
            }
            shared.abort_wanted.set(true);
        }
        if shared.abort_wanted.get()
            && shared.state.get() == GroupState::Open
            && !shared.abort_queued.replace(true)
        {
            // The task is done, so the executor queues this callback for the end of the
            // current batch instead of running it now (module docs: asyncio's call_soon).
            let soon = Rc::clone(shared);
            task.add_done_callback(move |_| soon.abort());
        }
    }

    /// Keeps the first panic; reports a later one on stderr (asyncio keeps one
    /// BaseException too).
    pub(crate) fn record_panic(&self, payload: Box<dyn Any + Send>, whose: &str) {
        let mut slot = self.panic.borrow_mut();
        if slot.is_none() {
            *slot = Some(payload);
            return;
        }
        drop(slot);
        eprintln!(
            "looplet: {whose} panicked too ({}) after another panic in its TaskGroup; only the \
             first panic is resumed, this one is dropped",
            panic_message(payload.as_ref())
        );
    }

    fn wake_scope(&self) {
        let waker = self.scope_waker.borrow().clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(crate) fn set_scope_waker(&self, waker: &Waker) {
        let mut slot = self.scope_waker.borrow_mut();
        match &*slot {
            Some(current) if current.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    /// The scope returned: the group closes, and its errors and panic are handed over (a
    /// panic wins; the errors it wins over are reported on stderr, not lost).
    pub(crate) fn close(&self) -> (Vec<BoxError>, Option<Box<dyn Any + Send>>) {
        self.state.set(GroupState::Closed);
        self.scope_gone.set(true);
        let errors = std::mem::take(&mut *self.errors.borrow_mut());
        let panic = self.panic.borrow_mut().take();
        (errors, panic)
    }

    /// The scope was dropped before it returned: every child is asked to cancel, the group
    /// closes once the last one has ended, and whatever it recorded — `body_error` included
    /// — goes to stderr, since nobody will read it.
    pub(crate) fn scope_dropped(&self, body_error: Option<BoxError>) {
        self.scope_gone.set(true);
        self.abort();
        if self.live() == 0 {
            self.state.set(GroupState::Closed);
        }
        let mut errors = std::mem::take(&mut *self.errors.borrow_mut());
        errors.extend(body_error);
        let panic = self.panic.borrow_mut().take();
        self.report_unread(&errors, panic.as_deref());
    }

    /// Reports on stderr what the group recorded but nobody will read (the scope was
    /// dropped, or a panic is about to win over the errors).
    pub(crate) fn report_unread(&self, errors: &[BoxError], panic: Option<&(dyn Any + Send)>) {
        for error in errors {
            eprintln!(
                "looplet: a TaskGroup error was never retrieved (the scope was dropped, or a \
                 panic won over it): {error}"
            );
        }
        if let Some(payload) = panic {
            eprintln!(
                "looplet: a panic in a TaskGroup was never resumed because its scope was \
                 dropped: {}",
                panic_message(payload)
            );
        }
    }
}

/// The message of a panic payload that is a `&str` or a `String`.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string payload")
}
