//! The loop's table of live tasks: one 8-byte slot per task, reused once the task is gone.
//!
//! The table holds one loop-side reference to every live task. That reference is what
//! keeps a detached task alive, what `close` cancels, and how a wake that arrives as a
//! [`TaskId`] (from another thread, or `schedule`) finds its task.
//!
//! # Ground rules
//!
//! * A slot is an `Option<TaskRef>`: a thin pointer, `None` when vacant. A task keeps its
//!   slot from its spawn until it finishes or is cancelled.
//! * Vacant slots are reused last-freed first, from a stack of their numbers, so a loop
//!   that runs bursts of tasks keeps reusing the same few slots. The stack has room for
//!   every slot, reserved as the table grows: removing a task never allocates.
//! * The table gives memory back when asked ([`TaskTable::shrink`], when the loop parks
//!   or a `run` returns): vacant slots at its end are dropped, and the room for more. A
//!   slot in use cannot move (its number is in the task's id), so a long-lived task in a
//!   high slot keeps the slots below it — 12 bytes each.
//! * A slot number alone does not name a task: a later task may hold the slot. Callers
//!   check the task's own id (its never-reused `number`) or compare cell pointers.
//! * Why not the `slab` crate, which the timer queue uses: slab names an entry's address
//!   only by reading the entry, and the loop wants to prefetch the slot of a task it is
//!   about to finish before it gets there (a cache miss per task when a burst of timers
//!   wakes tasks in deadline order, not slot order). A `Vec` gives that address for
//!   free, and a slot costs 12 bytes (8, and 4 on the vacant stack) instead of slab's 16.

use crate::prefetch;
use crate::task::TaskRef;

/// Live tasks by slot number; see the module docs.
#[derive(Default)]
pub(crate) struct TaskTable {
    slots: Vec<Option<TaskRef>>,
    /// Vacant slot numbers, the last freed on top.
    vacant: Vec<u32>,
    /// Occupied slots.
    len: usize,
    /// Removals since [`shrink`](TaskTable::shrink) last scanned the table, so that its
    /// scans cost amortised O(1) per removal however often the loop parks.
    removed_since_scan: usize,
}

impl TaskTable {
    /// How many tasks the table holds.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// How many slots the table has room for without growing.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// The slot the next [`insert`](TaskTable::insert) will fill, so that a task can be
    /// built knowing its own id.
    pub(crate) fn next_slot(&self) -> u32 {
        match self.vacant.last() {
            Some(&slot) => slot,
            None => u32::try_from(self.slots.len())
                .expect("a looplet loop cannot hold more than 4,294,967,295 live tasks"),
        }
    }

    /// Puts `task` in the slot [`next_slot`](TaskTable::next_slot) named, and returns it.
    pub(crate) fn insert(&mut self, task: TaskRef) -> u32 {
        let slot = self.next_slot();
        match self.vacant.pop() {
            Some(_) => {
                let vacant = self.slots[slot as usize].replace(task);
                debug_assert!(
                    vacant.is_none(),
                    "slot {slot} was on the vacant stack but held a task"
                );
            }
            None => {
                self.slots.push(Some(task));
                // Room for every slot to be vacant at once, reserved while the table grows
                // so that `remove` never allocates: growing a big buffer in the middle of a
                // burst of tasks ending made glibc consolidate its free lists (measured:
                // 72 instructions per task in a single burst of `spawn_join`).
                if self.vacant.capacity() < self.slots.capacity() {
                    self.vacant
                        .reserve_exact(self.slots.capacity() - self.vacant.len());
                }
            }
        }
        self.len += 1;
        slot
    }

    /// The task in `slot`, if any.
    pub(crate) fn get(&self, slot: u32) -> Option<&TaskRef> {
        self.slots.get(slot as usize)?.as_ref()
    }

    /// Takes the task out of `slot`, if any, and frees the slot.
    pub(crate) fn remove(&mut self, slot: u32) -> Option<TaskRef> {
        let task = self.slots.get_mut(slot as usize)?.take()?;
        self.vacant.push(slot);
        self.len -= 1;
        self.removed_since_scan += 1;
        Some(task)
    }

    /// Gives back the memory of vacant slots at the end of the table and the room for more,
    /// keeping room for `keep` slots. It does so only when the table has more than twice
    /// the room it needs, and scans it (O(slots)) at most once per `capacity / 2` removals:
    /// amortised O(1) per task however often it is called, a few compares when there is
    /// nothing to do.
    pub(crate) fn shrink(&mut self, keep: usize) {
        let wanted = self.len.max(keep);
        let capacity = self.slots.capacity();
        if capacity <= wanted.saturating_mul(2) || self.removed_since_scan < capacity / 2 {
            return;
        }
        self.removed_since_scan = 0;
        while let Some(None) = self.slots.last() {
            self.slots.pop();
        }
        let end = self.slots.len();
        self.vacant.retain(|&slot| (slot as usize) < end);
        self.slots.shrink_to(end.max(keep));
        // Never below the slots' capacity: removing a task must not allocate (module docs).
        self.vacant.shrink_to(self.slots.capacity());
    }

