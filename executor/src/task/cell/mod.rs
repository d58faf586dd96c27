//! `TaskCell<F>`: the one allocation behind a task (waker target, header, future,
//! outcome), and the loop-thread references to it: [`TaskRef`], the loop's thin pointer,
//! which reaches the future through the cell's [`TaskVTable`], and [`CellRef`], a
//! handle's, which sees the cell as `dyn JoinCell<T>`.
//!
//! This file holds the cell, its header and the loop's side of a task (poll, finish,
//! complete, empty); `refs` holds the two reference types and their counting, `join` what
//! a handle asks of the cell (the outcome, done callbacks).
//!
//! # Two counts
//!
//! * `Header::local_refs` counts the loop-side references (`TaskRef`s in the loop's task
//!   table and ready queue, `CellRef`s in `Task` handles). They live on the loop's thread,
//!   so the count is a plain `Cell`.
//!   When it reaches zero the *body* — the future or the outcome, and the done callbacks,
//!   the `!Send` parts — is emptied right there, on the loop's thread.
//! * `WakerTarget::refs` (see [`crate::waker`]) counts owned wakers plus one unit for the
//!   loop side as a whole. The memory is freed when it reaches zero, by whichever thread
//!   releases the last unit — which, once the body is empty, is safe on any thread.
//!
//! # Safety
//!
//! * A cell is made by [`new_task`], in memory of `TaskCell<F>`'s layout from the global
//!   allocator or the loop's [`CellCache`](super::CellCache), and dropped in place only by
//!   `free_cell::<F>`, called once from [`crate::waker::release`] when `refs` reaches zero;
//!   its memory then goes to the cache of a loop running on that thread, or back to the
//!   allocator.
//! * A loop-side reference holds one `local_refs`; while any exists, the loop side holds
//!   its unit of `refs`, so the cell is allocated and dereferencing the reference is
//!   sound. The reference that takes `local_refs` to zero empties the body and then
//!   releases that unit, and none is made after that ([`TaskRef::from_waker`] refuses).
//! * A cell's `TaskVTable` is the one made for its future type, so its functions may cast
//!   the cell back to `TaskCell<F>`.
//! * Both reference types are `!Send`, and so are `Task` and the loop: every one (and so
//!   every use of `Header` and the body) stays on the loop's thread. A waker reads the
//!   header too ([`header_of`]), but only after checking that its thread runs the task's
//!   loop. Other threads reach only the `WakerTarget`, which is `Sync`.
//! * When the cell is freed the body holds no future, no outcome and no callback (emptied
//!   on the loop's thread, above), and the header's join waker has been taken: what
//!   `free_cell` drops in place then is `Send` (an `Arc`, a name).
//! * The future and the outcome share the cell's `body`, a union with no tag of its own:
//!   what it holds is told by the header, and changes only together with the header.
//!   - `state` `Idle` or `Running`: the future. `Done` with `outcome` not `Taken`: the
//!     outcome. `Done` and `Taken`: nothing.
//!   - The future is polled and dropped only by the loop, which marks the task `Running`
//!     first. Code that runs meanwhile (the future's own `poll` or `Drop`) can reach the
//!     cell only through a handle, and a handle touches the body only once `state` says
//!     `Done`: so the `&mut` the loop holds is never aliased.
//!   - Finishing drops the future in place, writes the outcome into the same bytes, and
//!     only then sets `Done`. Taking the outcome records `Taken` before moving it out.
//!     Emptying the body records `Done` and `Taken` before dropping what was there. A
//!     `Drop` that unwinds therefore never sees its value dropped twice.
//!   - The union's fields are `ManuallyDrop`: dropping the cell never drops the body.
//! * The future is pinned in place: it lives in `body` inside the cell, which never moves,
//!   and it is only ever dropped there — never moved out.
//! * The pointer a reference holds keeps the provenance of the whole cell: new references
//!   are made from such a pointer (the cell's base), never from a Rust reference.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::borrow::Cow;
use std::cell::{Cell, OnceCell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::contain::{contain, drop_payload};
use super::extras::{DoneCallback, DoneCallbackId, Extras};
use super::{Completion, Task, TaskError, TaskId, TaskState};
use crate::context;
use crate::event_loop::Core;
use crate::waker::WakerTarget;

mod join;
mod refs;

use join::run_callback;
use refs::add_local_ref;
pub(crate) use refs::{CellRef, TaskRef};

/// What the loop does to a task, whatever its future's type: one static table per future
/// type, pointed to from the cell's waker target, so the loop's references and the ready
/// queue hold a thin pointer (8 bytes) and reach these without a table lookup.
pub(crate) struct TaskVTable {
    /// Polls the future once, catching a panic. On `Finished` the outcome is stored and the
    /// future has been dropped; the caller then calls `complete`.
    poll: unsafe fn(NonNull<WakerTarget>, &mut Context<'_>) -> PollOutcome,
    /// Drops the future in place and stores `Cancelled`; the caller then calls `complete`.
    drop_future_cancelled: unsafe fn(NonNull<WakerTarget>),
    /// Wakes whoever awaits the task, and runs its done callbacks; the task is already
    /// marked done (by `poll` or `drop_future_cancelled`).
    complete: unsafe fn(NonNull<WakerTarget>, Completion),
    /// Empties the body: drops the future or the outcome, and the callbacks. Called once,
    /// when the last loop-side reference goes.
    empty_body: unsafe fn(NonNull<WakerTarget>),
    /// Frees the cell; called once, when the last unit of `refs` goes.
    pub(crate) free: unsafe fn(NonNull<WakerTarget>),
    /// The task's name, for traces (the name lives with the typed part of the cell).
    name: unsafe fn(NonNull<WakerTarget>) -> String,
}

/// What a handle needs from a task: the outcome, typed.
pub(crate) trait JoinCell<T> {
    fn name(&self) -> Cow<'_, str>;
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>>;
    fn take_outcome(&self) -> Result<T, TaskError>;
    /// `base` is this cell's [`CellRef::base`].
    fn add_done_callback(
        &self,
        base: NonNull<WakerTarget>,
        callback: DoneCallback<T>,
    ) -> DoneCallbackId;
    /// Removes a callback that has not run yet; returns whether it had not.
    fn remove_done_callback(&self, id: DoneCallbackId) -> bool;
}

#[must_use]
pub(crate) enum PollOutcome {
    /// The future is still pending; the task goes back to `Idle`.
    Pending,
    /// The future finished (or panicked); complete the task with this.
    Finished(Completion),
}

/// The header of the cell whose waker target is `base`.
///
/// # Safety
///
/// The caller must be on the loop's thread of that cell and hold a unit of its `refs` (a
/// waker, or a loop-side reference) for as long as it uses the header.
pub(crate) unsafe fn header_of<'a>(base: NonNull<WakerTarget>) -> &'a Header {
    // SAFETY: every cell starts with its `CellPrefix`, and the caller's unit keeps it
    // allocated; on the loop's thread the header's `Cell`s may be used (module docs).
    unsafe { &base.cast::<CellPrefix>().as_ref().header }
}

/// The part of a task that does not depend on its future's type, used on the loop's thread.
pub(crate) struct Header {
    /// Loop-side references (module docs, "Two counts").
    local_refs: Cell<u32>,
    /// With `outcome`, also what the body holds (module docs, "Safety").
    pub(crate) state: Cell<TaskState>,
    /// In the loop's ready queue right now (at most once: set before the push, cleared at
    /// the pop).
    pub(crate) queued: Cell<bool>,
    /// Set by `cancel()`; applied by the loop the next time it owns the task.
    pub(crate) cancel_requested: Cell<bool>,
    outcome: Cell<Outcome>,
    /// The waker of whoever awaits the handle; taken (never borrowed) to read it.
    join_waker: Cell<Option<Waker>>,
}

/// Who has seen a done task's outcome. An unobserved panic is reported on stderr when the
/// task is freed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Unobserved,
    /// A done callback had the task to look at; the outcome is still in the body.
    Observed,
    /// Moved out of the body (or the body emptied): nothing is left there.
    Taken,
}

impl Header {
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.state.get(), TaskState::Done(_))
    }

    fn mark_observed(&self) {
        if self.outcome.get() == Outcome::Unobserved {
            self.outcome.set(Outcome::Observed);
        }
    }
}

