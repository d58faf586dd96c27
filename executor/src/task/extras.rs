//! `Extras`: what few tasks have — a name, done callbacks — kept out of line, behind one
//! thin pointer a cell makes on first use, so a plain task pays 8 bytes for them.
//!
//! # Invariants
//!
//! * Callbacks are kept in registration order and each has a [`DoneCallbackId`] unique
//!   within its task, so one can be removed before it runs.
//! * The lists live in `Cell`s and are taken (never borrowed) to read or change: a
//!   callback's own code may add or remove callbacks of the same task while the loop holds
//!   the ones it took, and finds the lists empty rather than borrowed.

use std::cell::Cell;

use super::Task;

pub(crate) type DoneCallback<T> = Box<dyn FnOnce(&Task<T>)>;

/// Names one done callback of one task, to remove it with
/// [`Task::remove_done_callback`](crate::Task::remove_done_callback) before it runs.
///
/// # Examples
///
/// ```
/// looplet::run(async {
///     let task = looplet::create_task(async {});
///     let id = task.add_done_callback(|_| unreachable!("removed before it runs"));
///     assert!(task.remove_done_callback(id));
///     task.await.unwrap();
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DoneCallbackId(u32);

impl DoneCallbackId {
    /// The id given to a callback that was queued at once, its task being done already:
    /// nothing is left to remove.
    pub(crate) const QUEUED: DoneCallbackId = DoneCallbackId(u32::MAX);
}

pub(crate) struct Extras<T> {
    pub(crate) name: Option<Box<str>>,
    /// The next callback's id.
    next_id: Cell<u32>,
    /// The first callback here, so that one callback allocates no `Vec`.
    first_callback: Cell<Option<(DoneCallbackId, DoneCallback<T>)>>,
    more_callbacks: Cell<Vec<(DoneCallbackId, DoneCallback<T>)>>,
}

impl<T> Extras<T> {
    pub(crate) fn new(name: Option<Box<str>>) -> Box<Extras<T>> {
        Box::new(Extras {
            name,
            next_id: Cell::new(0),
            first_callback: Cell::new(None),
            more_callbacks: Cell::new(Vec::new()),
        })
    }

    /// Adds a callback after the others.
    pub(crate) fn push_callback(&self, callback: DoneCallback<T>) -> DoneCallbackId {
        let id = DoneCallbackId(self.next_id.get());
        // Wrapping would reuse `QUEUED`; four billion callbacks on one task is a leak anyway.
        self.next_id.set(
            id.0.checked_add(1)
                .filter(|&next| next < u32::MAX)
                .unwrap_or(0),
        );
        match self.first_callback.take() {
            None if self.no_more_callbacks() => self.first_callback.set(Some((id, callback))),
            first => {
                self.first_callback.set(first);
                let mut more = self.more_callbacks.take();
                more.push((id, callback));
                self.more_callbacks.set(more);
            }
        }
        id
    }

    fn no_more_callbacks(&self) -> bool {
        let more = self.more_callbacks.take();
        let empty = more.is_empty();
        self.more_callbacks.set(more);
        empty
    }

    /// Removes the callback `id`, if it is still waiting; returns whether it was. The
    /// removed callback is returned to be dropped by the caller, outside these lists.
    pub(crate) fn remove_callback(&self, id: DoneCallbackId) -> Option<DoneCallback<T>> {
        match self.first_callback.take() {
            Some((first, callback)) if first == id => return Some(callback),
            first => self.first_callback.set(first),
        }
        let mut more = self.more_callbacks.take();
        let found = more.iter().position(|(each, _)| *each == id);
        let removed = found.map(|index| more.remove(index).1);
        self.more_callbacks.set(more);
        removed
    }

    /// Takes every callback, in registration order.
    pub(crate) fn take_callbacks(&self) -> impl Iterator<Item = DoneCallback<T>> {
        self.first_callback
            .take()
            .into_iter()
            .chain(self.more_callbacks.take())
            .map(|(_, callback)| callback)
    }
}
