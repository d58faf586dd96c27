//! Which task group is being polled on this thread: the one piece of context a scope needs
//! at its first poll to find the group it is nested in (`shared.rs`, "Nesting").
//!
//! # How
//!
//! * Every group holds a [`Slot`]: its number in this thread's table of groups, which holds
//!   it weakly. The slot is taken when the group is made and freed when it is dropped, so a
//!   slot's number names one live group.
//! * While a group's body or one of its children is polled, [`polling`] makes that group's
//!   number the thread's *current* one, and puts the previous one back afterwards (also when
//!   the poll panics). Every poll of every child pays for that, so it is a plain number in a
//!   `Cell` — no reference count, no borrow flag; the table is touched only when a group is
//!   made or dropped, and by [`current`]. The table's memory follows the thread's peak of
//!   live groups (one `Weak` each).
//! * [`current`] — asked by a scope at its first poll — turns the number back into the
//!   group. The number is current only while its group is being polled, and so alive.
//!
//! The table knows nothing of groups (`T: Any`), so this module depends on no other.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use slab::Slab;

/// The current number when no group is being polled.
const NONE: usize = usize::MAX;

thread_local! {
    /// This thread's live groups, by slot number.
    static GROUPS: RefCell<Slab<Weak<dyn Any>>> = const { RefCell::new(Slab::new()) };
    /// The slot number of the group being polled, or `NONE`.
    static CURRENT: Cell<usize> = const { Cell::new(NONE) };
}

/// A group's number in this thread's table; freed on drop.
pub(crate) struct Slot(usize);

impl Slot {
    /// Enters `group` (weakly) in the table.
    pub(crate) fn new<T: Any>(group: Weak<T>) -> Slot {
        let group: Weak<dyn Any> = group;
        // The table is gone only during thread exit; a group made then is never current.
        let number = GROUPS.try_with(|groups| groups.borrow_mut().insert(group));
        Slot(number.unwrap_or(NONE))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.0 == NONE {
            return;
        }
        // A `Weak` runs no user code when dropped, so it may go while the table is borrowed.
        let _ = GROUPS.try_with(|groups| groups.borrow_mut().try_remove(self.0));
    }
}

/// Runs `poll` with the group at `slot` as the current one.
// Every poll of every child goes through here. Measured with callgrind on the `taskgroup`
// bench, marking adds 39 instructions a child when forced inline, 53 when left to LLVM.
#[inline(always)]
pub(crate) fn polling<R>(slot: &Slot, poll: impl FnOnce() -> R) -> R {
    /// Puts back the number that was current before.
    struct Restore(usize);
    impl Drop for Restore {
        #[inline(always)]
        fn drop(&mut self) {
            CURRENT.set(self.0);
        }
    }

    let _restore = Restore(CURRENT.replace(slot.0));
    poll()
}

/// The group being polled right now, if any (and if it is a `T`).
pub(crate) fn current<T: Any>() -> Option<Rc<T>> {
    let number = CURRENT.get();
    if number == NONE {
        return None;
    }
    let group = GROUPS
        .try_with(|groups| groups.borrow().get(number).cloned())
        .ok()??;
    group.upgrade()?.downcast().ok()
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::rc::Rc;

    use super::{current, polling, Slot};

    /// A stand-in for a group: a name and its slot.
    struct Group {
        name: &'static str,
        slot: Slot,
    }

    fn group(name: &'static str) -> Rc<Group> {
        Rc::new_cyclic(|this| Group {
            name,
            slot: Slot::new(this.clone()),
        })
    }

    fn current_name() -> Option<&'static str> {
        current::<Group>().map(|group| group.name)
    }

    #[test]
    fn the_innermost_group_being_polled_is_current_and_the_outer_one_comes_back() {
        let (outer, inner) = (group("outer"), group("inner"));
        assert_eq!(current_name(), None);
        polling(&outer.slot, || {
            assert_eq!(current_name(), Some("outer"));
            polling(&inner.slot, || assert_eq!(current_name(), Some("inner")));
            assert_eq!(current_name(), Some("outer"));
        });
        assert_eq!(current_name(), None);
    }

    #[test]
    fn a_panicking_poll_puts_the_previous_group_back() {
        let (outer, inner) = (group("outer"), group("inner"));
        polling(&outer.slot, || {
            let panicked = catch_unwind(AssertUnwindSafe(|| {
                polling(&inner.slot, || panic!("the poll panicked"))
            }));
            assert!(panicked.is_err());
            assert_eq!(current_name(), Some("outer"));
        });
    }

    #[test]
    fn a_dropped_group_frees_its_slot_for_the_next_one() {
        let first = group("first");
        let number = first.slot.0;
        drop(first);
        let second = group("second");
        assert_eq!(
            second.slot.0, number,
            "the table does not grow with dead groups"
        );
        polling(&second.slot, || assert_eq!(current_name(), Some("second")));
    }
}
