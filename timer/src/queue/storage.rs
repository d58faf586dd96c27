//! The queue's storage: the slab of slots and the two heaps of entries, the order of the
//! entries, and how dead entries are swept and room given back. Only
//! [`TimerQueue`](super::TimerQueue)'s methods call in here, with the queue's state borrowed;
//! nothing here calls user code (wakers are handed back in `due`, to be woken later).
//!
//! # Memory
//!
//! * Memory follows the load, not the peak. A queue with no live timer restarts empty,
//!   keeping room for [`CAPACITY_FLOOR`] timers: 40 KiB, plus 512 bytes for far timers.
//!   Each heap gives back room once it is less than a quarter full, keeping twice what it
//!   holds. The slab cannot simply shrink, since a `Sleep` knows its timer by slot number:
//!   once it is less than a quarter full, `fire_due` *moves out* the timers in slots from
//!   twice the live count on, freeing their slots and handing their wakers back with the
//!   fired ones'. A woken `Sleep` finds its deadline not passed and its slot not its own,
//!   and registers again in a low slot — a spurious wake, which every future tolerates.
//! * Moving a timer out costs about what firing one does, so the slab shrinks only once
//!   the live timers number at most a sixteenth of those fired or cancelled since it last
//!   shrank ([`MOVE_OUT_RATIO`]): however the timers lie in the slab, moving them out adds
//!   at most a sixteenth to the work. Every shrink costs time in proportion to the room it
//!   frees, so all of it is amortised O(1) per timer, and a steady load never reallocates.
//! * So what the queue holds beyond its live timers is bounded, after every `fire_due`: no
//!   more than the idle reserve above, or heaps of at most four times their entries and a
//!   slab of fewer than 34 slots per live timer (a slab doubles only when full, and shrinks
//!   once fewer than one in 17 of its peak timers is left), whichever is more. After a
//!   burst that leaves a few long timers behind, the slab is back to that reserve as soon
//!   as they are a sixteenth of the burst. [`TimerStats::bytes`](super::TimerStats::bytes)
//!   reports the room held.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::num::NonZeroU64;
use std::task::Waker;
use std::time::Instant;

use slab::Slab;

/// A heap may hold this many dead entries before a sweep is considered at all.
const SWEEP_FLOOR: usize = 64;

/// Room for this many timers is kept however idle the queue gets — 40 KiB of slots and
/// heap entries — so a loop whose few timers come and go never reallocates.
const CAPACITY_FLOOR: usize = 1024;

/// The same for far timers, which are rare: 512 bytes.
const FAR_CAPACITY_FLOOR: usize = 16;

/// The slab moves timers out to shrink only once at most one timer is live for every this
/// many fired or cancelled since it last shrank; see the module docs.
const MOVE_OUT_RATIO: usize = 16;

/// Everything behind the queue's `RefCell`.
#[derive(Debug, Default)]
pub(super) struct State {
    /// Live timers and tombstones, one per heap entry.
    pub(super) slots: Slab<Slot>,
    pub(super) heap: BinaryHeap<Reverse<Entry>>,
    /// Timers due past the tick horizon, by full instant; see the queue's ground rules.
    pub(super) far: BinaryHeap<Reverse<FarEntry>>,
    /// Slots holding a waker; the slab's own count includes the tombstones.
    pub(super) live: usize,
    /// Timers fired or cancelled since the slab last shrank: what pays for moving timers
    /// out (see [`MOVE_OUT_RATIO`]).
    pub(super) left: usize,
}

#[derive(Debug)]
pub(super) struct Slot {
    pub(super) sequence: NonZeroU64,
    /// `None` once the timer is cancelled: a tombstone, kept until its heap entry goes.
    pub(super) waker: Option<Waker>,
}

/// A heap entry: 16 bytes. Ordered by deadline, then by sequence, so equal deadlines fire
/// in creation order. The deadline is kept in [`Clock::ticks`](crate::Clock::ticks), which
/// compare faster than `Instant`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) deadline: u64,
    /// The low 32 bits of the timer's sequence number: only for the order, since the slot
    /// is never reused while this entry exists.
    pub(super) sequence: u32,
    pub(super) slot: u32,
}

impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> std::cmp::Ordering {
        match self.deadline.cmp(&other.deadline) {
            std::cmp::Ordering::Equal => creation_order(self.sequence, other.sequence),
            unequal => unequal,
        }
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The order of two timers with equal deadlines, from the low 32 bits of their sequences:
/// the difference read as signed, so the order survives the counter wrapping (exact for
/// timers created fewer than 2^31 timers apart).
///
/// Cold and out of line because ties are rare: without that hint the compiler works the
/// tie-break out at every comparison of the heap's sift loops, where it costs a fifth
/// more instructions than a branch that is almost never taken.
#[cold]
#[inline(never)]
fn creation_order(a: u32, b: u32) -> std::cmp::Ordering {
    (a.wrapping_sub(b) as i32).cmp(&0)
}

/// A far timer's heap entry: ordered by its full deadline, then by its full sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct FarEntry {
    pub(super) deadline: Instant,
    pub(super) sequence: NonZeroU64,
    pub(super) slot: u32,
}

