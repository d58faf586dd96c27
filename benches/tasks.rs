//! Task life-cycle benches: `spawn_join` and `taskgroup`, looplet against its peers, warm
//! and cold.
//!
//! # What the numbers mean
//!
//! Each criterion iteration is one whole workload, run from inside the runtime's root
//! future: on a runtime built beforehand and reused (the plain groups), or on a runtime
//! built for that iteration and dropped after it, both measured (the `_cold` groups). The
//! throughput is in tasks, so criterion's "time" is per workload run and its "thrpt" is
//! tasks per second; the per-task cost in `docs/BENCHMARKS.md` is the median time divided
//! by the task count.
//!
//! - `spawn_join/<runtime>`, `spawn_join_cold/<runtime>`: spawn 100,000 tasks that return
//!   their index, await every handle in spawn order, sum the outputs. Per task: one spawn,
//!   one poll, one join.
//! - `taskgroup/<runtime>`, `taskgroup_cold/<runtime>`: 100 groups, one after the other, of
//!   1,000 such children each — looplet's `TaskGroup`, tokio's `JoinSet`, a `Vec` of
//!   handles for the others. Per child.
//!
//! Run: `cargo bench --bench tasks` (add `-- spawn_join` to pick the two `spawn_join`
//! groups, `-- '^spawn_join/'` for the warm one alone).

#[path = "support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};

use support::{bench_cold_on, bench_on, workload_group};
use support::{AsyncExecutor, LocalPool, Looplet, Tokio};
use support::{CHILDREN_PER_GROUP, GROUPS, SPAWN_JOIN_TASKS};

fn spawn_join(c: &mut Criterion) {
    let mut group = workload_group(c, "spawn_join", SPAWN_JOIN_TASKS);
    bench_on::<Looplet>(&mut group, |rt| support::spawn_join(rt, SPAWN_JOIN_TASKS));
    bench_on::<Tokio>(&mut group, |rt| support::spawn_join(rt, SPAWN_JOIN_TASKS));
    bench_on::<AsyncExecutor>(&mut group, |rt| support::spawn_join(rt, SPAWN_JOIN_TASKS));
    bench_on::<LocalPool>(&mut group, |rt| support::spawn_join(rt, SPAWN_JOIN_TASKS));
    group.finish();
}

fn spawn_join_cold(c: &mut Criterion) {
    let mut group = workload_group(c, "spawn_join_cold", SPAWN_JOIN_TASKS);
    bench_cold_on::<Looplet>(&mut group, |rt| support::spawn_join(rt, SPAWN_JOIN_TASKS));
    bench_cold_on::<Tokio>(&mut group, |rt| support::spawn_join(rt, SPAWN_JOIN_TASKS));
    bench_cold_on::<AsyncExecutor>(&mut group, |rt| support::spawn_join(rt, SPAWN_JOIN_TASKS));
    bench_cold_on::<LocalPool>(&mut group, |rt| support::spawn_join(rt, SPAWN_JOIN_TASKS));
    group.finish();
}

fn taskgroup(c: &mut Criterion) {
    let mut group = workload_group(c, "taskgroup", GROUPS * CHILDREN_PER_GROUP);
    bench_on::<Looplet>(&mut group, |rt| {
        support::taskgroup(rt, GROUPS, CHILDREN_PER_GROUP)
    });
    bench_on::<Tokio>(&mut group, |rt| {
        support::taskgroup(rt, GROUPS, CHILDREN_PER_GROUP)
    });
    bench_on::<AsyncExecutor>(&mut group, |rt| {
        support::taskgroup(rt, GROUPS, CHILDREN_PER_GROUP)
    });
    bench_on::<LocalPool>(&mut group, |rt| {
        support::taskgroup(rt, GROUPS, CHILDREN_PER_GROUP)
    });
    group.finish();
}

fn taskgroup_cold(c: &mut Criterion) {
    let mut group = workload_group(c, "taskgroup_cold", GROUPS * CHILDREN_PER_GROUP);
    bench_cold_on::<Looplet>(&mut group, |rt| {
        support::taskgroup(rt, GROUPS, CHILDREN_PER_GROUP)
    });
    bench_cold_on::<Tokio>(&mut group, |rt| {
        support::taskgroup(rt, GROUPS, CHILDREN_PER_GROUP)
    });
    bench_cold_on::<AsyncExecutor>(&mut group, |rt| {
        support::taskgroup(rt, GROUPS, CHILDREN_PER_GROUP)
    });
    bench_cold_on::<LocalPool>(&mut group, |rt| {
        support::taskgroup(rt, GROUPS, CHILDREN_PER_GROUP)
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion_config();
    targets = spawn_join, spawn_join_cold, taskgroup, taskgroup_cold
}
criterion_main!(benches);
