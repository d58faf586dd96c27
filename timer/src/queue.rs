//! The timer heap: timers in a slab, their deadlines in a min-heap.
//!
//! # Ground rules
//!
//! * A timer is a 24-byte slab slot `{ sequence, waker }` plus exactly one 16-byte heap
//!   entry `(deadline, low 32 bits of the sequence, slot)`. The entry orders the timer; the
//!   slot holds its waker and the full 64-bit sequence, never reused, with which a `Sleep`
//!   proves the slot is still its own. Small entries matter: every firing sifts one through
//!   the heap, and every sleeping task pays for both.
//! * Deadlines are kept in ticks (see [`Clock::ticks`]): 64-bit nanoseconds since the
//!   clock's origin, which run out about 584 years on. A timer due at or past that horizon
//!   gets its entry in a second heap, `far`, keyed by its full `Instant` (32 bytes), and is
//!   fired by comparing instants: rounded down to the last tick, it would fire early. Every
//!   far deadline is later than every tick deadline, so the tick heap is always looked at
//!   first; `far` is almost always empty, and then costs one check per firing.
//! * Slots and heap entries pair off one to one: a slot is freed only when its heap entry
//!   leaves its heap, so no entry can ever point at a later tenant of its slot. A heap entry
//!   is therefore *live* exactly when its slot still holds a waker.
//! * Cancelling a timer takes its waker (dropped at once, after the borrow) and leaves the
//!   slot behind as a tombstone, freed with its entry. A reset `Sleep` cancels and registers
//!   anew, taking a fresh slot and entry; the old pair goes like any cancelled one.
//! * A dead entry and its tombstone are freed when the entry reaches the top, and after every
//!   cancel or firing all of them are swept once they outnumber the live timers, so heap and
//!   slab never hold more than about twice the live timers (plus `SWEEP_FLOOR`). When no
//!   timer is live, every entry is dead: the heap and the slab both restart empty.
//! * Why tombstones: freeing a slot at cancel lets its stale entry outlive any number of
//!   later tenants of the slot, and telling them apart took a copy of the deadline in every
//!   slot (32 bytes). A tombstone holds its slot only while its dead entry is in the heap,
//!   which the sweep bounds: a slab whose timers are mostly cancelled may grow to about twice
//!   the live timers, but liveness is one check and a timer that fires costs 24 bytes.
//! * Memory follows the load, not the peak: once a burst is over the heaps and the slab
//!   give their room back, and what the queue holds beyond its live timers stays bounded.
//!   The rules, and the bound, are in [`storage`], which keeps the slab and the heaps.
//! * Sequences start at 1 and are `NonZeroU64`s: `Option<Waker>` uses up the waker's only
//!   niche, and the slab's own vacant/occupied enum needs one more to keep its entries at
//!   24 bytes (see the size test). A queue registers a timer only under a sequence it issued
//!   itself (a `Sleep` from elsewhere takes a fresh one), so sequences are unique within
//!   it, and a moved-out `Sleep` can never mistake its old slot's next tenant for itself.
//! * Equal deadlines fire in creation order, comparing the 32-bit sequences with
//!   wrap-around: exact while the timers sharing a deadline were created fewer than 2^31
//!   timers apart. Beyond that only their order among themselves can suffer, never the
//!   deadline order.
//! * Firing frees the slot and hands its waker back to the caller, who wakes it after the
//!   borrow of this queue is released: a woken waker may run arbitrary code.
//! * Each firing takes out every timer due by its clock reading, and remembers that reading
//!   (`fired_through`). A registered timer whose deadline is not after it has therefore
//!   fired: its `Sleep` learns so without a look at its slot. A moved-out timer is not due
//!   by that reading, so its `Sleep` does look, and finds the slot gone.
//! * All state sits behind one `RefCell` that is borrowed only inside this module's methods,
//!   never across a call into user code.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::num::NonZeroU64;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Waker;
use std::time::Instant;

