//! Order and fairness: tasks start in FIFO order, a batch polls only what was ready when
//! it began, and a task that never stops yielding cannot starve timers.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use looplet_executor::{create_task, run, yield_now, Runner};
use looplet_timer::sleep;
use support::{virtual_runner, within, Trace};

#[test]
fn tasks_start_in_the_order_they_were_created() {
    let trace = Trace::new();
    let log = trace.clone();
    run(async move {
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let log = log.clone();
                create_task(async move { log.push(format!("start {i}")) })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert_eq!(
        trace.events(),
        ["start 0", "start 1", "start 2", "start 3", "start 4"]
    );
}

#[test]
fn yielding_tasks_take_turns_round_robin() {
    let trace = Trace::new();
    let log = trace.clone();
    run(async move {
        let tasks: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let log = log.clone();
                create_task(async move {
                    for round in 0..3 {
                        log.push(format!("{name}{round}"));
                        yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert_eq!(trace.events(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
}

#[test]
fn a_task_that_yields_forever_does_not_starve_a_10ms_sleep() {
    // Real clock on purpose: the virtual clock only moves when the loop is idle, and this
    // loop is never idle. The assertion is that the sleep finishes at all.
    let spins = within(Duration::from_secs(20), || {
        let spins = Rc::new(Cell::new(0u64));
        let counter = spins.clone();
        run(async move {
            let _spinner = create_task(async move {
                loop {
                    counter.set(counter.get() + 1);
                    yield_now().await;
                }
            });
            sleep(Duration::from_millis(10)).await;
        });
        spins.get()
    });
    assert!(spins > 0, "the spinning task ran while the sleep waited");
}

#[test]
fn a_task_woken_many_times_is_polled_once_per_batch() {
    let mut runner = virtual_runner();
    let polls = runner.run(async {
        let polls = Rc::new(Cell::new(0));
        let counter = polls.clone();
        let task = create_task(std::future::poll_fn(move |cx| {
            counter.set(counter.get() + 1);
            if counter.get() == 1 {
                for _ in 0..10 {
                    cx.waker().wake_by_ref();
                }
                return std::task::Poll::Pending;
            }
            std::task::Poll::Ready(())
        }));
        task.await.unwrap();
        polls.get()
    });
    assert_eq!(polls, 2, "ten wakes while queued count as one");
    assert_eq!(runner.stats().ready_len, 0);
}

#[test]
fn detached_tasks_run_to_completion() {
    let finished = Rc::new(Cell::new(0));
    let counter = finished.clone();
    let mut runner = virtual_runner();
    runner.run(async move {
        for i in 0..10u64 {
            let counter = counter.clone();
            // The handle is dropped at once: the loop keeps the task alive.
            drop(create_task(async move {
                sleep(Duration::from_millis(i)).await;
                counter.set(counter.get() + 1);
            }));
        }
        sleep(Duration::from_secs(1)).await;
    });
    assert_eq!(finished.get(), 10);
}

#[test]
fn run_returns_the_output_and_tasks_left_behind_are_cancelled() {
    let trace = Trace::new();
    let log = trace.clone();
    let output = run(async move {
        let task = create_task(async { std::future::pending::<()>().await });
        task.add_done_callback(move |task| log.push(format!("cancelled: {}", task.is_cancelled())));
        "done"
    });
    assert_eq!(output, "done");
    assert_eq!(trace.events(), ["cancelled: true"]);
}

#[test]
fn a_runner_on_the_virtual_clock_reports_exact_elapsed_time() {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    runner.run(async {
        let a = create_task(sleep(Duration::from_secs(1)));
        let b = create_task(sleep(Duration::from_secs(2)));
        a.await.unwrap();
        b.await.unwrap();
    });
    assert_eq!(runner.clock().now() - start, Duration::from_secs(2));
}

#[test]
fn stats_count_spawns_polls_and_local_wakes() {
    let mut runner = Runner::new();
    runner.run(async {
        let task = create_task(async {
            yield_now().await;
        });
        task.await.unwrap();
    });
    let stats = runner.stats();
    assert_eq!(stats.spawned, 1);
    assert_eq!(stats.polls, 2);
    // Two local wakes: the task's yield, and the task waking `run`'s future when it ends.
    assert_eq!(stats.local_wakes, 2);
    assert_eq!(stats.live_tasks, 0);
}

#[test]
fn a_task_that_wakes_itself_and_finishes_is_not_polled_again() {
    struct Output(Rc<Cell<u32>>);
    impl Drop for Output {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let drops = Rc::new(Cell::new(0));
    let counted = drops.clone();
    let mut runner = virtual_runner();
    let polls = runner.run(async move {
        // Detached, so the ready-queue entry its own wake made holds the last reference.
        drop(create_task(std::future::poll_fn(move |cx| {
            cx.waker().wake_by_ref();
            std::task::Poll::Ready(Output(counted.clone()))
        })));
        yield_now().await;
        yield_now().await;
        looplet_executor::stats().polls
    });
    assert_eq!(polls, 1, "the queued wake of a finished task is skipped");
    assert_eq!(
        drops.get(),
        1,
        "its output was dropped once, when the entry let go"
    );
}
