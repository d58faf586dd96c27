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
//! # Nesting: no task outlives the group it was started under
//!
//! A group opened inside another one — its scope awaited in the outer group's body, or in
//! one of its children — is *nested* in it. Cancelling the outer group drops that host, and
//! with it the inner scope, which can only *ask* its children to cancel: the loop drops their
//! futures at its next turn. So the outer scope must wait for them too.
//!
//! * The parent link: while a group's body or child is polled, [`Shared::enclosing`] marks
//!   that group as the one being polled on this thread (`polling.rs`); a scope's first poll
//!   takes it as its parent ([`Shared::find_parent`]). A scope first polled elsewhere (in a
//!   plain task) has none. A parent's first poll comes before that of any group nested in
//!   it, so the links cannot form a cycle, and `abort`'s walk down them ends.
//! * A scope dropped while tasks of its group are still live makes the group an *orphan* of
//!   its parent: the parent's `orphans` counts it until its last task has ended, and the
//!   parent's scope returns only once it is *settled* — no child and no orphan live
//!   ([`Shared::is_settled`]). Closing an orphan tells its parent, which may be an orphan
//!   itself, and so on up: each level waits for the ones below it.
//! * A scope that is still alive is not waited for this way: its host is alive too, and is
//!   waited for as a child or as the body.
//! * Aborting a group aborts the groups nested in it too, at once (`nested` lists those not
//!   yet closed): their hosts are being cancelled anyway, and so every task under the group
//!   is asked to cancel in the same turn and dropped in the next — the whole nest ends in one
//!   loop turn, not one per level. When the top scope is dropped because its task was
//!   cancelled, those cancellations are queued before the task's end wakes whoever awaits
//!   it, so an awaiter resumes only after every task under the scope is gone. The task's
//!   own done callbacks run as soon as it ends, before that: nothing can drop another
//!   task's future sooner than the loop's next turn.
//! * The strong links point up only (an inner group holds its parent; a parent holds its
//!   nested groups weakly and its orphans as a count), so they make no cycle.
//!
//! # Life cycle
//!
//! ```text
//!          Shared::abort: a child failed or panicked (end of batch),
//!          the body failed or panicked, cancel(), the Scope dropped
//!   Open ──────────────────────────────────────────────▶ ShuttingDown
//!     │                                                       │
//!     │ Shared::close: body done, settled                     │ Shared::close, or the last
//!     ▼                                                       ▼ task under a dropped Scope ends
//!   Closed ◀──────────────────────────────────────────────────┘
//! ```
//!
//! * **Open**: children run; `create_task` adds more.
//! * **ShuttingDown**: every child has been asked to cancel and the body is dropped at its
//!   next suspension. `create_task` still returns a task, cancelled before its first poll.
//! * **Closed**: the scope has returned, or was dropped and every task under it has ended.
//!   `create_task` is an error (`CreateTaskError`).
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
//!
//! # Supervisor groups
//!
//! A group made by `TaskGroup::supervise` records errors and the first panic exactly as
//! above but never aborts for them: `abort` is reached only through `cancel()` and a
//! dropped scope. Everything else — the registry, nesting, settling, closing — is the same,
//! so a supervisor's scope too returns only once every task under it has ended.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::task::Waker;

use looplet_executor::{Task, TaskId};
use slab::Slab;

use crate::error::BoxError;
use crate::polling::{self, Slot};

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
    /// Every child, and every task of a group nested in it, has been asked to cancel, and
    /// the body stops at its next suspension; a task created now is cancelled before its
    /// first poll. Invariant: entered once, never left except for `Closed`.
    ShuttingDown,
    /// The scope has returned (or was dropped, and every task started under it has ended).
    /// Invariant: no child is live, nor any task of a group nested in it, and no child can
    /// be added.
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
    /// The group this one is nested in (module docs: nesting), until this one closes.
    parent: RefCell<Option<Parent>>,
    /// The groups nested in this one that have not closed, for `abort` to reach. Weak: an
    /// inner group holds its parent, not the other way round.
    nested: RefCell<Slab<Weak<Shared>>>,
    /// This group counts among its parent's `orphans`.
    orphaned: Cell<bool>,
    /// Nested groups whose scope was dropped while tasks of theirs were still live.
    orphans: Cell<usize>,
    /// This group's number in the thread's table of groups (`polling.rs`).
    slot: Slot,
    /// A supervisor group (`TaskGroup::supervise`): no failure or panic aborts it; only
    /// `cancel()` and a dropped scope do. Set at creation, never changed.
    supervising: bool,
}

/// A nested group's link to the group it is nested in.
struct Parent {
    group: Rc<Shared>,
    /// This group's key in the parent's `nested`.
    key: usize,
}

impl Shared {
    /// A new, open group; a supervisor group if `supervising`.
    pub(crate) fn new(supervising: bool) -> Rc<Shared> {
        Rc::new_cyclic(|this| Shared {
            state: Cell::new(GroupState::Open),
            children: RefCell::new(Slab::new()),
            errors: RefCell::new(Vec::new()),
            panic: RefCell::new(None),
            abort_wanted: Cell::new(false),
            abort_queued: Cell::new(false),
            scope_gone: Cell::new(false),
            scope_waker: RefCell::new(None),
            parent: RefCell::new(None),
            nested: RefCell::new(Slab::new()),
            orphaned: Cell::new(false),
            orphans: Cell::new(0),
            slot: Slot::new(Weak::clone(this)),
            supervising,
        })
    }

