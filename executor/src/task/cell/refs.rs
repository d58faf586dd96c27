//! The loop-thread references to a cell: [`TaskRef`], the loop's thin pointer, and
//! [`CellRef`], a handle's typed one, both counted in `Header::local_refs`; the last one to
//! go empties the cell's body on the loop's thread and gives up the loop side's unit of the
//! waker count (see the parent module's "Two counts" and "Safety").

use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::rc::Rc;
use std::task::{Context, Waker};

use super::{header_of, CellPrefix, Header, PollOutcome};
use crate::task::Completion;
use crate::waker::{self, WakerTarget};

/// The loop's reference to a task: a thin pointer, counted in `Header::local_refs`.
pub(crate) struct TaskRef {
    pub(super) base: NonNull<WakerTarget>,
    /// `!Send` and `!Sync`: the count it keeps is a plain `Cell`.
    pub(super) _loop_thread_only: PhantomData<Rc<()>>,
}

/// A handle's reference to a task, typed by what the handle needs (`dyn JoinCell<T>`),
/// counted in `Header::local_refs` like a [`TaskRef`].
pub(crate) struct CellRef<C: ?Sized> {
    pub(super) cell: NonNull<C>,
    /// `!Send` and `!Sync`: the count it keeps is a plain `Cell`.
    pub(super) _loop_thread_only: PhantomData<Rc<()>>,
}

/// The cell's prefix, for any reference that holds a loop-side count.
///
/// # Safety
///
/// The caller holds a loop-side reference to the cell at `base` for `'a`.
unsafe fn prefix<'a>(base: NonNull<WakerTarget>) -> &'a CellPrefix {
    // SAFETY: every cell starts with its `CellPrefix` (`#[repr(C)]`), and the caller's
    // reference keeps the cell allocated (module docs, "Safety").
    unsafe { base.cast::<CellPrefix>().as_ref() }
}

impl TaskRef {
    fn prefix(&self) -> &CellPrefix {
        // SAFETY: `self` is a loop-side reference, held while the result is borrowed.
        unsafe { prefix(self.base) }
    }

    pub(crate) fn header(&self) -> &Header {
        &self.prefix().header
    }

    pub(crate) fn waker_target(&self) -> &WakerTarget {
        &self.prefix().target
    }

    /// Lends `f` the task's waker for one poll (see [`crate::waker`]).
    pub(crate) fn with_waker<R>(&self, f: impl FnOnce(&Waker) -> R) -> R {
        // SAFETY: `base` points at the start of this live cell with its provenance, and
        // `self` is a loop-side reference held for the whole call.
        unsafe { waker::with_borrowed_waker(self.base, f) }
    }

    /// See [`TaskVTable::poll`].
    pub(crate) fn poll_future(&self, cx: &mut Context<'_>) -> PollOutcome {
        // SAFETY: the table is the one for this cell's future type; `self` keeps it alive.
        unsafe { (self.waker_target().vtable().poll)(self.base, cx) }
    }

    /// See [`TaskVTable::drop_future_cancelled`].
    pub(crate) fn drop_future_cancelled(&self) {
        // SAFETY: as in `poll_future`.
        unsafe { (self.waker_target().vtable().drop_future_cancelled)(self.base) }
    }

    /// See [`TaskVTable::complete`].
    pub(crate) fn complete(&self, completion: Completion) {
        // SAFETY: as in `poll_future`.
        unsafe { (self.waker_target().vtable().complete)(self.base, completion) }
    }

    /// See [`TaskVTable::name`].
    pub(crate) fn name(&self) -> String {
        // SAFETY: as in `poll_future`.
        unsafe { (self.waker_target().vtable().name)(self.base) }
    }

    /// Gives up this reference as a bare pointer that still holds its count (the ready
    /// queue keeps these); [`TaskRef::from_raw`] takes it back.
    pub(crate) fn into_raw(self) -> NonNull<WakerTarget> {
        let base = self.base;
        std::mem::forget(self);
        base
    }

    /// Takes back a reference given up by [`TaskRef::into_raw`].
    ///
    /// # Safety
    ///
    /// `base` must come from `into_raw`, and be taken back once.
    pub(crate) unsafe fn from_raw(base: NonNull<WakerTarget>) -> TaskRef {
        TaskRef {
            base,
            _loop_thread_only: PhantomData,
        }
    }

    /// A new loop-side reference to the cell at `base`, made from one of its wakers; `None`
    /// once the cell has no loop-side reference left (its body is gone for good, and the
    /// loop side's unit of `refs` with it: it must not come back).
    ///
    /// # Safety
    ///
    /// As for [`header_of`]: on the loop's thread, holding a unit of the cell's `refs`.
    pub(crate) unsafe fn from_waker(base: NonNull<WakerTarget>) -> Option<TaskRef> {
        // SAFETY: the caller's guarantees.
        let header = unsafe { header_of(base) };
        if header.local_refs.get() == 0 {
            return None;
        }
        add_local_ref(header);
        Some(TaskRef {
            base,
            _loop_thread_only: PhantomData,
        })
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> Self {
        add_local_ref(self.header());
        TaskRef {
            base: self.base,
            _loop_thread_only: PhantomData,
        }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: this is a loop-side reference, given up here.
        unsafe { drop_local_ref(self.base) };
    }
}

impl<C: ?Sized> CellRef<C> {
    /// The cell's address with the whole cell's provenance: wakers and new references are
    /// made from this.
    pub(crate) fn base(&self) -> NonNull<WakerTarget> {
        self.cell.cast()
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: `self` is a loop-side reference, held while the result is borrowed.
        unsafe { &prefix(self.base()).header }
    }

    pub(crate) fn waker_target(&self) -> &WakerTarget {
        // SAFETY: as in `header`.
        unsafe { &prefix(self.base()).target }
    }
}

impl<C: ?Sized> Deref for CellRef<C> {
    type Target = C;

    fn deref(&self) -> &C {
        // SAFETY: this reference's unit keeps the cell allocated (module docs, "Safety").
        unsafe { self.cell.as_ref() }
    }
}

impl<C: ?Sized> Drop for CellRef<C> {
    fn drop(&mut self) {
        // SAFETY: this is a loop-side reference, given up here.
        unsafe { drop_local_ref(self.base()) };
    }
}

pub(super) fn add_local_ref(header: &Header) {
    let count = header.local_refs.get();
    // Wrapping would free a cell still referenced; four billion handles is a leak anyway.
    header.local_refs.set(
        count
            .checked_add(1)
            .expect("too many references to one task"),
    );
}

/// Gives up one loop-side reference to the cell at `base`. The last one empties the body
/// here, on the loop's thread, then gives up the loop side's unit of `refs`. The body's
/// `Drop`s are user code; their panics are contained (see [`super::contain`]).
///
/// # Safety
///
/// The caller holds a loop-side reference to the cell and gives it up: it must not use the
/// cell afterwards.
unsafe fn drop_local_ref(base: NonNull<WakerTarget>) {
    // SAFETY: the caller's reference keeps the cell allocated until the release below.
    let prefix = unsafe { prefix(base) };
    let left = prefix.header.local_refs.get() - 1;
    prefix.header.local_refs.set(left);
    if left > 0 {
        return;
    }
    let empty_body = prefix.target.vtable().empty_body;
    // SAFETY: the table is the one for this cell's future type, and the cell is alive. It
    // contains the panics of the `Drop`s it runs, so the release below always happens.
    unsafe { empty_body(base) };
    // SAFETY: the loop side's unit is held while any loop-side reference exists and this was
    // the last; nothing below touches the cell.
    unsafe { waker::release(base) };
}
