//! A task cell's `refs` word: how many units keep the cell's memory alive, and whether the
//! task's id is in its loop's remote queue, in one `AtomicU32` that any thread may touch.
//!
//! # Units
//!
//! The low 31 bits ([`COUNT`]) count units: one per owned waker (see [`crate::waker`]), plus
//! one that the loop side holds while any loop-side reference to the cell exists. A holder
//! may use the cell until it gives its unit up. The cell is freed when the count reaches
//! zero, by whichever holder gave up the last unit, on whatever thread that is.
//!
//! * **A new unit** is only ever made from one its maker already holds (a clone of a waker,
//!   or a waker made while the loop side holds its unit), so the count cannot rise from
//!   zero. That is why the add may be `Relaxed`, as in `Arc::clone`.
//! * **A unit given up** is a `fetch_sub` with `AcqRel`: the release half orders the
//!   holder's uses of the cell before it, and the acquire half of the last one orders all of
//!   them before the free. When the word already says one, that unit is the caller's: no
//!   other holder exists and none can appear, so the caller frees without the
//!   read-modify-write; its `Acquire` load still comes after every other holder's last
//!   `fetch_sub`, as they are all in the word's release sequences.
//!
//! # The remote-queued bit
//!
//! The top bit is [`REMOTE_QUEUED`], owned by [`crate::remote`]: the count never carries into
//! it (an add that would pass half the range aborts), and only the count decides a free.
//!
//! # Checked by loom
//!
//! `loom_tests` below runs [`Refs`] with the last unit given up on another thread, alongside
//! a remote wake that sets and clears the bit, and checks that the cell is freed exactly
//! once and after every other holder's last use of it.

use crate::remote::REMOTE_QUEUED;
use crate::sync::{AtomicU32, Ordering};

/// The bits of the word that count units.
const COUNT: u32 = !REMOTE_QUEUED;

/// A cell's `refs` word (module docs).
pub(crate) struct Refs {
    word: AtomicU32,
}

/// What giving up a unit leaves the caller to do.
#[must_use = "the caller of the last unit must free the cell"]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Released {
    /// That was the last unit: free the cell.
    Last,
    /// Other holders remain: leave the cell alone.
    Others,
}

impl Refs {
    /// A word holding the loop side's unit, with the task out of the remote queue.
    pub(crate) fn new() -> Refs {
        Refs {
            word: AtomicU32::new(1),
        }
    }

    /// Takes a new unit. The caller must hold one already (module docs, "Units").
    pub(crate) fn add_unit(&self) {
        if self.word.fetch_add(1, Ordering::Relaxed) & COUNT > COUNT / 2 {
            // A billion live clones of one waker is a leak in the caller; letting the count
            // run into the flag bit would free the cell under live wakers, so stop as `Arc`
            // does.
            std::process::abort();
        }
    }

    /// Gives up one unit the caller holds; after this the caller may touch the cell only if
    /// the answer is [`Released::Last`], and then only to free it.
    pub(crate) fn release_unit(&self) -> Released {
        if self.word.load(Ordering::Acquire) & COUNT == 1
            || self.word.fetch_sub(1, Ordering::AcqRel) & COUNT == 1
        {
            Released::Last
        } else {
            Released::Others
        }
    }

    /// The word, for the remote queue's flag bit (see [`crate::remote`]).
    pub(crate) fn queue_word(&self) -> &AtomicU32 {
        &self.word
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::{AtomicBool, AtomicUsize};
    use loom::sync::Arc;
    use loom::thread;

    use super::{Refs, Released};
    use crate::remote::{left_queue, REMOTE_QUEUED};
    use crate::sync::model::check;
    use crate::sync::Ordering;

    /// A cell as the count sees it: its word, something its holders use, and a record of
    /// the free. Freeing writes `data`, as a deallocation would, so loom reports any use
    /// that the free does not come after.
    struct Cell {
        refs: Refs,
        data: UnsafeCell<u64>,
        freed: AtomicBool,
        frees: AtomicUsize,
    }

    impl Cell {
        fn new() -> Cell {
            Cell {
                refs: Refs::new(),
                data: UnsafeCell::new(7),
                freed: AtomicBool::new(false),
                frees: AtomicUsize::new(0),
            }
        }

        /// A holder's use of the cell: a read of its memory, which must not be freed yet.
        fn use_it(&self) {
            assert!(
                !self.freed.load(Ordering::Relaxed),
                "a holder used a freed cell"
            );
            // SAFETY: a read of a plain integer; loom checks it against the free's write.
            assert_eq!(unsafe { self.data.with(|data| *data) }, 7);
        }

        /// Gives up a unit, freeing the cell if it was the last.
        fn release(&self) {
            if self.refs.release_unit() == Released::Last {
                // SAFETY: a write of a plain integer, standing for the deallocation; loom
                // reports it if it races with any holder's use.
                unsafe { self.data.with_mut(|data| *data = 0) };
                self.freed.store(true, Ordering::Relaxed);
                self.frees.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    #[test]
    fn loom_the_last_unit_given_up_on_another_thread_frees_the_cell_once_after_every_use() {
        check("refs: last release on another thread", None, || {
            let cell = Arc::new(Cell::new());
            // The loop side clones two wakers (while holding its own unit) and hands them to
            // two threads; the second clones its waker again there, and uses both.
            let wakers: Vec<_> = (0..2)
                .map(|clones| {
                    cell.refs.add_unit();
                    let remote_side = Arc::clone(&cell);
                    thread::spawn(move || {
                        for _ in 0..clones {
                            remote_side.refs.add_unit();
                        }
                        for _ in 0..=clones {
                            remote_side.use_it();
                            remote_side.release();
                        }
                    })
                })
                .collect();
            cell.use_it();
            cell.release();
            for waker in wakers {
                waker.join().unwrap();
            }
            assert_eq!(cell.frees.load(Ordering::Relaxed), 1, "freed exactly once");
        });
    }

    #[test]
    fn loom_a_remote_wake_in_the_same_word_never_changes_who_frees_the_cell() {
        check("refs: release with the remote-queued bit", None, || {
            let cell = Arc::new(Cell::new());
            cell.refs.add_unit();
            let remote_side = Arc::clone(&cell);
            // A waker on another thread sets the bit (as `Remote::wake` does), then drops.
            let waker = thread::spawn(move || {
                let word = remote_side.refs.queue_word();
                let _ = word.fetch_or(REMOTE_QUEUED, Ordering::AcqRel);
                remote_side.use_it();
                remote_side.release();
            });
            // The loop clears the bit as it pops the id, then gives up its own unit.
            left_queue(cell.refs.queue_word());
            cell.use_it();
            cell.release();
            waker.join().unwrap();
            assert_eq!(cell.frees.load(Ordering::Relaxed), 1, "freed exactly once");
        });
    }
}
