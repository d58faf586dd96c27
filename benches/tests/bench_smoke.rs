//! Smoke run of every bench workload, at tiny sizes, on every runtime.
//!
//! The benches themselves stay out of `cargo test` (they take minutes); this test runs the
//! very same workload code (`benches/support`) with sizes around ten and checks each
//! workload's checksum, so a bench that broke — a hang, a panic, a workload that silently
//! did nothing — cannot land.

#[path = "../support/mod.rs"]
mod support;

use support::expected::sum_below;
use support::{AsyncExecutor, LocalPool, Looplet, Runtime, Tokio};

/// Runs each workload once at a tiny size on `R` and checks its result.
fn every_workload_runs<R: Runtime>() {
    let mut rt = R::new();
    assert_eq!(
        support::spawn_join(&mut rt, 10),
        sum_below(10),
        "spawn_join on {}",
        R::NAME
    );
    assert_eq!(
        support::yield_many(&mut rt, 10, 10),
        100,
        "yield_many on {}",
        R::NAME
    );
    assert_eq!(
        support::ping_pong(&mut rt, 10),
        10,
        "ping_pong on {}",
        R::NAME
    );
    assert_eq!(
        support::ping_pong_mpsc(&mut rt, 10),
        10,
        "ping_pong_mpsc on {}",
        R::NAME
    );
    assert_eq!(
        support::ping_pong_async_channel(&mut rt, 10),
        10,
        "ping_pong_async_channel on {}",
        R::NAME
    );
    assert_eq!(support::timers(&mut rt, 10), 10, "timers on {}", R::NAME);
    assert_eq!(
        support::remote_wake(&mut rt, 10),
        sum_below(10),
        "remote_wake on {}",
        R::NAME
    );
    assert_eq!(
        support::taskgroup(&mut rt, 3, 10),
        3 * sum_below(10),
        "taskgroup on {}",
        R::NAME
    );
    assert_eq!(
        support::idle_tasks(&mut rt, 10, || "measured"),
        "measured",
        "idle on {}",
        R::NAME
    );
    // The runtime is still usable after a workload left tasks sleeping in it.
    assert_eq!(
        support::spawn_join(&mut rt, 3),
        sum_below(3),
        "reuse of {}",
        R::NAME
    );
    // A second runtime of the same kind, as the cold benches build one per run, works
    // while the first is alive, and the first still works after it.
    let mut fresh = R::new();
    assert_eq!(support::timers(&mut fresh, 5), 5, "a second {}", R::NAME);
    drop(fresh);
    assert_eq!(
        support::spawn_join(&mut rt, 4),
        sum_below(4),
        "the first {} after the second",
        R::NAME
    );
}

#[test]
fn every_workload_runs_on_looplet() {
    every_workload_runs::<Looplet>();
}

#[test]
fn every_workload_runs_on_tokio() {
    every_workload_runs::<Tokio>();
}

#[test]
fn every_workload_runs_on_async_executor() {
    every_workload_runs::<AsyncExecutor>();
}

#[test]
fn every_workload_runs_on_local_pool() {
    every_workload_runs::<LocalPool>();
}

#[test]
fn sleep_durations_are_deterministic_and_between_one_and_ten_milliseconds() {
    use std::time::Duration;
    let durations: Vec<_> = (0..1_000).map(support::sleep_duration).collect();
    assert_eq!(
        durations,
        (0..1_000).map(support::sleep_duration).collect::<Vec<_>>()
    );
    assert!(durations
        .iter()
        .all(|d| (Duration::from_millis(1)..=Duration::from_millis(10)).contains(d)));
}