/// A task's future, and later its outcome, in the same bytes; the header says which is
/// there (module docs, "Safety").
union Body<F: Future> {
    future: ManuallyDrop<F>,
    outcome: ManuallyDrop<Result<F::Output, TaskError>>,
}

/// The start of every cell, whatever its future: the waker target first, so that a pointer
/// to the cell is a pointer to its target (module docs of [`crate::waker`]), then the header.
#[repr(C)]
struct CellPrefix {
    target: WakerTarget,
    header: Header,
}

/// The bytes every cell starts with, which a wake reads and writes: worth prefetching
/// when many wakes come in a row.
pub(crate) const PREFIX_BYTES: usize = size_of::<CellPrefix>();

/// A task's allocation.
#[repr(C)]
struct TaskCell<F: Future> {
    prefix: CellPrefix,
    extras: OnceCell<Box<Extras<F::Output>>>,
    body: UnsafeCell<Body<F>>,
}

/// Allocates a task, marked as `queued` if the caller puts it in the ready queue. The loop
/// stores the first reference, the handle gets the second.
pub(crate) fn new_task<F>(
    core: &Core,
    id: TaskId,
    name: Option<Box<str>>,
    queued: bool,
    future: F,
) -> (TaskRef, Task<F::Output>)
where
    F: Future + 'static,
{
    let layout = Layout::new::<TaskCell<F>>();
    let cell = core
        .take_cell_memory(layout)
        .unwrap_or_else(|| allocate(layout))
        .cast::<TaskCell<F>>();
    let extras = OnceCell::new();
    if name.is_some() {
        let _ = extras.set(Extras::new(name));
    }
    let value = TaskCell {
        prefix: CellPrefix {
            target: WakerTarget::new(Arc::clone(core.remote()), id, &TaskCell::<F>::VTABLE),
            header: Header {
                local_refs: Cell::new(2),
                state: Cell::new(TaskState::Idle),
                // `Core::spawn` queues the task for its first poll, unless it polls it now.
                queued: Cell::new(queued),
                cancel_requested: Cell::new(false),
                outcome: Cell::new(Outcome::Unobserved),
                join_waker: Cell::new(None),
            },
        },
        extras,
        body: UnsafeCell::new(Body {
            future: ManuallyDrop::new(future),
        }),
    };
    // SAFETY: `cell` is fresh memory with `TaskCell<F>`'s layout, from the allocator or the
    // loop's cache, holding no value; this initialises it.
    unsafe { cell.as_ptr().write(value) };
    let raw = TaskRef {
        base: cell.cast(),
        _loop_thread_only: PhantomData,
    };
    let join: CellRef<dyn JoinCell<F::Output>> = CellRef {
        cell,
        _loop_thread_only: PhantomData,
    };
    (raw, Task::from_cell(join))
}

