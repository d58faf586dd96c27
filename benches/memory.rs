//! Memory per idle task: 100,000 tasks parked in a one-second sleep, on each runtime.
//!
//! # What the numbers mean
//!
//! For each runtime, a fresh child process builds the runtime, warms it up (so lazily made
//! state — thread-locals, timer driver, async-io's helper thread — is not counted), takes
//! a baseline, spawns 100,000 detached tasks that each park in `sleep(1 s)`, waits until
//! every task has been polled once (its timer is registered), and measures again. The
//! figures are the growth divided by the task count:
//!
//! - **RSS bytes per idle task**: resident memory from `/proc/self/statm` (pages × page
//!   size), what `top` would show. Coarse (page granularity, allocator slack), but it is
//!   what an embedder pays.
//! - **heap bytes per idle task**: bytes live in the global allocator, counted exactly by a
//!   wrapping allocator. It includes the task, its future, its timer entry and any
//!   queue/slab slot, but not allocator overhead.
//!
//! A task's state here is one `async` block holding an `Rc` counter and the runtime's
//! sleep future, the same source for every runtime.
//!
//! Run: `cargo bench --bench memory` (prints a Markdown table). Linux only (`/proc`).

#[path = "support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::{self, Command};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

use support::{AsyncExecutor, LocalPool, Looplet, Runtime, Tokio, IDLE_TASKS};

/// The system allocator, counting the bytes currently allocated through it, in total and
/// by allocation size (so the table can say which allocations make up a task).
struct CountingAllocator;

/// Bytes allocated and not yet freed, process-wide.
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Allocations of each size up to [`SMALL`] bytes not yet freed (index = size).
static LIVE_BY_SIZE: [AtomicIsize; SMALL + 1] = [const { AtomicIsize::new(0) }; SMALL + 1];

/// Bytes live in allocations bigger than [`SMALL`]: the growable buffers (slabs, queues,
/// heaps, vectors) rather than per-task allocations.
static LIVE_LARGE_BYTES: AtomicIsize = AtomicIsize::new(0);

/// The largest allocation size counted one by one.
const SMALL: usize = 1024;

fn count(size: usize, sign: isize) {
    if sign > 0 {
        LIVE_BYTES.fetch_add(size, Ordering::Relaxed);
    } else {
        LIVE_BYTES.fetch_sub(size, Ordering::Relaxed);
    }
    match LIVE_BY_SIZE.get(size) {
        Some(counter) => counter.fetch_add(sign, Ordering::Relaxed),
        None => LIVE_LARGE_BYTES.fetch_add(sign * size as isize, Ordering::Relaxed),
    };
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees are ours; the counters are bookkeeping only.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size(), 1);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `alloc` with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        count(layout.size(), -1);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(layout.size(), -1);
            count(new_size, 1);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Resident set size in bytes: `/proc/self/statm`'s second field is in pages.
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("statm's second field is the resident page count");
    pages * page_size()
}

/// The page size, from the `AT_PAGESZ` entry of the process's auxiliary vector (the
/// standard library does not expose it, and this avoids a `libc` dependency).
fn page_size() -> usize {
    const AT_PAGESZ: u64 = 6;
    let auxv = std::fs::read("/proc/self/auxv").expect("Linux /proc/self/auxv");
    auxv.chunks_exact(16)
        .map(|entry| {
            let word = |bytes: &[u8]| u64::from_ne_bytes(bytes.try_into().expect("8 bytes"));
            (word(&entry[..8]), word(&entry[8..]))
        })
        .find(|&(key, _)| key == AT_PAGESZ)
        .map_or(4096, |(_, value)| value as usize)
}

/// A snapshot of the figures.
#[derive(Clone)]
struct Usage {
    resident: usize,
    heap: usize,
    by_size: Vec<isize>,
    large: isize,
}

fn usage() -> Usage {
    Usage {
        resident: resident_bytes(),
        heap: LIVE_BYTES.load(Ordering::Relaxed),
        by_size: LIVE_BY_SIZE
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .collect(),
        large: LIVE_LARGE_BYTES.load(Ordering::Relaxed),
    }
}

