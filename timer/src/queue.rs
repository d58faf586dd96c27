//! The timer heap: live timers in a slab, their deadlines in a min-heap.
//!
//! # Ground rules
//!
//! * A timer is a slab slot `{ sequence, deadline, waker }` plus one 16-byte heap entry
//!   `(deadline, low 32 bits of the sequence, slot)`. The slot is the truth; the heap entry
//!   is an index into it. Small entries matter: every firing sifts one through the heap.
//! * A heap entry is *live* when its slot holds the same deadline and the same low 32
//!   sequence bits. A stale entry can outlive any number of later timers, so the bits
//!   alone could match a later tenant of its slot; with the deadline, a false match is a
//!   timer whose deadline equals the entry's, and firing that timer at that deadline is
//!   correct anyway. A `Sleep` proves its slot with the full 64-bit sequence, which is
//!   never reused.
//! * Removing a timer frees its slot only; the dead heap entry is skipped when it reaches
//!   the top, and after every cancel or firing all dead entries are swept once they
//!   outnumber the live ones, so the heap never holds more than about twice the live timers.
//!   When no timer is live at all, the heap and the slab both restart empty.
//! * Equal deadlines fire in creation order, comparing the 32-bit sequences with
//!   wrap-around: exact while the timers sharing a deadline were created fewer than 2^31
//!   timers apart. Beyond that only their order among themselves can suffer, never the
//!   deadline order.
//! * Firing removes the slot and hands its waker back to the caller, who wakes it after the
//!   borrow of this queue is released: a woken waker may run arbitrary code.
//! * All state sits behind one `RefCell` that is borrowed only inside this module's methods,
//!   never across a call into user code.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Waker;
use std::time::Instant;

use slab::Slab;

use crate::{context, Clock};

/// A heap may hold this many dead entries before a sweep is considered at all.
const SWEEP_FLOOR: usize = 64;

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
    next_sequence: Cell<u64>,
    stats: Cell<TimerStats>,
}

#[derive(Debug, Default)]
struct State {
    slots: Slab<Slot>,
    heap: BinaryHeap<Reverse<Entry>>,
}

#[derive(Debug)]
struct Slot {
    sequence: u64,
    /// The deadline in [`Clock::ticks`], kept here too so that liveness is exact although
    /// heap entries keep only 32 bits of the sequence.
    deadline: u64,
    waker: Waker,
}

/// A heap entry: 16 bytes. Ordered by deadline, then by sequence, so equal deadlines fire
/// in creation order. The deadline is kept in [`Clock::ticks`], which compare faster than
/// `Instant`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    deadline: u64,
    /// The low 32 bits of the timer's sequence number.
    sequence: u32,
    slot: u32,
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

/// Plain counters kept by a [`TimerQueue`], for tests, traces and benches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimerStats {
    /// Timers registered in the heap (a `Sleep` registers on its first pending poll).
    pub set: u64,
    /// Timers that reached their deadline and had their waker handed out.
    pub fired: u64,
    /// Registered timers dropped before their deadline.
    pub cancelled: u64,
    /// Timers live right now.
    pub live: usize,
    /// Entries in the heap right now, dead ones included.
    pub heap_len: usize,
}

/// Where a registered timer lives: its slot and the sequence that proves the slot is its.
/// A `Sleep` keeps the two apart (the sequence is also its creation order) and puts them
/// together only to call the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey {
    pub(crate) slot: u32,
    pub(crate) sequence: u64,
}