use crate::clock::HORIZON;
use crate::control::Advances;
use crate::{context, Clock};

mod storage;

use storage::{fire_far, shrink_if_sparse, sweep_if_mostly_dead, Entry, FarEntry, Slot, State};

/// The timers of one event loop.
///
/// # Examples
///
/// Driving a queue by hand, as the executor does once per tick:
///
/// ```
/// use std::future::Future;
/// use std::pin::pin;
/// use std::task::{Context, Poll, Waker};
/// use std::time::Duration;
/// use looplet_timer::{Clock, TimerQueue};
///
/// let queue = TimerQueue::new(Clock::new_virtual());
/// let _entered = queue.enter();
/// let mut sleep = pin!(looplet_timer::sleep(Duration::from_secs(2)));
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(sleep.as_mut().poll(&mut cx).is_pending());
///
/// let deadline = queue.next_deadline().unwrap();
/// queue.clock().advance_to(deadline);
/// let mut due = Vec::new();
/// assert_eq!(queue.fire_due(&mut due), 1);
/// assert!(sleep.as_mut().poll(&mut cx).is_ready());
/// ```
#[derive(Debug)]
pub struct TimerQueue {
    /// Unique per process, so a `Sleep` can tell whether the current queue is the one it
    /// registered in.
    id: u64,
    clock: Clock,
    state: RefCell<State>,
    next_sequence: Cell<NonZeroU64>,
    /// The clock reading of the last [`fire_due`](TimerQueue::fire_due): every timer due by
    /// then has left the queue, fired or cancelled.
    fired_through: Cell<Instant>,
    stats: Cell<TimerStats>,
    /// The [`advance`](crate::advance)s waiting for this queue's virtual clock.
    pub(crate) advances: Advances,
}

/// Plain counters kept by a [`TimerQueue`], for tests, traces and benches; a program
/// reads its loop's as `looplet::stats().timers`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// looplet::Runner::builder().virtual_clock(true).build().run(async {
///     looplet::sleep(Duration::from_secs(1)).await;
///     drop(looplet::sleep(Duration::from_secs(1))); // never polled: never set
///     let timers: looplet::TimerStats = looplet::stats().timers;
///     assert_eq!((timers.set, timers.fired, timers.live), (1, 1, 0));
/// });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimerStats {
    /// Timers registered in the heap (a `Sleep` registers on its first pending poll).
    pub set: u64,
    /// Timers that reached their deadline and had their waker handed out.
    pub fired: u64,
    /// Registered timers dropped before their deadline.
    pub cancelled: u64,
    /// Timers moved out before their deadline so the slab could shrink: their wakers were
    /// handed out, and each `Sleep` registered again at its next poll (counted in `set`).
    pub moved_out: u64,
    /// Timers live right now.
    pub live: usize,
    /// Entries in the heap right now, dead ones included.
    pub heap_len: usize,
    /// Heap entries there is room for right now.
    pub heap_capacity: usize,
    /// Slab slots there is room for right now.
    pub slot_capacity: usize,
    /// Bytes of timer storage held right now — heap and slab room, used or not — which
    /// follows the live timers, not their peak (see [`TimerQueue`]'s module docs).
    pub bytes: usize,
}

/// Where a registered timer lives: its slot and the sequence that proves the slot is its.
/// A `Sleep` keeps the two apart (the sequence is also its creation order) and puts them
/// together only to call the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey {
    pub(crate) slot: u32,
    pub(crate) sequence: NonZeroU64,
}

