//! Wake-up benches: `yield_many`, `ping_pong` (over three channel crates) and
//! `remote_wake`, looplet against its peers.
//!
//! # What the numbers mean
//!
//! Each criterion iteration is one whole workload, run from inside the runtime's root
//! future on a runtime built beforehand; the throughput unit is the workload's operation,
//! so "thrpt" is operations per second and the per-operation cost in
//! `docs/BENCHMARKS.md` is the median time divided by the operation count.
//!
//! - `yield_many/<runtime>`: 1,000 tasks each await the shared hand-written `YieldOnce`
//!   1,000 times. Per yield: one wake of the running task, one re-queue, one poll.
//! - `ping_pong/<runtime>`: two tasks bounce a counter 100,000 times over two bounded(1)
//!   channels of `async-unsync` (single-threaded). Per round trip: two sends, two receives
//!   and two wakes of a task parked on the loop's own thread.
//! - `ping_pong_mpsc/<runtime>`: the same over two `futures::channel::mpsc::unbounded`,
//!   the thread-safe channel of the `futures` crate.
//! - `ping_pong_async_channel/<runtime>`: the same over two `async_channel::bounded(1)`,
//!   thread-safe channels whose own cost dominates the round trip.
//! - `remote_wake/<runtime>`: another OS thread sends 100,000 messages through an unbounded
//!   `async_channel` to a task on the loop. Per message; the cost includes the channel and,
//!   whenever the loop had drained it and parked, a cross-thread wake and unpark.
//!
//! Run: `cargo bench --bench wakeups` (add `-- ping_pong` to pick the three `ping_pong`
//! groups, `-- '^ping_pong/'` for the first alone).

#[path = "support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};

use support::{bench_on, workload_group, AsyncExecutor, LocalPool, Looplet, Tokio};
use support::{REMOTE_MESSAGES, ROUND_TRIPS, YIELDS_PER_TASK, YIELD_TASKS};

fn yield_many(c: &mut Criterion) {
    let mut group = workload_group(c, "yield_many", YIELD_TASKS * YIELDS_PER_TASK);
    bench_on::<Looplet>(&mut group, |rt| {
        support::yield_many(rt, YIELD_TASKS, YIELDS_PER_TASK)
    });
    bench_on::<Tokio>(&mut group, |rt| {
        support::yield_many(rt, YIELD_TASKS, YIELDS_PER_TASK)
    });
    bench_on::<AsyncExecutor>(&mut group, |rt| {
        support::yield_many(rt, YIELD_TASKS, YIELDS_PER_TASK)
    });
    bench_on::<LocalPool>(&mut group, |rt| {
        support::yield_many(rt, YIELD_TASKS, YIELDS_PER_TASK)
    });
    group.finish();
}

fn ping_pong(c: &mut Criterion) {
    let mut group = workload_group(c, "ping_pong", ROUND_TRIPS);
    bench_on::<Looplet>(&mut group, |rt| support::ping_pong(rt, ROUND_TRIPS));
    bench_on::<Tokio>(&mut group, |rt| support::ping_pong(rt, ROUND_TRIPS));
    bench_on::<AsyncExecutor>(&mut group, |rt| support::ping_pong(rt, ROUND_TRIPS));
    bench_on::<LocalPool>(&mut group, |rt| support::ping_pong(rt, ROUND_TRIPS));
    group.finish();
}

fn ping_pong_mpsc(c: &mut Criterion) {
    let mut group = workload_group(c, "ping_pong_mpsc", ROUND_TRIPS);
    bench_on::<Looplet>(&mut group, |rt| support::ping_pong_mpsc(rt, ROUND_TRIPS));
    bench_on::<Tokio>(&mut group, |rt| support::ping_pong_mpsc(rt, ROUND_TRIPS));
    bench_on::<AsyncExecutor>(&mut group, |rt| support::ping_pong_mpsc(rt, ROUND_TRIPS));
    bench_on::<LocalPool>(&mut group, |rt| support::ping_pong_mpsc(rt, ROUND_TRIPS));
    group.finish();
}

fn ping_pong_async_channel(c: &mut Criterion) {
    let mut group = workload_group(c, "ping_pong_async_channel", ROUND_TRIPS);
    bench_on::<Looplet>(&mut group, |rt| {
        support::ping_pong_async_channel(rt, ROUND_TRIPS)
    });
    bench_on::<Tokio>(&mut group, |rt| {
        support::ping_pong_async_channel(rt, ROUND_TRIPS)
    });
    bench_on::<AsyncExecutor>(&mut group, |rt| {
        support::ping_pong_async_channel(rt, ROUND_TRIPS)
    });
    bench_on::<LocalPool>(&mut group, |rt| {
        support::ping_pong_async_channel(rt, ROUND_TRIPS)
    });
    group.finish();
}

fn remote_wake(c: &mut Criterion) {
    let mut group = workload_group(c, "remote_wake", REMOTE_MESSAGES);
    bench_on::<Looplet>(&mut group, |rt| support::remote_wake(rt, REMOTE_MESSAGES));
    bench_on::<Tokio>(&mut group, |rt| support::remote_wake(rt, REMOTE_MESSAGES));
    bench_on::<AsyncExecutor>(&mut group, |rt| support::remote_wake(rt, REMOTE_MESSAGES));
    bench_on::<LocalPool>(&mut group, |rt| support::remote_wake(rt, REMOTE_MESSAGES));
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion_config();
    targets = yield_many, ping_pong, ping_pong_mpsc, ping_pong_async_channel, remote_wake
}
criterion_main!(benches);