fn allocate(layout: Layout) -> NonNull<u8> {
    // SAFETY: a cell's layout is never zero-sized (it holds a `WakerTarget`).
    let memory = unsafe { alloc(layout) };
    NonNull::new(memory).unwrap_or_else(|| handle_alloc_error(layout))
}

/// Frees a cell made by [`new_task`] for a future of type `F`: drops what is left of it,
/// and keeps its memory for the next task if a loop runs on this thread.
///
/// # Safety
///
/// `target` must be the base of such a cell whose `refs` just reached zero.
unsafe fn free_cell<F: Future>(target: NonNull<WakerTarget>) {
    let cell = target.cast::<TaskCell<F>>();
    // SAFETY: the cell was initialised by `new_task` with this type, and nobody else can
    // reach it any more. Its body was emptied on the loop's thread, so what this drops is
    // `Send` (module docs, "Safety").
    unsafe { std::ptr::drop_in_place(cell.as_ptr()) };
    let layout = Layout::new::<TaskCell<F>>();
    let memory = cell.cast::<u8>();
    // SAFETY: `memory` was allocated with `layout` by the global allocator (by `allocate`, or
    // it came from the cache, which holds only such memory), holds no value now, and is ours
    // to give. Any loop running on this thread may keep it: memory is not tied to a loop.
    let kept = context::with_current(|core| unsafe { core.keep_cell_memory(layout, memory) });
    if let Err(memory) = kept.unwrap_or(Err(memory)) {
        // SAFETY: as above; nobody kept it.
        unsafe { dealloc(memory.as_ptr(), layout) };
    }
}

