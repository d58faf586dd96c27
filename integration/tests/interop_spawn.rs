//! Generic code written against `futures-task`'s `LocalSpawn` and `Spawn` runs on looplet:
//! `LocalSpawnExt::spawn_local_with_handle` on the loop's spawner, `SpawnExt` on a `Handle`
//! from another thread, `RemoteHandle` cancellation, and refusal once the loop has closed.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures::task::{LocalSpawn, LocalSpawnExt, Spawn, SpawnExt};
use looplet::{sleep, spawner, yield_now, Runner};
use support::{virtual_runner, within, LIMIT};

/// Library code that knows nothing of looplet: fans work out on any `LocalSpawn`.
fn fan_out<S: LocalSpawn>(spawner: &S, jobs: u64) -> Vec<futures::future::RemoteHandle<u64>> {
    (0..jobs)
        .map(|i| {
            spawner
                .spawn_local_with_handle(async move {
                    // Each job waits i ms of the spawner's clock (here looplet's).
                    sleep(Duration::from_millis(i)).await;
                    i * 10
                })
                .expect("the spawner accepts work")
        })
        .collect()
}

/// Library code that needs only `Spawn` (for `Send` futures).
fn spawn_sum<S: Spawn>(spawner: &S, values: Vec<u64>) -> futures::future::RemoteHandle<u64> {
    spawner
        .spawn_with_handle(async move { values.into_iter().sum() })
        .expect("the spawner accepts work")
}

#[test]
fn generic_local_spawn_code_fans_out_on_the_loop_and_gathers_results() {
    within(LIMIT, || {
        let mut runner = virtual_runner();
        let start = runner.clock().now();
        let results = runner.run(async {
            let handles = fan_out(&spawner(), 10);
            futures::future::join_all(handles).await
        });
        assert_eq!(results, (0..10).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(runner.clock().now() - start, Duration::from_millis(9));
        assert_eq!(runner.stats().spawned, 10, "each job became a looplet task");
    });
}

#[test]
fn dropping_a_remote_handle_stops_the_spawned_future() {
    within(LIMIT, || {
        let finished = Rc::new(Cell::new(false));
        let flag = finished.clone();
        let mut runner = virtual_runner();
        runner.run(async move {
            let handle = spawner()
                .spawn_local_with_handle(async move {
                    sleep(Duration::from_secs(10)).await;
                    flag.set(true);
                })
                .unwrap();
            yield_now().await; // the job starts and sleeps
            drop(handle); // futures' rule: a dropped RemoteHandle aborts the job
            sleep(Duration::from_secs(20)).await;
        });
        assert!(!finished.get(), "the job was stopped, not run to the end");
        assert_eq!(runner.stats().live_tasks, 0);
        assert_eq!(runner.stats().timers.live, 0);
    });
}

#[test]
fn a_handle_is_a_spawn_for_other_threads_and_their_own_executors() {
    within(LIMIT, || {
        let mut runner = Runner::new();
        let handle = runner.handle();
        let sum = runner.run(async move {
            let worker = std::thread::spawn(move || {
                // This thread spawns onto looplet and waits with futures' own executor.
                let remote = spawn_sum(&handle, (1..=100).collect());
                futures::executor::block_on(remote)
            });
            while !worker.is_finished() {
                sleep(Duration::from_millis(1)).await;
            }
            worker.join().unwrap()
        });
        assert_eq!(sum, 5050);
    });
}

#[test]
fn spawners_report_shutdown_once_the_loop_has_closed() {
    within(LIMIT, || {
        let mut runner = virtual_runner();
        let handle = runner.handle();
        let local = runner.run(async { spawner() });
        assert!(local.status_local().is_ok());
        assert!(Spawn::status(&handle).is_ok());
        runner.close();

        let error = local.spawn_local(async {}).unwrap_err();
        assert!(error.is_shutdown());
        assert!(local.status_local().unwrap_err().is_shutdown());
        assert!(Spawn::status(&handle).unwrap_err().is_shutdown());
        let error = SpawnExt::spawn(&handle, async {}).unwrap_err();
        assert!(error.is_shutdown());
    });
}