    /// Whether this is a supervisor group, which no failure aborts.
    pub(crate) fn is_supervisor(&self) -> bool {
        self.supervising
    }

    /// Where the group is in its life.
    pub(crate) fn state(&self) -> GroupState {
        self.state.get()
    }

    /// How many children are live.
    pub(crate) fn live(&self) -> usize {
        self.children.borrow().len()
    }

    /// Whether every task started under the group has ended: its children, and the tasks of
    /// the groups nested in it whose scopes were dropped. The scope returns only then.
    pub(crate) fn is_settled(&self) -> bool {
        self.live() == 0 && self.orphans.get() == 0
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

    /// Open → ShuttingDown: asks every live child to cancel, in creation order, then aborts
    /// every group nested in this one the same way, and wakes the scope, which drops the
    /// body at its next poll. Does nothing once Closed; repeating it is harmless.
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
        // Their hosts are being cancelled: stop the nested groups now rather than one loop
        // turn per level (module docs: nesting).
        let nested: Vec<Weak<Shared>> = self
            .nested
            .borrow()
            .iter()
            .map(|(_, inner)| inner.clone())
            .collect();
        for inner in nested.iter().filter_map(Weak::upgrade) {
            inner.abort();
        }
        self.wake_scope();
    }

    /// The child at `key` ended — returned, was cancelled, or panicked — and leaves the
    /// registry; its future's report calls this exactly once. The last child out may leave
    /// the group settled: see [`on_settled`](Shared::on_settled).
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
            self.on_settled();
        }
    }

    /// Something started under the group has ended; if that was the last of it, the scope is
    /// woken to return — or, if it is gone already, the group closes here, and tells the
    /// group it is nested in.
    fn on_settled(&self) {
        if !self.is_settled() {
            return;
        }
        if !self.scope_gone.get() {
            self.wake_scope();
            return;
        }
        if self.state.replace(GroupState::Closed) == GroupState::Closed {
            return;
        }
        let Some(parent) = self.leave_parent() else {
            return;
        };
        if self.orphaned.get() {
            parent.orphans.set(parent.orphans.get() - 1);
            parent.on_settled();
        }
    }

    /// Runs `poll` — a poll of this group's body or of one of its children — with this group
    /// as the parent of any scope first polled inside it (module docs: nesting). The previous
    /// one is restored afterwards, also when `poll` panics.
    pub(crate) fn enclosing<R>(&self, poll: impl FnOnce() -> R) -> R {
        polling::polling(&self.slot, poll)
    }

    /// At the scope's first poll: the group whose body or child is polling it, if any,
    /// becomes this group's parent.
    pub(crate) fn find_parent(self: &Rc<Shared>) {
        let Some(group) =
            polling::current::<Shared>().filter(|parent| parent.state() != GroupState::Closed)
        else {
            return;
        };
        let key = group.nested.borrow_mut().insert(Rc::downgrade(self));
        *self.parent.borrow_mut() = Some(Parent { group, key });
    }

    /// Unlinks this group from its parent, whose handle is returned (to drop once no cell is
    /// borrowed).
    fn leave_parent(&self) -> Option<Rc<Shared>> {
        let parent = self.parent.borrow_mut().take()?;
        let link = parent.group.nested.borrow_mut().try_remove(parent.key);
        drop(link);
        Some(parent.group)
    }

    /// The child at `key` returned `Err`: record the error (in order), cancel the child — it
    /// stops at this suspension, and leaves through [`child_left`](Shared::child_left) — and
    /// have the group abort at the end of the batch (the group's done callback, added here,
    /// queues that). A supervisor group only records the error: its other children go on.
    pub(crate) fn child_failed(&self, key: usize, error: BoxError) {
        self.errors.borrow_mut().push(error);
        let child = self.children.borrow().get(key).cloned();
        if let Some(child) = child {
            child.cancel();
            if !self.supervising {
                self.abort_wanted.set(true);
                child.watch();
            }
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
            // A supervisor keeps the panic for its scope to resume, and lets the others run.
            if !shared.supervising {
                shared.abort_wanted.set(true);
            }
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
        self.forget_parent();
        let errors = std::mem::take(&mut *self.errors.borrow_mut());
        let panic = self.panic.borrow_mut().take();
        (errors, panic)
    }

    /// The scope was dropped before it returned: every child is asked to cancel, the group
    /// closes once every task started under it has ended — until then, the group it is
    /// nested in waits for it — and whatever it recorded, `body_error` included, goes to
    /// stderr, since nobody will read it.
    pub(crate) fn scope_dropped(&self, body_error: Option<BoxError>) {
        self.scope_gone.set(true);
        self.abort();
        if self.is_settled() {
            self.state.set(GroupState::Closed);
            self.forget_parent();
        } else {
            let parent = self
                .parent
                .borrow()
                .as_ref()
                .map(|parent| Rc::clone(&parent.group));
            match parent {
                Some(parent) if parent.state() != GroupState::Closed => {
                    parent.orphans.set(parent.orphans.get() + 1);
                    self.orphaned.set(true);
                }
                // Nobody waits for this group: its parent closed while its scope lived on
                // elsewhere, or it has none.
                _ => self.forget_parent(),
            }
        }
        let mut errors = std::mem::take(&mut *self.errors.borrow_mut());
        errors.extend(body_error);
        let panic = self.panic.borrow_mut().take();
        self.report_unread(&errors, panic.as_deref());
    }

    /// Lets go of the parent, which does not wait for this group.
    fn forget_parent(&self) {
        let parent = self.leave_parent();
        drop(parent);
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
