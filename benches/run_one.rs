//! Runs one workload once on one runtime, with no criterion around it: the binary to hand
//! to a profiler.
//!
//! ```text
//! cargo bench --bench run_one --no-run          # build it (release, with debug info)
//! run_one WORKLOAD RUNTIME [SIZE] [REPEAT] [cold]   # e.g. run_one ping_pong looplet 100000
//! valgrind --tool=callgrind run_one yield_many looplet 100
//! ```
//!
//! `SIZE` is the workload's main count (tasks, round trips, messages, timers, groups);
//! the other dimensions (yields per task, children per group) stay at the bench values.
//! The `REPEAT` runs share one runtime, as the warm benches do; with `cold`, each run gets
//! a fresh runtime, as in the `_cold` benches.
//! It prints the wall time per operation, which under a profiler means little; what it is
//! for is the profile. Running it at two sizes and subtracting gives the cost per
//! operation without the runtime's start-up (see `docs/BENCHMARKS.md`).

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;

use support::{AsyncExecutor, LocalPool, Looplet, Runtime, Tokio};

/// Runs `workload` of `size` `repeat` times, on one new `R` or (`cold`) on a new `R` each
/// time; returns the operations done.
fn run<R: Runtime>(workload: &str, size: u64, repeat: u32, cold: bool) -> u64 {
    let mut rt = R::new();
    let mut operations = 0;
    for round in 0..repeat {
        if cold && round > 0 {
            rt = R::new();
        }
        operations += match workload {
            "spawn_join" => {
                support::spawn_join(&mut rt, size);
                size
            }
            "yield_many" => {
                support::yield_many(&mut rt, size, support::YIELDS_PER_TASK);
                size * support::YIELDS_PER_TASK
            }
            "ping_pong" => support::ping_pong(&mut rt, size),
            "ping_pong_mpsc" => support::ping_pong_mpsc(&mut rt, size),
            "ping_pong_async_channel" => support::ping_pong_async_channel(&mut rt, size),
            "timers" => support::timers(&mut rt, size),
            "remote_wake" => {
                support::remote_wake(&mut rt, size);
                size
            }
            "taskgroup" => {
                support::taskgroup(&mut rt, size, support::CHILDREN_PER_GROUP);
                size * support::CHILDREN_PER_GROUP
            }
            other => panic!(
                "unknown workload {other:?}; expected spawn_join, yield_many, ping_pong, \
                 ping_pong_mpsc, ping_pong_async_channel, timers, remote_wake or taskgroup"
            ),
        };
    }
    operations
}

fn main() {
    // `cargo bench` passes `--bench`; everything else is ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let [workload, runtime, rest @ ..] = args.as_slice() else {
        eprintln!("usage: run_one WORKLOAD RUNTIME [SIZE] [REPEAT] [cold]");
        return; // `cargo bench` with no arguments runs every bench binary: do nothing.
    };
    let size = rest
        .first()
        .map_or(1_000, |s| s.parse().expect("SIZE is a number"));
    let repeat = rest
        .get(1)
        .map_or(1, |s| s.parse().expect("REPEAT is a number"));
    let cold = match rest.get(2).map(String::as_str) {
        None => false,
        Some("cold") => true,
        Some(other) => panic!("unknown mode {other:?}; the only one is cold"),
    };
    let start = Instant::now();
    let operations = match runtime.as_str() {
        Looplet::NAME => run::<Looplet>(workload, size, repeat, cold),
        Tokio::NAME => run::<Tokio>(workload, size, repeat, cold),
        AsyncExecutor::NAME => run::<AsyncExecutor>(workload, size, repeat, cold),
        LocalPool::NAME => run::<LocalPool>(workload, size, repeat, cold),
        other => panic!(
            "unknown runtime {other:?}; expected looplet, tokio, async-executor or localpool"
        ),
    };
    let elapsed = start.elapsed();
    println!(
        "{workload}/{runtime}: {operations} operations, {:.1} ns each",
        elapsed.as_nanos() as f64 / operations as f64
    );
}
