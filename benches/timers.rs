//! Timer benches: `timers` (warm) and `timers_cold`, looplet against its peers, each on its
//! own timer.
//!
//! # What the numbers mean
//!
//! Each criterion iteration spawns 100,000 tasks from inside the runtime's root future —
//! on a runtime built beforehand and reused (`timers`), or on one built for that iteration
//! and dropped after it, both measured (`timers_cold`);
//! each sleeps a deterministic pseudo-random 1–10 ms (microsecond resolution) and returns.
//! The iteration ends when the last one has woken, so it can never take less than about
//! 10 ms: the number includes that wait, spread over 100,000 timers (≈ 100 ns per timer),
//! for every runtime alike. Per timer: one spawn, a timer registration, the timer firing,
//! one wake, one poll, one join.
//!
//! Timers: looplet's binary heap, tokio's timer wheel, and `async_io::Timer` for
//! async-executor (processed by the loop thread under `async_io::block_on`) and for
//! `LocalPool` (processed by async-io's helper thread).
//!
//! Run: `cargo bench --bench timers` (add `-- '^timers/'` for the warm group alone).

#[path = "support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};

use support::{bench_cold_on, bench_on, workload_group, TIMERS};
use support::{AsyncExecutor, LocalPool, Looplet, Tokio};

fn timers(c: &mut Criterion) {
    let mut group = workload_group(c, "timers", TIMERS);
    bench_on::<Looplet>(&mut group, |rt| support::timers(rt, TIMERS));
    bench_on::<Tokio>(&mut group, |rt| support::timers(rt, TIMERS));
    bench_on::<AsyncExecutor>(&mut group, |rt| support::timers(rt, TIMERS));
    bench_on::<LocalPool>(&mut group, |rt| support::timers(rt, TIMERS));
    group.finish();
}

fn timers_cold(c: &mut Criterion) {
    let mut group = workload_group(c, "timers_cold", TIMERS);
    bench_cold_on::<Looplet>(&mut group, |rt| support::timers(rt, TIMERS));
    bench_cold_on::<Tokio>(&mut group, |rt| support::timers(rt, TIMERS));
    bench_cold_on::<AsyncExecutor>(&mut group, |rt| support::timers(rt, TIMERS));
    bench_cold_on::<LocalPool>(&mut group, |rt| support::timers(rt, TIMERS));
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion_config();
    targets = timers, timers_cold
}
criterion_main!(benches);