impl TimerQueue {
    /// A queue with no timers, keeping time with `clock`.
    pub fn new(clock: Clock) -> Rc<TimerQueue> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let origin = clock.instant_at(0);
        Rc::new(TimerQueue {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            clock,
            state: RefCell::new(State::default()),
            next_sequence: Cell::new(NonZeroU64::MIN),
            // No timer is ever registered with a deadline at the clock's origin: it would
            // be due before its first poll.
            fired_through: Cell::new(origin),
            stats: Cell::new(TimerStats::default()),
            advances: Advances::default(),
        })
    }

    /// Makes this queue the thread's current one until the guard is dropped, so that
    /// [`sleep`](crate::sleep) and friends find it. The executor does this while its loop runs.
    pub fn enter(self: &Rc<Self>) -> context::EnterGuard {
        context::enter(Rc::clone(self))
    }

    /// The clock this queue keeps time with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The current time on this queue's clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The earliest deadline of a live timer, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut state = self.state.borrow_mut();
        let State {
            slots, heap, far, ..
        } = &mut *state;
        while let Some(Reverse(top)) = heap.peek() {
            let slot = top.slot as usize;
            if slots[slot].waker.is_some() {
                return Some(self.clock.instant_at(top.deadline));
            }
            heap.pop();
            slots.remove(slot);
        }
        while let Some(Reverse(top)) = far.peek() {
            let slot = top.slot as usize;
            if slots[slot].waker.is_some() {
                return Some(top.deadline);
            }
            far.pop();
            slots.remove(slot);
        }
        None
    }

    /// Moves every timer whose deadline is not after [`now`](TimerQueue::now) out of the
    /// queue and appends its waker to `due`, earliest first (equal deadlines in creation
    /// order). When the slab has grown far larger than its timers need, it also moves out
    /// the timers in its highest slots, appending their wakers after the fired ones (see
    /// the module docs; their `Sleep`s register again when polled). Returns how many
    /// wakers it appended. Wake them after this returns.
    pub fn fire_due(&self, due: &mut Vec<Waker>) -> usize {
        let (fired, moved_out) = {
            let mut state = self.state.borrow_mut();
            if state.heap.is_empty() && state.far.is_empty() {
                // The common case of a loop with no timers: not even a clock read.
                return 0;
            }
            let now_instant = self.clock.now();
            // Past the horizon (a virtual clock moved centuries on), every tick deadline
            // is due.
            let now = self.clock.ticks(now_instant).unwrap_or(HORIZON);
            let State {
                slots,
                heap,
                far,
                live,
                left,
            } = &mut *state;
            let mut fired = 0;
            while let Some(Reverse(top)) = heap.peek() {
                if top.deadline > now {
                    break;
                }
                let slot = top.slot as usize;
                heap.pop();
                // Live or tombstone, the slot goes with its entry.
                if let Some(waker) = slots.remove(slot).waker {
                    due.push(waker);
                    fired += 1;
                }
            }
            if !far.is_empty() {
                fired += fire_far(slots, far, now_instant, due);
            }
            self.fired_through.set(now_instant);
            *live -= fired;
            *left += fired;
            // Firing shrinks the live count too; without this, entries cancelled earlier
            // would stay until their own deadlines once the live timers had all fired.
            sweep_if_mostly_dead(&mut state);
            (fired, shrink_if_sparse(&mut state, due))
        };
        if fired + moved_out > 0 {
            self.update_stats(|stats| {
                stats.fired += fired as u64;
                stats.moved_out += moved_out as u64;
            });
        }
        fired + moved_out
    }

    /// Counters describing this queue's work so far.
    pub fn stats(&self) -> TimerStats {
        let state = self.state.borrow();
        let heap_capacity = state.heap.capacity() + state.far.capacity();
        let bytes = state.heap.capacity() * size_of::<Reverse<Entry>>()
            + state.far.capacity() * size_of::<Reverse<FarEntry>>()
            // The slab's entries take what a slot takes; see the size test.
            + state.slots.capacity() * size_of::<Slot>();
        TimerStats {
            live: state.live,
            heap_len: state.heap.len() + state.far.len(),
            heap_capacity,
            slot_capacity: state.slots.capacity(),
            bytes,
            ..self.stats.get()
        }
    }

    /// Whether the heap holds any entry (live or dead): a loop with none skips firing, and
    /// its clock read, entirely.
    pub fn has_entries(&self) -> bool {
        let state = self.state.borrow();
        !state.heap.is_empty() || !state.far.is_empty()
    }

    /// Number of live timers.
    pub fn len(&self) -> usize {
        self.state.borrow().live
    }

    /// Whether no timer is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Whether a timer registered here with `deadline` has been fired. A `Sleep` asks this
    /// before it looks at its slot: the last firing took out every timer due by its clock
    /// reading, and no timer registers with a deadline already past that reading (it
    /// would be due at once). In a burst of thousands of timers this saves each one's
    /// second poll a cache miss on its slot.
    pub(crate) fn has_fired(&self, deadline: Instant) -> bool {
        deadline <= self.fired_through.get()
    }

    /// A fresh sequence number; handed out when a timer is created.
    pub(crate) fn next_sequence(&self) -> NonZeroU64 {
        let sequence = self.next_sequence.get();
        // At a billion timers a second, 584 years.
        self.next_sequence
            .set(sequence.checked_add(1).expect("timer sequence overflow"));
        sequence
    }

    /// Registers a timer created with `sequence` (issued by this queue), to wake `waker` at
    /// `deadline`; returns its slot, which with `sequence` makes its [`TimerKey`].
    ///
    /// # Panics
    ///
    /// Panics when four billion slots are already taken (slots are `u32`s, which keeps a
    /// `Sleep` small); their heap entries alone would take over 100 GB.
    pub(crate) fn register(&self, deadline: Instant, sequence: NonZeroU64, waker: Waker) -> u32 {
        let ticks = self.clock.ticks(deadline);
        let mut state = self.state.borrow_mut();
        let slot = state.slots.insert(Slot {
            sequence,
            waker: Some(waker),
        });
        let slot =
            u32::try_from(slot).expect("a looplet loop cannot hold more than 4,294,967,295 timers");
        match ticks {
            Some(ticks) => state.heap.push(Reverse(Entry {
                deadline: ticks,
                sequence: sequence.get() as u32, // the low bits; see `Entry`'s order
                slot,
            })),
            None => state.far.push(Reverse(FarEntry {
                deadline,
                sequence,
                slot,
            })),
        }
        state.live += 1;
        drop(state);
        self.update_stats(|stats| stats.set += 1);
        slot
    }

    /// Replaces a live timer's waker. Returns `false` when the timer is gone (it fired, or
    /// was moved out).
    pub(crate) fn update_waker(&self, key: TimerKey, waker: &Waker) -> bool {
        let replaced = {
            let mut state = self.state.borrow_mut();
            match state.slots.get_mut(key.slot as usize) {
                Some(Slot {
                    sequence,
                    waker: Some(current),
                }) if *sequence == key.sequence => {
                    if current.will_wake(waker) {
                        None
                    } else {
                        Some(std::mem::replace(current, waker.clone()))
                    }
                }
                _ => return false,
            }
        };
        // Dropped after the borrow ends: a waker's drop may run code that uses this queue.
        drop(replaced);
        true
    }

    /// Cancels a timer before its deadline, leaving a tombstone (see the module docs). Does
    /// nothing if it already fired, was moved out or was cancelled. The waker it held is
    /// dropped after the borrow is released.
    pub(crate) fn cancel(&self, key: TimerKey) {
        let removed = {
            let mut state = self.state.borrow_mut();
            let removed = match state.slots.get_mut(key.slot as usize) {
                Some(slot) if slot.sequence == key.sequence => slot.waker.take(),
                _ => None,
            };
            if removed.is_some() {
                state.live -= 1;
                state.left += 1;
                sweep_if_mostly_dead(&mut state);
            }
            removed
        };
        if removed.is_some() {
            self.update_stats(|stats| stats.cancelled += 1);
        }
        drop(removed);
    }

    fn update_stats(&self, f: impl FnOnce(&mut TimerStats)) {
        let mut stats = self.stats.get();
        f(&mut stats);
        self.stats.set(stats);
    }
}