impl TimerQueue {
    /// A queue with no timers, keeping time with `clock`.
    pub fn new(clock: Clock) -> Rc<TimerQueue> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Rc::new(TimerQueue {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            clock,
            state: RefCell::new(State::default()),
            next_sequence: Cell::new(0),
            stats: Cell::new(TimerStats::default()),
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
        let State { slots, heap } = &mut *state;
        while let Some(Reverse(top)) = heap.peek() {
            if is_live(slots, top) {
                return Some(self.clock.instant_at(top.deadline));
            }
            heap.pop();
        }
        None
    }

    /// Moves every timer whose deadline is not after [`now`](TimerQueue::now) out of the
    /// queue and appends its waker to `due`, earliest first (equal deadlines in creation
    /// order). Returns how many fired. Wake them after this returns.
    pub fn fire_due(&self, due: &mut Vec<Waker>) -> usize {
        let mut fired = 0;
        {
            let mut state = self.state.borrow_mut();
            let State { slots, heap } = &mut *state;
            if heap.is_empty() {
                // The common case of a loop with no timers: not even a clock read.
                return 0;
            }
            let now = self.clock.ticks(self.clock.now());
            while let Some(Reverse(top)) = heap.peek() {
                if top.deadline > now {
                    break;
                }
                let top = *top;
                heap.pop();
                if is_live(slots, &top) {
                    due.push(slots.remove(top.slot as usize).waker);
                    fired += 1;
                }
            }
            // Firing shrinks the live count too; without this, entries cancelled earlier
            // would stay until their own deadlines once the live timers had all fired.
            sweep_if_mostly_dead(slots, heap);
        }
        if fired > 0 {
            self.update_stats(|stats| stats.fired += fired as u64);
        }
        fired
    }

    /// Counters describing this queue's work so far.
    pub fn stats(&self) -> TimerStats {
        let state = self.state.borrow();
        TimerStats {
            live: state.slots.len(),
            heap_len: state.heap.len(),
            ..self.stats.get()
        }
    }

    /// Whether the heap holds any entry (live or dead): a loop with none skips firing, and
    /// its clock read, entirely.
    pub fn has_entries(&self) -> bool {
        !self.state.borrow().heap.is_empty()
    }

    /// Number of live timers.
    pub fn len(&self) -> usize {
        self.state.borrow().slots.len()
    }

    /// Whether no timer is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// A fresh sequence number; handed out when a timer is created.
    pub(crate) fn next_sequence(&self) -> u64 {
        let sequence = self.next_sequence.get();
        self.next_sequence.set(sequence + 1);
        sequence
    }

    /// Registers a timer created with `sequence`, to wake `waker` at `deadline`; returns its
    /// slot, which with `sequence` makes its [`TimerKey`].
    ///
    /// # Panics
    ///
    /// Panics when four billion timers are already live (slots are `u32`s, which keeps a
    /// `Sleep` small); their heap entries alone would take over 100 GB.
    pub(crate) fn register(&self, deadline: Instant, sequence: u64, waker: Waker) -> u32 {
        let deadline = self.clock.ticks(deadline);
        let mut state = self.state.borrow_mut();
        let slot = state.slots.insert(Slot {
            sequence,
            deadline,
            waker,
        });
        let slot =
            u32::try_from(slot).expect("a looplet loop cannot hold more than 4,294,967,295 timers");
        state.heap.push(Reverse(Entry {
            deadline,
            sequence: sequence as u32, // the low bits; see `Entry`'s order and `is_live`
            slot,
        }));
        drop(state);
        self.update_stats(|stats| stats.set += 1);
        slot
    }

    /// Replaces a live timer's waker. Returns `false` when the timer is gone (it fired).
    pub(crate) fn update_waker(&self, key: TimerKey, waker: &Waker) -> bool {
        let replaced = {
            let mut state = self.state.borrow_mut();
            match state.slots.get_mut(key.slot as usize) {
                Some(slot) if slot.sequence == key.sequence => {
                    if slot.waker.will_wake(waker) {
                        None
                    } else {
                        Some(std::mem::replace(&mut slot.waker, waker.clone()))
                    }
                }
                _ => return false,
            }
        };
        // Dropped after the borrow ends: a waker's drop may run code that uses this queue.
        drop(replaced);
        true
    }

    /// Removes a timer before its deadline. Does nothing if it already fired. The waker it
    /// held is dropped after the borrow is released.
    pub(crate) fn cancel(&self, key: TimerKey) {
        let removed = {
            let mut state = self.state.borrow_mut();
            let State { slots, heap } = &mut *state;
            match slots.get(key.slot as usize) {
                Some(slot) if slot.sequence == key.sequence => {
                    let removed = slots.remove(key.slot as usize);
                    sweep_if_mostly_dead(slots, heap);
                    Some(removed)
                }
                _ => None,
            }
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

/// Sweeps dead entries out of the heap once they outnumber the live ones. Called after a
/// cancel or a firing: amortised O(1) each, and the heap stays within about twice the live
/// timers (plus [`SWEEP_FLOOR`]).
///
/// With no timer live at all, every entry is dead: the heap is emptied and the slab
/// restarted, so the next burst of timers takes slots in order instead of following the
/// free list the last burst left in firing order (a cache miss per timer on a large slab).
fn sweep_if_mostly_dead(slots: &mut Slab<Slot>, heap: &mut BinaryHeap<Reverse<Entry>>) {
    if slots.is_empty() {
        heap.clear();
        slots.clear();
        return;
    }
    if heap.len() > SWEEP_FLOOR && heap.len() > 2 * slots.len() {
        heap.retain(|Reverse(entry)| is_live(slots, entry));
    }
}

/// Whether `entry` is its slot's timer (or one with the same deadline; see the module docs).
fn is_live(slots: &Slab<Slot>, entry: &Entry) -> bool {
    slots.get(entry.slot as usize).is_some_and(|slot| {
        slot.sequence as u32 == entry.sequence && slot.deadline == entry.deadline
    })
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
    fn heap_entries_take_16_bytes_and_slots_32() {
        assert_eq!(size_of::<Reverse<Entry>>(), 16);
        assert_eq!(size_of::<Slot>(), 32);
    }

    #[test]
    fn equal_deadlines_keep_creation_order_across_the_32_bit_sequence_wrap() {
        let queue = TimerQueue::new(Clock::new_virtual());
        let _entered = queue.enter();
        queue.next_sequence.set(u64::from(u32::MAX) - 2);
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
    fn a_stale_entry_never_fires_a_later_tenant_with_the_same_low_sequence_bits() {
        let queue = TimerQueue::new(Clock::new_virtual());
        let _entered = queue.enter();
        let log = Arc::new(Mutex::new(Vec::new()));
        let start = queue.now();
        // A live timer keeps the queue from restarting empty when `cancelled` goes.
        let mut keeper = Box::pin(crate::sleep_until(start + Duration::from_secs(100)));
        assert!(!poll(&mut keeper, &recorder(2, &log)));
        let sequence = queue.next_sequence.get();
        let mut cancelled = Box::pin(crate::sleep_until(start + Duration::from_secs(1)));
        assert!(!poll(&mut cancelled, &recorder(0, &log)));
        // Dropping it leaves a dead entry in the heap until its deadline, 1 s away.
        drop(cancelled);
        // 2^32 timers later, a timer with the same low sequence bits takes the same slot.
        queue.next_sequence.set(sequence + (1 << 32));
        let mut tenant = Box::pin(crate::sleep_until(start + Duration::from_secs(10)));
        assert!(!poll(&mut tenant, &recorder(1, &log)));
        assert_eq!(queue.stats().heap_len, 3, "the dead entry is still there");

        queue.clock().advance(Duration::from_secs(1));
        assert_eq!(
            fire(&queue),
            0,
            "the dead entry's deadline is not the tenant's"
        );
        assert!(!poll(&mut tenant, &recorder(1, &log)));
        queue.clock().advance(Duration::from_secs(9));
        assert_eq!(fire(&queue), 1);
        assert_eq!(*log.lock().unwrap(), [1]);
        assert!(poll(&mut tenant, &recorder(1, &log)));
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