    /// Starts loading `slot` into the cache, for a [`remove`](TaskTable::remove) soon.
    pub(crate) fn prefetch(&self, slot: u32) {
        // `wrapping_add`: a hint may name any slot, even one past the end.
        let address = self.slots.as_ptr().wrapping_add(slot as usize);
        // An 8-byte slot is 8-byte aligned, so it sits within one cache line.
        prefetch::prefetch_line(address.cast());
    }

    /// Takes every task out, in slot order, leaving the table empty.
    pub(crate) fn take_all(&mut self) -> Vec<TaskRef> {
        self.vacant.clear();
        self.len = 0;
        self.slots.drain(..).flatten().collect()
    }

    /// The tasks in the table, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &TaskRef> {
        self.slots.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{context, create_task, Runner};

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_slot_takes_8_bytes() {
        assert_eq!(size_of::<Option<TaskRef>>(), 8);
    }

    fn with_table<R>(f: impl FnOnce(&TaskTable) -> R) -> R {
        context::expect_current("the test").with_table(f)
    }

    #[test]
    fn slots_are_reused_last_freed_first() {
        Runner::new().run(async {
            let tasks: Vec<_> = (0..3).map(|_| create_task(async {})).collect();
            let slots: Vec<u32> = tasks.iter().map(|task| task.id().slot).collect();
            assert_eq!(slots, [0, 1, 2]);
            assert_eq!(with_table(TaskTable::len), 3);
            for task in tasks {
                task.await.unwrap();
            }
            assert_eq!(with_table(TaskTable::len), 0);
            // They ended in slot order, so slot 2 was freed last.
            let next = create_task(async {});
            assert_eq!(next.id().slot, 2);
            assert_eq!(with_table(|table| table.next_slot()), 1);
            next.await.unwrap();
        });
    }

    #[test]
    fn a_stale_id_does_not_reach_the_next_task_in_its_slot() {
        Runner::new().run(async {
            let first = create_task(async {});
            let stale = first.id();
            first.await.unwrap();
            let second = create_task(std::future::pending::<()>());
            assert_eq!(second.id().slot, stale.slot, "the slot is reused");
            // Let `second` take its first poll and park.
            crate::yield_now().await;
            let core = context::expect_current("the test");
            assert_eq!(core.stats().ready_len, 0);
            assert!(core.schedule_local(stale));
            assert_eq!(
                core.stats().ready_len,
                0,
                "the stale id woke the slot's new task"
            );
            assert!(core.schedule_local(second.id()));
            assert_eq!(core.stats().ready_len, 1);
        });
    }

    #[test]
    fn shrinking_gives_back_the_vacant_end_and_keeps_the_slots_in_use() {
        Runner::new().run(async {
            let mut tasks: Vec<_> = (0..1000)
                .map(|_| create_task(std::future::pending::<()>()))
                .collect();
            let keeper = tasks.remove(10);
            for task in tasks {
                task.cancel();
            }
            crate::yield_now().await;
            let core = context::expect_current("the test");
            core.with_table_mut(|table| table.shrink(64));
            with_table(|table| {
                assert_eq!(table.len(), 1);
                assert!(table.capacity() <= 128, "{} slots kept", table.capacity());
                assert!(table.vacant.capacity() >= table.slots.capacity());
                assert!(table
                    .vacant
                    .iter()
                    .all(|&slot| (slot as usize) < table.slots.len()));
            });
            // The task in slot 10 is still reachable by its id, and new tasks fit in.
            assert!(core.schedule_local(keeper.id()));
            let next: Vec<_> = (0..100).map(|_| create_task(async {})).collect();
            assert!(next.iter().all(|task| task.id() != keeper.id()));
            for task in next {
                task.await.unwrap();
            }
            keeper.cancel();
            assert!(keeper.await.unwrap_err().is_cancelled());
        });
    }

    #[test]
    fn removing_never_allocates_the_vacant_stack_has_room_for_every_slot() {
        Runner::new().run(async {
            let tasks: Vec<_> = (0..1000).map(|_| create_task(async {})).collect();
            with_table(|table| assert!(table.vacant.capacity() >= table.slots.capacity()));
            for task in tasks {
                task.await.unwrap();
            }
            with_table(|table| {
                assert_eq!(table.vacant.len(), 1000);
                assert!(table.vacant.capacity() >= table.slots.capacity());
            });
        });
    }
}