impl<F: Future + 'static> TaskCell<F> {
    /// This future type's table. A constant of fn items, so `&Self::VTABLE` is `'static`.
    const VTABLE: TaskVTable = TaskVTable {
        poll: Self::poll_raw,
        drop_future_cancelled: Self::drop_future_cancelled_raw,
        complete: Self::complete_raw,
        empty_body: Self::empty_body_raw,
        free: free_cell::<F>,
        name: Self::name_raw,
    };

    /// # Safety
    ///
    /// `base` is the base of a live cell of this type, and the caller holds a loop-side
    /// reference to it (for all the functions below).
    unsafe fn cell<'a>(base: NonNull<WakerTarget>) -> &'a TaskCell<F> {
        // SAFETY: the caller's guarantees.
        unsafe { base.cast::<TaskCell<F>>().as_ref() }
    }

    unsafe fn poll_raw(base: NonNull<WakerTarget>, cx: &mut Context<'_>) -> PollOutcome {
        // SAFETY: see `cell`.
        unsafe { Self::cell(base) }.poll_future(cx)
    }

    unsafe fn drop_future_cancelled_raw(base: NonNull<WakerTarget>) {
        // SAFETY: see `cell`.
        unsafe { Self::cell(base) }.drop_future_cancelled()
    }

    unsafe fn complete_raw(base: NonNull<WakerTarget>, completion: Completion) {
        // SAFETY: see `cell`.
        unsafe { Self::cell(base) }.complete(base, completion)
    }

    unsafe fn empty_body_raw(base: NonNull<WakerTarget>) {
        // SAFETY: see `cell`.
        unsafe { Self::cell(base) }.empty_body()
    }

    unsafe fn name_raw(base: NonNull<WakerTarget>) -> String {
        // SAFETY: see `cell`.
        unsafe { Self::cell(base) }.name().into_owned()
    }

    /// The name given at creation, or the id's `Task-N`.
    fn name(&self) -> Cow<'_, str> {
        match self.extras.get().and_then(|extras| extras.name.as_deref()) {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(self.prefix.target.id().to_string()),
        }
    }

    /// A new loop-side reference to this cell, as a typed handle.
    fn handle(&self, base: NonNull<WakerTarget>) -> Task<F::Output> {
        add_local_ref(&self.prefix.header);
        let cell: NonNull<dyn JoinCell<F::Output>> = base.cast::<TaskCell<F>>();
        Task::from_cell(CellRef {
            cell,
            _loop_thread_only: PhantomData,
        })
    }

    /// Drops whatever the body and the header still hold. Each `Drop` is user code and is
    /// contained on its own, so one that panics does not keep the others from running.
    fn empty_body(&self) {
        let header = &self.prefix.header;
        let join_waker = header.join_waker.take();
        let callbacks: Vec<_> = self
            .extras
            .get()
            .map(|extras| extras.take_callbacks().collect())
            .unwrap_or_default();
        let had_future = !header.is_done();
        let had_outcome = header.is_done() && header.outcome.get() != Outcome::Taken;
        // Recorded before the drop (module docs, "Safety"): from here the body holds nothing.
        // A future that never finished (its loop closed while tasks were still being
        // created) counts as cancelled.
        if had_future {
            header.state.set(TaskState::Done(Completion::Cancelled));
        }
        let unobserved = header.outcome.replace(Outcome::Taken) == Outcome::Unobserved;
        if had_future {
            // SAFETY: the body held the future until the line above, and nothing else can
            // reach it: the last loop-side reference is going. Dropped in place, once.
            let drop_future = || unsafe { ManuallyDrop::drop(&mut (*self.body.get()).future) };
            contain(
                || format!("dropping the future of {}", self.name()),
                drop_future,
            );
        } else if had_outcome {
            // SAFETY: as above, for the outcome.
            let outcome = unsafe { ManuallyDrop::take(&mut (*self.body.get()).outcome) };
            match outcome {
                // An output with no `Drop` to run (a number, say) has nothing to contain.
                Ok(output) if std::mem::needs_drop::<F::Output>() => {
                    contain(
                        || format!("dropping the output of {}", self.name()),
                        || drop(output),
                    );
                }
                Ok(_) => {}
                Err(error) => {
                    if error.is_panic() && unobserved {
                        eprintln!(
                            "looplet: {error}, and nobody retrieved the outcome (the task \
                             handle was dropped with no done callback); await the task or \
                             keep its handle to observe it"
                        );
                    }
                    drop_error(error);
                }
            }
        }
        for callback in callbacks {
            contain(
                || format!("dropping a done callback of {}", self.name()),
                || drop(callback),
            );
        }
        if let Some(waker) = join_waker {
            contain(
                || format!("dropping the waker of the code awaiting {}", self.name()),
                || drop(waker),
            );
        }
    }

    fn poll_future(&self, cx: &mut Context<'_>) -> PollOutcome {
        debug_assert_eq!(self.prefix.header.state.get(), TaskState::Running);
        // SAFETY: the task is `Running`, so the body holds the future and only this poll
        // touches it; the future sits inside the cell and is never moved out of it (module
        // docs, "Safety").
        let future = unsafe { Pin::new_unchecked(&mut *(*self.body.get()).future) };
        let (outcome, completion) = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return PollOutcome::Pending,
            Ok(Poll::Ready(value)) if self.prefix.header.cancel_requested.get() => {
                // It cancelled itself during this poll and then returned: asyncio's rule is
                // that it ends cancelled, its value discarded.
                contain(
                    || format!("dropping the discarded value of {}", self.name()),
                    || drop(value),
                );
                (
                    Err(TaskError::cancelled(self.name().into_owned())),
                    Completion::Cancelled,
                )
            }
            Ok(Poll::Ready(value)) => (Ok(value), Completion::Value),
            Err(payload) => (
                Err(TaskError::panicked(self.name().into_owned(), payload)),
                Completion::Panicked,
            ),
        };
        self.finish(outcome, completion);
        PollOutcome::Finished(completion)
    }

    fn drop_future_cancelled(&self) {
        let cancelled = Err(TaskError::cancelled(self.name().into_owned()));
        self.finish(cancelled, Completion::Cancelled);
    }

    /// Drops the `Running` task's future in place, stores `outcome` in its bytes, and marks
    /// the task done. A panic in the future's `Drop` is caught and reported, as asyncio
    /// reports errors raised while closing a coroutine; the outcome is stored either way.
    fn finish(&self, outcome: Result<F::Output, TaskError>, completion: Completion) {
        debug_assert_eq!(self.prefix.header.state.get(), TaskState::Running);
        // SAFETY: the task is `Running`: the body holds the future, only the loop touches it,
        // and it is dropped once — the bytes are overwritten right after, whether or not
        // the drop unwinds.
        let drop_future = || unsafe { ManuallyDrop::drop(&mut (*self.body.get()).future) };
        contain(
            || format!("dropping the future of {}", self.name()),
            drop_future,
        );
        let body = Body {
            outcome: ManuallyDrop::new(outcome),
        };
        // SAFETY: the future is gone; nothing else reaches the body while `Running`.
        unsafe { self.body.get().write(body) };
        self.prefix.header.state.set(TaskState::Done(completion));
    }

    fn complete(&self, base: NonNull<WakerTarget>, completion: Completion) {
        // `finish` marked the task done when it stored the outcome.
        debug_assert_eq!(self.prefix.header.state.get(), TaskState::Done(completion));
        if let Some(waker) = self.prefix.header.join_waker.take() {
            // Any executor's waker may be here, and its `wake` is not ours to trust.
            contain(
                || format!("waking the code awaiting {}", self.name()),
                || waker.wake(),
            );
        }
        let Some(extras) = self.extras.get() else {
            return;
        };
        let mut callbacks = extras.take_callbacks().peekable();
        if callbacks.peek().is_none() {
            return;
        }
        self.prefix.header.mark_observed();
        let handle = self.handle(base);
        for callback in callbacks {
            run_callback(&handle, callback);
        }
    }
}