/// Which allocations the idle tasks added, per task: `count×size` for each size allocated
/// about once per task or more, then the growth of big buffers (slabs, queues, heaps), then
/// whatever else (allocations rarer than one per task, e.g. B-tree nodes).
fn breakdown(before: &Usage, after: &Usage) -> String {
    let tasks = IDLE_TASKS as f64;
    let mut terms = Vec::new();
    let mut explained = 0.0;
    for size in 0..=SMALL {
        let added = (after.by_size[size] - before.by_size[size]) as f64;
        if added >= 0.9 * tasks {
            terms.push(format!("{:.1}×{size} B", added / tasks));
            explained += added * size as f64;
        }
    }
    let large = (after.large - before.large) as f64;
    terms.push(format!("buffers {:.0} B", large / tasks));
    let heap = after.heap as f64 - before.heap as f64;
    let other = (heap - explained - large) / tasks;
    if other.abs() >= 0.5 {
        terms.push(format!("other {other:.0} B"));
    }
    terms.join(" + ")
}

/// In the child process: measures `R` and prints `rss_per_task heap_per_task breakdown`,
/// then exits
/// without waiting for the sleeps or tearing the runtime down.
fn measure<R: Runtime>() -> ! {
    let mut rt = R::new();
    support::spawn_join(&mut rt, 1_000);
    support::timers(&mut rt, 100);
    let before = usage();
    let after = support::idle_tasks(&mut rt, IDLE_TASKS, usage);
    let per_task = |b: usize, a: usize| a.saturating_sub(b) as f64 / IDLE_TASKS as f64;
    println!(
        "{:.0} {:.0} {}",
        per_task(before.resident, after.resident),
        per_task(before.heap, after.heap),
        breakdown(&before, &after)
    );
    process::exit(0);
}

const RUNTIMES: [&str; 4] = [
    Looplet::NAME,
    Tokio::NAME,
    AsyncExecutor::NAME,
    LocalPool::NAME,
];

fn main() {
    // `cargo bench` passes flags such as `--bench`; only `--runtime NAME` matters here.
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|arg| arg == "--runtime") {
        match args.get(at + 1).map(String::as_str) {
            Some(Looplet::NAME) => measure::<Looplet>(),
            Some(Tokio::NAME) => measure::<Tokio>(),
            Some(AsyncExecutor::NAME) => measure::<AsyncExecutor>(),
            Some(LocalPool::NAME) => measure::<LocalPool>(),
            other => panic!("unknown runtime {other:?}; expected one of {RUNTIMES:?}"),
        }
    }

    let me = std::env::current_exe().expect("the path of this binary");
    let rows: Vec<(&str, f64, f64, String)> = RUNTIMES
        .iter()
        .map(|&name| {
            let output = Command::new(&me)
                .args(["--runtime", name])
                .output()
                .expect("the child process runs");
            assert!(
                output.status.success(),
                "measuring {name} failed: {output:?}"
            );
            let text = String::from_utf8_lossy(&output.stdout);
            let mut fields = text.trim().splitn(3, ' ');
            let mut number = || {
                fields
                    .next()
                    .and_then(|f| f.parse().ok())
                    .unwrap_or(f64::NAN)
            };
            let (rss, heap) = (number(), number());
            let breakdown = fields.next().unwrap_or_default().to_owned();
            (name, rss, heap, breakdown)
        })
        .collect();

    let best_peer = |column: fn(&(&str, f64, f64, String)) -> f64| {
        rows.iter()
            .filter(|row| row.0 != Looplet::NAME)
            .map(column)
            .fold(f64::INFINITY, f64::min)
    };
    let best_rss = best_peer(|row| row.1);
    let best_heap = best_peer(|row| row.2);

    println!("Memory per idle task ({IDLE_TASKS} tasks parked in a 1 s sleep)\n");
    println!("| runtime | RSS bytes / task | heap bytes / task | heap allocations per task |");
    println!("|---|---:|---:|---|");
    for (name, rss, heap, breakdown) in &rows {
        println!("| {name} | {rss:.0} | {heap:.0} | {breakdown} |");
    }
    let (_, looplet_rss, looplet_heap, _) = rows[0];
    println!(
        "| **looplet / best peer** | **{:.2}×** | **{:.2}×** | |",
        looplet_rss / best_rss,
        looplet_heap / best_heap
    );
}
