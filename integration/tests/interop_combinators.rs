//! `futures-util` combinators drive looplet futures unchanged: `join_all`, `select`,
//! `FuturesUnordered` and `StreamExt` (`then`, `filter`, `buffer_unordered`, `collect`), on
//! the virtual clock so every elapsed time is exact.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures::future::{self, Either};
use futures::stream::{self, FuturesUnordered, StreamExt};
use looplet::{create_task, sleep, stats};
use support::{virtual_runner, within, LIMIT};

#[test]
fn join_all_over_a_hundred_sleeps_takes_the_longest_and_keeps_input_order() {
    within(LIMIT, || {
        let mut runner = virtual_runner();
        let start = runner.clock().now();
        let outputs = runner.run(async {
            let sleeps = (0..100u64).map(|i| async move {
                // A fixed scramble of 1..=100 ms.
                sleep(Duration::from_millis(1 + (i * 37) % 100)).await;
                i
            });
            future::join_all(sleeps).await
        });
        assert_eq!(outputs, (0..100).collect::<Vec<_>>());
        assert_eq!(runner.clock().now() - start, Duration::from_millis(100));
        assert_eq!(runner.stats().timers.live, 0);
    });
}

#[test]
fn select_returns_the_first_sleep_and_dropping_the_loser_frees_its_timer() {
    within(LIMIT, || {
        let mut runner = virtual_runner();
        let start = runner.clock().now();
        let (winner, live_after) = runner.run(async {
            let fast = Box::pin(async {
                sleep(Duration::from_secs(1)).await;
                "fast"
            });
            let slow = Box::pin(async {
                sleep(Duration::from_secs(5)).await;
                "slow"
            });
            let winner = match future::select(fast, slow).await {
                Either::Left((value, loser)) => {
                    drop(loser);
                    value
                }
                Either::Right((value, _)) => value,
            };
            (winner, stats().timers.live)
        });
        assert_eq!(winner, "fast");
        assert_eq!(live_after, 0, "the losing sleep left the heap when dropped");
        assert_eq!(runner.clock().now() - start, Duration::from_secs(1));
    });
}

#[test]
fn futures_unordered_yields_sleeps_in_deadline_order_not_push_order() {
    within(LIMIT, || {
        let mut runner = virtual_runner();
        let start = runner.clock().now();
        let order = runner.run(async {
            let delays = [50u64, 10, 40, 20, 30, 0];
            let mut pending: FuturesUnordered<_> = delays
                .iter()
                .map(|&delay| async move {
                    sleep(Duration::from_millis(delay)).await;
                    delay
                })
                .collect();
            let mut order = Vec::new();
            while let Some(delay) = pending.next().await {
                order.push(delay);
            }
            order
        });
        assert_eq!(order, [0, 10, 20, 30, 40, 50]);
        assert_eq!(runner.clock().now() - start, Duration::from_millis(50));
    });
}

#[test]
fn stream_combinators_chain_sleeps_and_buffer_unordered_bounds_concurrency() {
    within(LIMIT, || {
        let mut runner = virtual_runner();
        let start = runner.clock().now();
        let squares = runner.run(async {
            stream::iter(1..=10u64)
                .then(|i| async move {
                    sleep(Duration::from_millis(1)).await;
                    i * i
                })
                .filter(|square| std::future::ready(square % 2 == 0))
                .collect::<Vec<_>>()
                .await
        });
        assert_eq!(squares, [4, 16, 36, 64, 100]);
        // `then` runs one at a time: ten sleeps of 1 ms in a row.
        assert_eq!(runner.clock().now() - start, Duration::from_millis(10));

        let start = runner.clock().now();
        let in_flight = Rc::new(Cell::new(0));
        let most = Rc::new(Cell::new(0));
        let (probe, peak) = (in_flight.clone(), most.clone());
        let mut done = runner.run(async move {
            stream::iter(0..20u64)
                .map(|i| {
                    let (probe, peak) = (probe.clone(), peak.clone());
                    async move {
                        probe.set(probe.get() + 1);
                        peak.set(peak.get().max(probe.get()));
                        sleep(Duration::from_millis(10)).await;
                        probe.set(probe.get() - 1);
                        i
                    }
                })
                .buffer_unordered(4)
                .collect::<Vec<_>>()
                .await
        });
        done.sort_unstable();
        assert_eq!(done, (0..20).collect::<Vec<_>>());
        assert_eq!(most.get(), 4, "buffer_unordered(4) ran four at a time");
        // Twenty 10 ms sleeps, four at a time: five waves.
        assert_eq!(runner.clock().now() - start, Duration::from_millis(50));
    });
}

#[test]
fn join_and_select_macros_mix_looplet_tasks_and_plain_futures() {
    within(LIMIT, || {
        let mut runner = virtual_runner();
        let start = runner.clock().now();
        let (joined, selected) = runner.run(async {
            let task = create_task(async {
                sleep(Duration::from_millis(30)).await;
                "task"
            });
            let plain = async {
                sleep(Duration::from_millis(20)).await;
                "plain"
            };
            let (task, plain) = futures::join!(task, plain);
            let joined = (task.unwrap(), plain);

            let selected = futures::select! {
                _ = futures::FutureExt::fuse(sleep(Duration::from_millis(100))) => "timer",
                value = futures::FutureExt::fuse(create_task(async { 5 })) => {
                    if value.unwrap() == 5 { "task" } else { "wrong value" }
                }
            };
            (joined, selected)
        });
        assert_eq!(joined, ("task", "plain"));
        assert_eq!(selected, "task");
        assert_eq!(runner.clock().now() - start, Duration::from_millis(30));
    });
}