/// Fires the far timers due by `now`, appending their wakers to `due`; returns how many.
/// Out of line: far timers are rare, and the firing loop stays small without them.
#[cold]
#[inline(never)]
pub(super) fn fire_far(
    slots: &mut Slab<Slot>,
    far: &mut BinaryHeap<Reverse<FarEntry>>,
    now: Instant,
    due: &mut Vec<Waker>,
) -> usize {
    let mut fired = 0;
    while let Some(Reverse(top)) = far.peek() {
        if top.deadline > now {
            break;
        }
        let slot = top.slot as usize;
        far.pop();
        if let Some(waker) = slots.remove(slot).waker {
            due.push(waker);
            fired += 1;
        }
    }
    fired
}

/// Sweeps dead entries out of the heaps, and their tombstones out of the slab, once they
/// outnumber the live timers. Called after a cancel or a firing: amortised O(1) each, and
/// the heaps and slab stay within about twice the live timers (plus [`SWEEP_FLOOR`]).
///
/// With no timer live at all, every entry is dead and every slot a tombstone: the heaps are
/// emptied and the slab restarted, so the next burst of timers takes slots in order instead
/// of following the free list the last burst left in firing order (a cache miss per timer on
/// a large slab). Room past [`CAPACITY_FLOOR`] goes back then too.
pub(super) fn sweep_if_mostly_dead(state: &mut State) {
    if state.live == 0 {
        restart_empty(state);
        return;
    }
    let State {
        slots,
        heap,
        far,
        live,
        ..
    } = state;
    let entries = heap.len() + far.len();
    if entries > SWEEP_FLOOR && entries > 2 * *live {
        let mut is_live = |slot: u32| {
            let slot = slot as usize;
            let is_live = slots[slot].waker.is_some();
            if !is_live {
                slots.remove(slot);
            }
            is_live
        };
        heap.retain(|Reverse(entry)| is_live(entry.slot));
        far.retain(|Reverse(entry)| is_live(entry.slot));
    }
    debug_assert_eq!(heap.len() + far.len(), slots.len(), "one entry per slot");
}

/// Empties a queue with no live timer, keeping room for [`CAPACITY_FLOOR`] timers at most.
fn restart_empty(state: &mut State) {
    state.heap.clear();
    state.far.clear();
    state.slots.clear();
    state.left = 0;
    if state.slots.capacity() > CAPACITY_FLOOR {
        state.slots = Slab::with_capacity(CAPACITY_FLOOR);
    }
    shrink_heap(&mut state.heap, CAPACITY_FLOOR);
    shrink_heap(&mut state.far, FAR_CAPACITY_FLOOR);
}

/// Gives back room once the slab or a heap is less than a quarter full (the slab only once
/// enough timers have left to pay for it; see the module docs). Returns how many timers it
/// moved out, their wakers appended to `due`.
pub(super) fn shrink_if_sparse(state: &mut State, due: &mut Vec<Waker>) -> usize {
    let capacity = state.slots.capacity();
    let moved_out = if capacity > CAPACITY_FLOOR
        && state.slots.len() < capacity / 4
        && state.live * MOVE_OUT_RATIO <= state.left
    {
        move_out_high_slots(state, due)
    } else {
        0
    };
    shrink_heap(&mut state.heap, CAPACITY_FLOOR);
    shrink_heap(&mut state.far, FAR_CAPACITY_FLOOR);
    moved_out
}

/// Keeps room for twice what `heap` holds, once it holds less than a quarter of its room:
/// O(len) now and then, for a shrink by half or more, so amortised O(1) per timer.
fn shrink_heap<T: Ord>(heap: &mut BinaryHeap<T>, floor: usize) {
    if heap.capacity() > floor && heap.len() < heap.capacity() / 4 {
        heap.shrink_to((2 * heap.len()).max(floor));
    }
}

/// Moves out every live timer in a slot at or past twice the live count (or
/// [`CAPACITY_FLOOR`]), sweeps every dead entry, and shrinks the slab to the slots left.
/// Returns how many timers it moved out; their wakers are appended to `due`.
#[cold]
#[inline(never)]
fn move_out_high_slots(state: &mut State, due: &mut Vec<Waker>) -> usize {
    let State {
        slots,
        heap,
        far,
        live,
        left,
    } = state;
    let keep = (2 * *live).max(CAPACITY_FLOOR);
    let mut moved_out = 0;
    let mut stays = |slot: u32| {
        let slot = slot as usize;
        if slot < keep && slots[slot].waker.is_some() {
            return true;
        }
        if let Some(waker) = slots.remove(slot).waker {
            due.push(waker);
            moved_out += 1;
        }
        false
    };
    heap.retain(|Reverse(entry)| stays(entry.slot));
    far.retain(|Reverse(entry)| stays(entry.slot));
    // Every slot from `keep` on is vacant now: the slab drops them and their room.
    slots.shrink_to_fit();
    *live -= moved_out;
    *left = 0;
    debug_assert_eq!(heap.len() + far.len(), slots.len(), "one entry per slot");
    moved_out
}
