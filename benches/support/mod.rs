//! Shared code of looplet's benches: the workloads, written once, and one adapter per runtime.
//!
//! Every bench file of this package and its smoke test `tests/bench_smoke.rs` include this
//! module with `#[path = "…/support/mod.rs"] mod support;`, so the code that is measured is
//! the code that is tested. The pieces:
//!
//! - [`Runtime`] (in `runtimes.rs`): the few operations a workload needs — start a root
//!   future, spawn a task and join it, sleep, run a group of children — implemented for
//!   [`Looplet`], [`Tokio`] (current-thread runtime + `LocalSet`), [`AsyncExecutor`]
//!   (`LocalExecutor`) and [`LocalPool`] (futures' `LocalPool`).
//! - `workloads.rs`: the workloads, generic over [`Runtime`]. Each starts from inside the
//!   runtime's root future and returns a checksum, so a smoke test can tell a workload that
//!   ran from one that silently did nothing.
//! - [`YieldOnce`]: the one hand-written yield future every runtime uses, so `yield_many`
//!   measures the scheduler and not each runtime's own `yield_now`.
//!
//! Not every includer uses every item, hence the `dead_code` allowance below.

#![allow(dead_code)]

mod runtimes;
mod workloads;
mod yield_once;

pub use runtimes::{AsyncExecutor, LocalPool, Looplet, Runtime, Tokio};
pub use workloads::*;
pub use yield_once::YieldOnce;

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};

/// Short default settings, so one `cargo bench` run of every workload on every runtime
/// takes minutes on a shared 2-core machine; command-line flags still override them.
pub fn criterion_config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

/// A criterion group for one workload of `operations` operations per run (spawns, yields,
/// round trips…), so criterion's "thrpt" is operations per second. Sampling is flat: one
/// run takes milliseconds, long enough to time on its own.
pub fn workload_group<'c>(
    c: &'c mut Criterion,
    workload: &str,
    operations: u64,
) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(workload);
    group.throughput(Throughput::Elements(operations));
    group.sampling_mode(SamplingMode::Flat);
    group
}

/// Benches `workload` warm, as `group/R::NAME`: the runtime is built once, outside the
/// measurement, and reused, so each iteration is one whole workload run from inside its
/// root future on a runtime that has run it before (a long-lived loop's steady state).
pub fn bench_on<R: Runtime>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    mut workload: impl FnMut(&mut R) -> u64,
) {
    let mut rt = R::new();
    group.bench_function(R::NAME, |bencher| {
        bencher.iter(|| std::hint::black_box(workload(&mut rt)))
    });
}

/// Benches `workload` cold, as `group/R::NAME`: each iteration builds a fresh runtime, runs
/// the workload once and drops the runtime, all measured, as a program that starts a loop
/// for one job does. Nothing a runtime keeps from a previous run (looplet's cache of freed
/// task cells, grown queues and tables) helps here.
pub fn bench_cold_on<R: Runtime>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    mut workload: impl FnMut(&mut R) -> u64,
) {
    group.bench_function(R::NAME, |bencher| {
        bencher.iter(|| {
            let mut rt = R::new();
            let checksum = workload(&mut rt);
            drop(rt);
            std::hint::black_box(checksum)
        })
    });
}
