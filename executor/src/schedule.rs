//! Seeded schedules, and the fingerprint that tells two schedules apart.
//!
//! FIFO order hides bugs: two tasks that race on shared state across an `.await` may meet
//! in one order only, every run. With a seed ([`Builder::seed`](crate::Builder::seed) or
//! `LOOPLET_SEED`), each batch of ready tasks is shuffled before the loop polls it, by a
//! small PRNG started from the seed: the same seed gives the same order, run after run,
//! and other seeds give other interleavings. Without a seed nothing is shuffled and the
//! order is FIFO, exactly as documented.
//!
//! # What a seed changes, and what it does not
//!
//! * It reorders the tasks *within* one batch: whatever was ready when the tick began —
//!   tasks woken by other tasks, by timers, by other threads, by I/O — and the future
//!   given to `run`, which takes its turn among them.
//! * It never moves a task across ticks, so the fairness rule holds: a task woken during a
//!   batch still waits for the next one.
//! * Timers still fire in (deadline, sequence) order; a seed only reorders the tasks those
//!   timers woke, in the batch that polls them. Virtual time moves as without a seed.
//! * Remote wakes and I/O readiness arrive when they arrive: from other threads a program
//!   is not a pure function of its seed. On one thread, on the virtual clock, it is.
//!
//! # The fingerprint
//!
//! Every poll folds the polled task's number (0 for the future given to `run`) into a
//! 64-bit hash (rotate, xor, multiply: the FxHash step, three instructions, since it runs
//! on every poll), kept with or without a seed and read through
//! [`LoopStats::schedule_fingerprint`](crate::LoopStats::schedule_fingerprint). Two runs
//! with the same fingerprint polled the same tasks in the same order; a test that asserts
//! it catches a hidden source of nondeterminism (a `HashMap`'s order, a wall-clock read).

use std::cell::Cell;
use std::collections::VecDeque;

/// A SplitMix64 generator: tiny, fast, and good enough to pick permutations.
pub(crate) struct Shuffler {
    state: Cell<u64>,
}

impl Shuffler {
    pub(crate) fn new(seed: u64) -> Shuffler {
        Shuffler {
            state: Cell::new(seed),
        }
    }

    fn next(&self) -> u64 {
        let state = self.state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(state);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound > 0`), by Lemire's multiply-shift.
    fn below(&self, bound: usize) -> usize {
        ((u128::from(self.next()) * bound as u128) >> 64) as usize
    }

    /// Shuffles the first `count` items of `items` (Fisher–Yates), leaving the rest.
    pub(crate) fn shuffle_front<T>(&self, items: &mut VecDeque<T>, count: usize) {
        let count = count.min(items.len());
        for last in (1..count).rev() {
            items.swap(last, self.below(last + 1));
        }
    }
}

/// The hash of the sequence of polls (module docs, "The fingerprint").
pub(crate) struct Fingerprint {
    hash: Cell<u64>,
}

impl Fingerprint {
    /// FxHash's multiplier: odd, so each step is a bijection and no poll is lost.
    const MULTIPLIER: u64 = 0x517C_C1B7_2722_0A95;

    pub(crate) fn new() -> Fingerprint {
        // Not zero, so that polls of task 0 (the future given to `run`) change it too.
        Fingerprint {
            hash: Cell::new(Self::MULTIPLIER),
        }
    }

    /// Folds in one poll of task number `number`.
    #[inline]
    pub(crate) fn record(&self, number: u64) {
        let hash = (self.hash.get().rotate_left(5) ^ number).wrapping_mul(Self::MULTIPLIER);
        self.hash.set(hash);
    }

    pub(crate) fn get(&self) -> u64 {
        self.hash.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_gives_one_permutation_and_others_give_others() {
        let order = |seed| {
            let mut items: VecDeque<u32> = (0..8).collect();
            Shuffler::new(seed).shuffle_front(&mut items, 8);
            items
        };
        assert_eq!(order(7), order(7));
        let distinct: std::collections::HashSet<_> = (0..20).map(order).collect();
        assert!(
            distinct.len() >= 15,
            "{} orders from 20 seeds",
            distinct.len()
        );
        let mut sorted: Vec<u32> = order(3).into_iter().collect();
        sorted.sort();
        assert_eq!(sorted, (0..8).collect::<Vec<_>>(), "a permutation");
    }

    #[test]
    fn only_the_front_is_shuffled() {
        let mut items: VecDeque<u32> = (0..10).collect();
        Shuffler::new(1).shuffle_front(&mut items, 4);
        assert_eq!(
            items.iter().skip(4).copied().collect::<Vec<_>>(),
            [4, 5, 6, 7, 8, 9]
        );
    }

    #[test]
    fn the_fingerprint_depends_on_the_order_of_polls() {
        let of = |polls: &[u64]| {
            let fingerprint = Fingerprint::new();
            polls.iter().for_each(|&poll| fingerprint.record(poll));
            fingerprint.get()
        };
        assert_eq!(of(&[0, 1, 2]), of(&[0, 1, 2]));
        assert_ne!(of(&[0, 1, 2]), of(&[0, 2, 1]));
    }
}
