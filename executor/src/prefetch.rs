//! Prefetch hints: ask the CPU to start loading memory the loop will touch soon.
//!
//! A big batch visits task cells, and their slots in the task table, in an order unrelated
//! to where they sit in memory: a burst of timers fires in deadline order, and the tasks it
//! wakes are then polled in that order. A batch of 50,000 such cells is far larger than the
//! CPU's caches, so every visit would stall on a miss, one after the other. Naming the cell
//! a few entries ahead lets those misses overlap with the work on the cells before it
//! (measured in `docs/BENCHMARKS.md`).
//!
//! # Ground rules
//!
//! * A hint is never needed for correctness. The prefetch instruction reads nothing the
//!   program can see and cannot fault, whatever the address: a stale or dangling pointer is
//!   fine, so callers need no proof that the cell is still alive.
//! * On targets other than x86_64 the hints compile to nothing (the portable prefetch
//!   intrinsic is not stable Rust).

/// How many entries ahead of the one being handled a batch prefetches. Far enough that a
/// miss to main memory (a few hundred cycles) is over by the time the entry comes up, near
/// enough that the prefetched lines are still in the L1 cache then. Measured on `run_one
/// timers` (9 alternating runs, medians): 4 entries 257 ns per timer, 8 239, 16 239,
/// 32 225 — from 8 on, within the noise.
pub(crate) const DISTANCE: usize = 8;

/// The bytes of a cell that a poll or a wake touches first: the prefix (waker target and
/// header) and the start of the future, i.e. a 128-byte malloc chunk for a small task.
pub(crate) const CELL_BYTES: usize = 128;

/// Asks for the cache lines covering `len` bytes from `start` to be loaded, for `len` of
/// at most 128: three hints (first byte, middle, last byte) then reach every 64-byte line
/// the bytes touch, with no loop to pay for when the lines are already cached.
#[inline(always)]
pub(crate) fn prefetch(start: *const u8, len: usize) {
    debug_assert!((1..=128).contains(&len), "three hints cover 1 to 128 bytes");
    prefetch_line(start);
    prefetch_line(start.wrapping_add(len / 2));
    prefetch_line(start.wrapping_add(len - 1));
}

/// Asks for the one cache line holding `address` to be loaded: enough for a value that
/// cannot straddle two lines, such as an aligned 8-byte one.
#[inline(always)]
pub(crate) fn prefetch_line(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `prefetch` is a hint that never faults and whose load the program
        // cannot observe, for any address (module docs); SSE, which the instruction needs,
        // is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(address.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}
