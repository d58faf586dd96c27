//! Seeded schedules: a seed draws each tick's poll order from a PRNG, the same seed gives
//! the same run bit for bit (same fingerprint, same output), and different seeds give
//! different interleavings of the same program — within a tick only, so fairness holds.

mod support;

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;

use looplet_executor::{create_task, yield_now, Runner};
use looplet_timer::sleep;

/// Eight tasks that each log their id at every step of three, on the virtual clock.
fn interleaving(seed: Option<u64>) -> (Vec<String>, u64) {
    let mut builder = Runner::builder().virtual_clock(true);
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    let mut runner = builder.build();
    let log = Rc::new(RefCell::new(Vec::new()));
    let events = log.clone();
    runner.run(async move {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let log = events.clone();
                create_task(async move {
                    for step in 0..3 {
                        log.borrow_mut().push(format!("{i}.{step}"));
                        yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let events = log.borrow().clone();
    (events, runner.stats().schedule_fingerprint)
}

#[test]
fn the_same_seed_gives_the_same_run_bit_for_bit() {
    for seed in [0, 1, 42, u64::MAX] {
        assert_eq!(
            interleaving(Some(seed)),
            interleaving(Some(seed)),
            "seed {seed}"
        );
    }
}

#[test]
fn twenty_seeds_give_different_orders_of_the_same_program() {
    let orders: HashSet<Vec<String>> = (0..20).map(|seed| interleaving(Some(seed)).0).collect();
    let fingerprints: HashSet<u64> = (0..20).map(|seed| interleaving(Some(seed)).1).collect();
    assert!(
        orders.len() >= 19,
        "{} distinct orders from 20 seeds",
        orders.len()
    );
    assert_eq!(fingerprints.len(), orders.len());
}

#[test]
fn without_a_seed_the_order_is_fifo() {
    let (events, fingerprint) = interleaving(None);
    let fifo: Vec<String> = (0..3)
        .flat_map(|step| (0..8).map(move |i| format!("{i}.{step}")))
        .collect();
    assert_eq!(events, fifo);
    assert_eq!(
        interleaving(None).1,
        fingerprint,
        "FIFO is deterministic too"
    );
}

#[test]
fn a_seed_reorders_within_a_tick_never_across_ticks() {
    // Every task logs step 0 before any logs step 1, whatever the seed: a task woken during
    // a batch (here, by its own yield) waits for the next one.
    for seed in 0..20 {
        let (events, _) = interleaving(Some(seed));
        for (position, event) in events.iter().enumerate() {
            let step: usize = event.split('.').nth(1).unwrap().parse().unwrap();
            assert_eq!(position / 8, step, "seed {seed}: {events:?}");
        }
    }
}

#[test]
fn timers_with_equal_deadlines_fire_in_order_but_their_tasks_run_in_the_seeds_order() {
    let order = |seed: u64| {
        let mut runner = Runner::builder().virtual_clock(true).seed(seed).build();
        let start = runner.clock().now();
        let log = Rc::new(RefCell::new(Vec::new()));
        let events = log.clone();
        runner.run(async move {
            let tasks: Vec<_> = (0..6)
                .map(|i| {
                    let log = events.clone();
                    create_task(async move {
                        sleep(Duration::from_secs(1)).await;
                        log.borrow_mut().push(i);
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        let woke = log.borrow().clone();
        (woke, runner.clock().now() - start)
    };
    let orders: HashSet<Vec<i32>> = (0..10).map(|seed| order(seed).0).collect();
    assert!(orders.len() > 1, "the seed reorders the woken tasks");
    for seed in 0..10 {
        assert_eq!(
            order(seed).1,
            Duration::from_secs(1),
            "time moves as without a seed"
        );
    }
}

#[test]
fn a_runner_reports_its_seed() {
    assert_eq!(Runner::builder().seed(9).build().seed(), Some(9));
    assert_eq!(
        Runner::builder().build().seed(),
        std::env::var("LOOPLET_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
    );
}
