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
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{AsyncExecutor, LocalPool, Looplet, Runtime, Tokio, IDLE_TASKS};

/// The system allocator, counting the bytes currently allocated through it.
struct CountingAllocator;

/// Bytes allocated and not yet freed, process-wide.
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees are ours; the counter is bookkeeping only.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `alloc` with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
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

/// A snapshot of both figures.
#[derive(Clone, Copy)]
struct Usage {
    resident: usize,
    heap: usize,
}

fn usage() -> Usage {
    Usage {
        resident: resident_bytes(),
        heap: LIVE_BYTES.load(Ordering::Relaxed),
    }
}

/// In the child process: measures `R` and prints `rss_per_task heap_per_task`, then exits
/// without waiting for the sleeps or tearing the runtime down.
fn measure<R: Runtime>() -> ! {
    let mut rt = R::new();
    support::spawn_join(&mut rt, 1_000);
    support::timers(&mut rt, 100);
    let before = usage();
    let after = support::idle_tasks(&mut rt, IDLE_TASKS, usage);
    let per_task = |b: usize, a: usize| a.saturating_sub(b) as f64 / IDLE_TASKS as f64;
    println!(
        "{:.0} {:.0}",
        per_task(before.resident, after.resident),
        per_task(before.heap, after.heap)
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
    let rows: Vec<(&str, f64, f64)> = RUNTIMES
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
            let mut fields = text
                .split_whitespace()
                .map(|f| f.parse::<f64>().unwrap_or(f64::NAN));
            let rss = fields.next().unwrap_or(f64::NAN);
            let heap = fields.next().unwrap_or(f64::NAN);
            (name, rss, heap)
        })
        .collect();

    let best_peer = |column: fn(&(&str, f64, f64)) -> f64| {
        rows.iter()
            .filter(|row| row.0 != Looplet::NAME)
            .map(column)
            .fold(f64::INFINITY, f64::min)
    };
    let best_rss = best_peer(|row| row.1);
    let best_heap = best_peer(|row| row.2);

    println!("Memory per idle task ({IDLE_TASKS} tasks parked in a 1 s sleep)\n");
    println!("| runtime | RSS bytes / task | heap bytes / task |");
    println!("|---|---:|---:|");
    for (name, rss, heap) in &rows {
        println!("| {name} | {rss:.0} | {heap:.0} |");
    }
    let (_, looplet_rss, looplet_heap) = rows[0];
    println!(
        "| looplet / best peer | {:.2}× | {:.2}× |",
        looplet_rss / best_rss,
        looplet_heap / best_heap
    );
}