#[cfg(test)]
#[path = "../tests/support/recorder.rs"]
mod recorder;

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::Context;
    use std::time::Duration;

    use super::recorder::{fire, recorder};
    use super::*;

    fn poll(sleep: &mut Pin<Box<crate::Sleep>>, waker: &Waker) -> bool {
        sleep
            .as_mut()
            .poll(&mut Context::from_waker(waker))
            .is_ready()
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn heap_entries_take_16_bytes_and_slots_24() {
        assert_eq!(size_of::<Reverse<Entry>>(), 16);
        assert_eq!(size_of::<Slot>(), 24);
        // The slab's private entry type, spelled as slab 0.4 spells it. Its real allocation
        // was measured once with a counting allocator: `Slab::<Slot>::with_capacity(1000)`
        // takes 24,000 bytes, and 32,000 with a plain `u64` sequence, which leaves the enum
        // no niche for its tag.
        #[allow(dead_code)]
        enum SlabEntry {
            Vacant(usize),
            Occupied(Slot),
        }
        assert_eq!(size_of::<SlabEntry>(), 24);
    }

    #[test]
    fn equal_deadlines_keep_creation_order_across_the_32_bit_sequence_wrap() {
        let queue = TimerQueue::new(Clock::new_virtual());
        let _entered = queue.enter();
        queue
            .next_sequence
            .set(NonZeroU64::new(u64::from(u32::MAX) - 2).unwrap());
        let deadline = queue.now() + Duration::from_secs(1);
        let log = Arc::new(Mutex::new(Vec::new()));
        // Sequences 2^32 - 3 ..= 2^32 + 2: their low 32 bits wrap to 0 half-way.
        let mut sleeps: Vec<_> = (0..6)
            .map(|_| Box::pin(crate::sleep_until(deadline)))
            .collect();
        // Registered in reverse, so the heap cannot get the order from insertion.
        for (name, sleep) in sleeps.iter_mut().enumerate().rev() {
            assert!(!poll(sleep, &recorder(name, &log)));
        }
        queue.clock().advance_to(deadline);
        assert_eq!(fire(&queue), 6);
        assert_eq!(*log.lock().unwrap(), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_stale_entry_never_fires_a_later_timer_with_the_same_low_sequence_bits() {
        let queue = TimerQueue::new(Clock::new_virtual());
        let _entered = queue.enter();
        let log = Arc::new(Mutex::new(Vec::new()));
        let start = queue.now();
        // A live timer keeps the queue from restarting empty when `cancelled` goes.
        let _keeper = registered(start, 100, 2, &log);
        let sequence = queue.next_sequence.get();
        let cancelled = registered(start, 1, 0, &log);
        // Dropping it leaves a dead entry in the heap until its deadline, 1 s away.
        drop(cancelled);
        // 2^32 timers later, a timer with the same low sequence bits.
        queue
            .next_sequence
            .set(sequence.checked_add(1 << 32).unwrap());
        let mut later = registered(start, 10, 1, &log);
        assert_eq!(queue.stats().heap_len, 3, "the dead entry is still there");

        queue.clock().advance(Duration::from_secs(1));
        assert_eq!(fire(&queue), 0, "the dead entry fires nothing");
        assert!(!poll(&mut later, &recorder(1, &log)));
        queue.clock().advance(Duration::from_secs(9));
        assert_eq!(fire(&queue), 1);
        assert_eq!(*log.lock().unwrap(), [1]);
        assert!(poll(&mut later, &recorder(1, &log)));
    }

    /// A sleep until `secs` after `start`, polled once (which registers it) with a waker
    /// that logs `name`.
    fn registered(
        start: Instant,
        secs: u64,
        name: usize,
        log: &Arc<Mutex<Vec<usize>>>,
    ) -> Pin<Box<crate::Sleep>> {
        let mut sleep = Box::pin(crate::sleep_until(start + Duration::from_secs(secs)));
        assert!(!poll(&mut sleep, &recorder(name, log)));
        sleep
    }

    /// The slot behind the top heap entry.
    fn top_slot(queue: &TimerQueue) -> u32 {
        queue.state.borrow().heap.peek().unwrap().0.slot
    }

    #[test]
    fn a_cancelled_timers_slot_is_not_reused_while_its_entry_is_in_the_heap() {
        let queue = TimerQueue::new(Clock::new_virtual());
        let _entered = queue.enter();
        let log = Arc::new(Mutex::new(Vec::new()));
        let start = queue.now();
        let _keeper = registered(start, 100, 0, &log);
        let cancelled = registered(start, 1, 1, &log);
        let tombstone = top_slot(&queue);
        drop(cancelled);
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.state.borrow().slots.len(), 2, "the tombstone stays");

        let _second = registered(start, 2, 2, &log);
        assert_eq!(
            queue.state.borrow().slots.len(),
            3,
            "a fresh slot, not the tombstone"
        );

        // The dead entry reaches the top: it and its tombstone go, firing nothing.
        assert_eq!(queue.next_deadline(), Some(start + Duration::from_secs(2)));
        assert_eq!(queue.state.borrow().slots.len(), 2);
        assert_eq!(queue.stats().heap_len, 2);
        // Now the slot is free for the next timer.
        let _third = registered(start, 1, 3, &log);
        assert_eq!(top_slot(&queue), tombstone);
        queue.clock().advance(Duration::from_secs(2));
        assert_eq!(fire(&queue), 2);
        assert_eq!(*log.lock().unwrap(), [3, 2]);
    }

    #[test]
    fn a_reset_takes_a_new_slot_and_the_old_entry_is_skipped() {
        let queue = TimerQueue::new(Clock::new_virtual());
        let _entered = queue.enter();
        let log = Arc::new(Mutex::new(Vec::new()));
        let start = queue.now();
        let _keeper = registered(start, 100, 0, &log);
        let mut sleep = registered(start, 1, 1, &log);
        let old_slot = top_slot(&queue);

        sleep.as_mut().reset(start + Duration::from_secs(3));
        assert!(!poll(&mut sleep, &recorder(1, &log)));
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.stats().heap_len, 3, "old entry, new entry, keeper");
        assert_eq!(top_slot(&queue), old_slot, "the old entry is still first");

        queue.clock().advance(Duration::from_secs(1));
        assert_eq!(fire(&queue), 0, "the old entry is skipped");
        assert_ne!(top_slot(&queue), old_slot);
        assert!(!poll(&mut sleep, &recorder(1, &log)));
        queue.clock().advance(Duration::from_secs(2));
        assert_eq!(fire(&queue), 1);
        assert!(poll(&mut sleep, &recorder(1, &log)));
        assert_eq!(*log.lock().unwrap(), [1]);
        let stats = queue.stats();
        assert_eq!((stats.set, stats.fired, stats.cancelled), (3, 1, 1));
    }

    #[test]
    fn the_sweep_frees_tombstones_with_their_entries() {
        let queue = TimerQueue::new(Clock::new_virtual());
        let _entered = queue.enter();
        let mut cx = Context::from_waker(Waker::noop());
        let mut sleeps: Vec<_> = (1..=100)
            .map(|secs| Box::pin(crate::sleep(Duration::from_secs(secs))))
            .collect();
        for sleep in &mut sleeps {
            assert!(sleep.as_mut().poll(&mut cx).is_pending());
        }
        // Cancelling the longest: the 51st leaves 49 live timers under 100 entries.
        for cancelled in 1..=51 {
            drop(sleeps.pop());
            let (slots, heap) = {
                let state = queue.state.borrow();
                (state.slots.len(), state.heap.len())
            };
            assert_eq!(slots, heap, "one slot per entry, tombstones included");
            if cancelled < 51 {
                assert_eq!(heap, 100, "no sweep yet after {cancelled} cancels");
            } else {
                assert_eq!(heap, 49, "swept");
            }
        }
        assert_eq!(queue.len(), 49);
        assert!(queue
            .state
            .borrow()
            .slots
            .iter()
            .all(|(_, slot)| slot.waker.is_some()));
    }

    #[test]
    fn a_timer_counts_as_fired_once_a_firing_has_passed_its_deadline() {
        let queue = TimerQueue::new(Clock::new_virtual());
        let _entered = queue.enter();
        let mut cx = Context::from_waker(Waker::noop());
        let start = queue.now();
        let mut early = Box::pin(crate::sleep_until(start + Duration::from_secs(1)));
        let mut late = Box::pin(crate::sleep_until(start + Duration::from_secs(2)));
        assert!(early.as_mut().poll(&mut cx).is_pending());
        assert!(late.as_mut().poll(&mut cx).is_pending());
        queue.clock().advance(Duration::from_secs(1));
        // Due by the clock, but no firing has taken it out of the queue yet.
        assert!(!queue.has_fired(early.deadline()));
        assert_eq!(fire(&queue), 1);
        assert!(queue.has_fired(early.deadline()));
        assert!(!queue.has_fired(late.deadline()));
        assert!(early.as_mut().poll(&mut cx).is_ready());
        assert!(late.as_mut().poll(&mut cx).is_pending());
        assert_eq!(queue.len(), 1, "the late timer is still registered");
        drop(late);
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn cancelling_the_last_live_timer_restarts_heap_and_slab_empty() {
        let queue = TimerQueue::new(Clock::new_virtual());
        let _entered = queue.enter();
        let mut cx = Context::from_waker(Waker::noop());
        let mut sleeps: Vec<_> = (1..=10)
            .map(|secs| Box::pin(crate::sleep(Duration::from_secs(secs))))
            .collect();
        for sleep in &mut sleeps {
            assert!(sleep.as_mut().poll(&mut cx).is_pending());
        }
        // Cancel in creation order, so the tombstones sit at the top of the heap.
        while sleeps.len() > 1 {
            drop(sleeps.remove(0));
        }
        assert_eq!(
            queue.stats().heap_len,
            10,
            "nine tombstones and one live timer"
        );
        drop(sleeps.pop());
        assert_eq!(queue.stats().heap_len, 0);
        assert!(queue.state.borrow().slots.is_empty());
        assert_eq!(queue.next_deadline(), None);
        let mut next = Box::pin(crate::sleep(Duration::from_secs(1)));
        assert!(next.as_mut().poll(&mut cx).is_pending());
        assert_eq!(top_slot(&queue), 0);
    }

    #[test]
    fn with_no_timer_live_the_heap_and_slab_restart_empty() {
        let queue = TimerQueue::new(Clock::new_virtual());
        let _entered = queue.enter();
        let log = Arc::new(Mutex::new(Vec::new()));
        let start = queue.now();
        let mut sleeps: Vec<_> = (1..=3)
            .map(|secs| Box::pin(crate::sleep_until(start + Duration::from_secs(secs))))
            .collect();
        for (name, sleep) in sleeps.iter_mut().enumerate() {
            assert!(!poll(sleep, &recorder(name, &log)));
        }
        // Cancel the last, fire the first two: nothing is live, nothing is left behind.
        drop(sleeps.pop());
        queue.clock().advance(Duration::from_secs(2));
        assert_eq!(fire(&queue), 2);
        assert_eq!(
            queue.stats().heap_len,
            0,
            "the dead entry went with the last live one"
        );
        // The next timer starts the slab over, at its first slot.
        let mut next = Box::pin(crate::sleep(Duration::from_secs(1)));
        assert!(!poll(&mut next, &recorder(9, &log)));
        assert_eq!(queue.state.borrow().heap.peek().unwrap().0.slot, 0);
        // The fired sleeps see their timers gone, not the new tenant of their slots.
        for sleep in &mut sleeps {
            assert!(poll(sleep, &recorder(0, &log)));
        }
        assert_eq!(queue.len(), 1);
    }
}