/// Drops a task's error, whose panic payload (if any) is user data that may panic again.
fn drop_error(error: TaskError) {
    if let Ok(payload) = error.try_into_panic() {
        drop_payload(payload);
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;
    use std::rc::Rc;

    /// Every task pays for the prefix, and the memory bench counts it: growing it should be
    /// a decision, not an accident.
    #[test]
    fn the_part_every_cell_pays_for_stays_within_56_bytes() {
        // Upper bounds: the compiler may lay things out tighter, never looser.
        assert!(std::mem::size_of::<WakerTarget>() <= 32);
        assert!(std::mem::size_of::<Header>() <= 24);
        assert!(std::mem::size_of::<CellPrefix>() <= 56);
    }

    #[test]
    /// 120 bytes is what fits glibc's 128-byte malloc chunk (8 bytes of its own).
    fn a_task_sleeping_in_an_async_block_is_one_cell_of_at_most_120_bytes() {
        fn cell_size<F: Future>(_: &F) -> usize {
            std::mem::size_of::<TaskCell<F>>()
        }
        // The memory bench's task: a counter and a sleep.
        let counter = Rc::new(Cell::new(0));
        let task = async move {
            looplet_timer::sleep(std::time::Duration::from_secs(1)).await;
            counter.set(counter.get() + 1);
        };
        assert!(cell_size(&task) <= 120, "{}", cell_size(&task));
    }
}
