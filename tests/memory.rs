//! Memory follows the load. A million tasks — awaited, detached, cancelled, sleeping, with
//! callbacks — spawned and finished on one loop leave nothing behind; and after a burst,
//! once a `run` returns or the loop goes idle, what the loop keeps beyond its live tasks
//! and timers falls back to a small bound. Checked two ways: the loop's own counters
//! (`stats()`) and the bytes the process holds, counted by this test binary's global
//! allocator.
//!
//! The allocator counts every thread of the binary, so the tests take turns (`SERIAL`).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use looplet::{create_task, sleep, stats, yield_now, LoopStats, Task};
use support::{scaled, virtual_runner, within, LIMIT};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees hold; the counter is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Held by each test for its whole run: the byte count is shared by all threads.
static SERIAL: Mutex<()> = Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where the loop stands after a wave of tasks has fully ended.
#[derive(Debug, Clone, Copy)]
struct Sample {
    bytes: isize,
    stats: LoopStats,
}

#[test]
fn a_million_tasks_spawned_and_finished_leave_memory_flat() {
    const WAVE: usize = 1_000;
    let total = scaled(1_000_000).max(10 * WAVE);
    let waves = total / WAVE;
    let _turn = take_turn();
    within(LIMIT, move || {
        let mut runner = virtual_runner();
        let (after_warmup, at_end, peak_live) = runner.run(async move {
            let callbacks_run = Rc::new(Cell::new(0usize));
            let mut awaited: Vec<Task<usize>> = Vec::with_capacity(WAVE);
            let mut cancelled: Vec<Task<()>> = Vec::with_capacity(WAVE);
            let mut after_warmup = None;
            let mut peak_live = 0;
            for wave in 0..waves {
                for i in 0..WAVE {
                    match i % 5 {
                        // Awaited: suspends once, then returns a value.
                        0 => awaited.push(create_task(async move {
                            yield_now().await;
                            i
                        })),
                        // Detached: sleeps on the timer heap, then ends on its own.
                        1 => drop(create_task(async move {
                            sleep(Duration::from_micros(1 + (i % 7) as u64)).await;
                        })),
                        // Cancelled while sleeping.
                        2 => cancelled.push(create_task(async {
                            sleep(Duration::from_secs(3600)).await;
                        })),
                        // Detached with a done callback that holds shared state.
                        3 => {
                            let counter = callbacks_run.clone();
                            create_task(async {})
                                .add_done_callback(move |_| counter.set(counter.get() + 1));
                        }
                        // Cancelled before its first poll.
                        _ => {
                            let task = create_task(async { unreachable!("cancelled first") });
                            task.cancel();
                        }
                    }
                }
                peak_live = peak_live.max(stats().live_tasks);
                yield_now().await; // every task of the wave has been polled once
                for task in cancelled.drain(..) {
                    task.cancel();
                }
                for task in awaited.drain(..) {
                    task.await.unwrap();
                }
                // Let the detached sleepers end too.
                while stats().live_tasks > 0 {
                    sleep(Duration::from_micros(10)).await;
                }
                let sample = Sample {
                    bytes: LIVE_BYTES.load(Ordering::SeqCst),
                    stats: stats(),
                };
                if wave == 9 {
                    after_warmup = Some(sample);
                }
            }
            assert_eq!(callbacks_run.get(), total / 5);
            let at_end = Sample {
                bytes: LIVE_BYTES.load(Ordering::SeqCst),
                stats: stats(),
            };
            (after_warmup.expect("at least ten waves"), at_end, peak_live)
        });

        let end = at_end.stats;
        assert_eq!(end.spawned, total as u64);
        assert_eq!(end.live_tasks, 0);
        assert_eq!(end.ready_len, 0);
        assert_eq!(end.timers.live, 0);
        // Dead heap entries (cancelled sleeps) are swept lazily, so up to a wave's worth may
        // linger (see timer/tests/faults.rs); they must not pile up across waves.
        assert!(
            end.timers.heap_len <= WAVE,
            "{} entries in the timer heap with no live timer",
            end.timers.heap_len
        );
        assert!(
            end.slab_capacity <= after_warmup.stats.slab_capacity,
            "the task table grew after the first waves: {} -> {}",
            after_warmup.stats.slab_capacity,
            end.slab_capacity
        );
        assert!(
            end.slab_capacity <= 2 * peak_live.max(WAVE),
            "task table capacity {} for at most {peak_live} live tasks",
            end.slab_capacity
        );
        let growth = at_end.bytes - after_warmup.bytes;
        assert!(
            growth.abs() <= 64 * 1024,
            "{growth} bytes more held after {total} tasks than after the first {} \
             ({} → {} bytes)",
            10 * WAVE,
            after_warmup.bytes,
            at_end.bytes
        );
        let stats = runner.stats();
        assert_eq!(stats.live_tasks, 0);
    });
}

/// What a loop may keep beyond its live tasks and timers once a `run` returns or it goes
/// idle: 256 KiB of cached task cells, room for 64 entries in each of its lists, and the
/// timer queue's own small reserve, well under this.
const RETAINED_BOUND: isize = 1024 * 1024;

#[test]
fn after_a_burst_the_loop_keeps_at_most_a_small_bound_once_run_returns_or_it_idles() {
    let burst = scaled(200_000);
    let _turn = take_turn();
    within(LIMIT, move || {
        let mut runner = virtual_runner();
        runner.run(async {});
        let fresh = LIVE_BYTES.load(Ordering::SeqCst);
        let held = || LIVE_BYTES.load(Ordering::SeqCst) - fresh;

        // A burst that never lets the loop park: every task is awaited in the same run.
        runner.run(async move {
            let tasks: Vec<Task<usize>> = (0..burst)
                .map(|i| {
                    create_task(async move {
                        yield_now().await;
                        i
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        let after_run = held();
        assert!(
            after_run <= RETAINED_BOUND,
            "{after_run} bytes kept after a burst of {burst} tasks, once run returned"
        );
        assert!(runner.stats().cached_cell_bytes <= 256 * 1024);

        // A burst of sleeping tasks, all cancelled: their timers go too.
        runner.run(async move {
            let sleepers: Vec<Task<()>> = (0..burst)
                .map(|_| create_task(sleep(Duration::from_secs(3600))))
                .collect();
            yield_now().await;
            assert_eq!(stats().timers.live, burst);
            for task in &sleepers {
                task.cancel();
            }
            for task in sleepers {
                assert!(task.await.unwrap_err().is_cancelled());
            }
        });
        let after_timers = held();
        assert!(
            after_timers <= RETAINED_BOUND,
            "{after_timers} bytes kept after {burst} timers were dropped ({:?})",
            runner.stats().timers
        );

        // A burst inside a run that then goes idle (parks until its next timer).
        let inside = runner.run(async move {
            let tasks: Vec<Task<()>> = (0..burst).map(|_| create_task(yield_now())).collect();
            for task in tasks {
                task.await.unwrap();
            }
            sleep(Duration::from_millis(1)).await;
            held()
        });
        assert!(
            inside <= RETAINED_BOUND,
            "{inside} bytes kept by an idle loop after a burst of {burst} tasks"
        );
        assert_eq!(runner.stats().live_tasks, 0);
    });
}
