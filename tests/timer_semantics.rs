//! Timers as a program on the loop sees them: timer futures are lazy, a zero sleep yields
//! once, no timer fires before its deadline however far it is, and after a burst the timer
//! queue gives its memory back while a timer left behind still fires on time. All on the
//! virtual clock.

mod support;

use std::cell::RefCell;
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use looplet::{create_task, interval, now, sleep, sleep_until, stats, timeout, yield_now};
use support::{scaled, virtual_runner, within, LIMIT};

const YEAR: Duration = Duration::from_secs(86_400 * 365);

#[test]
fn a_sleep_made_before_the_runner_exists_counts_from_its_first_poll() {
    let later = sleep(Duration::from_secs(2)); // no loop on this thread yet
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    runner.run(sleep(Duration::from_secs(3)));
    runner.run(later);
    assert_eq!(runner.clock().now() - start, Duration::from_secs(5));
}

#[test]
fn a_sleep_made_inside_the_loop_counts_from_when_it_was_made() {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    runner.run(async {
        let early = sleep(Duration::from_secs(2));
        sleep(Duration::from_secs(3)).await;
        early.await; // already past its deadline
    });
    assert_eq!(runner.clock().now() - start, Duration::from_secs(3));
}

#[test]
fn timeouts_and_intervals_made_outside_the_loop_run_on_it() {
    let stuck = timeout(Duration::from_secs(1), pending::<()>());
    let quick = timeout(Duration::from_secs(5), sleep(Duration::from_secs(1)));
    let mut ticks = interval(Duration::from_millis(250));
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    assert!(runner.run(stuck).is_err());
    assert_eq!(runner.run(quick), Ok(()));
    assert_eq!(runner.clock().now() - start, Duration::from_secs(2));
    let offsets = runner.run(async move {
        let mut offsets = Vec::new();
        for _ in 0..3 {
            offsets.push(ticks.tick().await - start);
        }
        offsets
    });
    let expected: Vec<_> = [2000, 2250, 2500].map(Duration::from_millis).into();
    assert_eq!(offsets, expected, "the first tick comes at the first poll");
}

#[test]
fn a_zero_sleep_lets_every_other_ready_task_run_first() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let seen = log.clone();
    virtual_runner().run(async move {
        let other = seen.clone();
        let task = create_task(async move { other.borrow_mut().push("other task") });
        seen.borrow_mut().push("before the zero sleep");
        sleep(Duration::ZERO).await;
        seen.borrow_mut().push("after the zero sleep");
        task.await.unwrap();
    });
    assert_eq!(
        *log.borrow(),
        [
            "before the zero sleep",
            "other task",
            "after the zero sleep"
        ]
    );
}

#[test]
fn a_task_looping_on_zero_sleeps_lets_the_other_tasks_run() {
    let spins = virtual_runner().run(async {
        let other = create_task(async {
            for _ in 0..3 {
                yield_now().await;
            }
        });
        let mut spins = 0u32;
        while !other.is_done() {
            sleep(Duration::ZERO).await;
            spins += 1;
            assert!(spins < 1_000, "the other task never got its turn");
        }
        spins
    });
    assert_eq!(spins, 4, "one turn each for its three yields and its end");
}

#[test]
fn a_zero_timeout_around_a_zero_sleep_elapses() {
    let result = virtual_runner().run(timeout(Duration::ZERO, sleep(Duration::ZERO)));
    assert!(result.is_err());
}

#[test]
fn a_sleep_until_a_thousand_years_on_returns_then_and_not_at_584_years() {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    runner.run(sleep_until(start + 1000 * YEAR));
    assert_eq!(runner.clock().now() - start, 1000 * YEAR);
}

#[test]
fn a_far_timer_never_fires_while_a_nearer_one_does() {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let (far_done, elapsed) = runner.run(async move {
        let far = create_task(sleep_until(start + 1000 * YEAR));
        sleep_until(start + 600 * YEAR).await; // past the 584-year tick horizon too
        yield_now().await;
        (far.is_done(), now() - start)
    });
    assert!(!far_done, "the 1000-year timer fired by year 600");
    assert_eq!(elapsed, 600 * YEAR);
}

#[test]
fn sleep_duration_max_never_fires_early() {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let result = runner.run(timeout(1_000_000 * YEAR, sleep(Duration::MAX)));
    assert!(
        result.is_err(),
        "sleep(Duration::MAX) ended within a million years"
    );
    assert_eq!(runner.clock().now() - start, 1_000_000 * YEAR);
    let century = runner.run(async {
        let before = now();
        sleep(100 * YEAR).await;
        now() - before
    });
    assert_eq!(
        century,
        100 * YEAR,
        "a long sleep saturates at its deadline, not before"
    );
}

#[test]
fn a_timer_left_behind_by_a_burst_fires_on_time_and_the_queue_shrinks() {
    let burst = scaled(100_000) as u64;
    within(LIMIT, move || {
        let mut runner = virtual_runner();
        let start = runner.clock().now();
        let (after_burst, long) = runner.run(async move {
            for ms in 1..=burst {
                drop(create_task(sleep(Duration::from_millis(ms))));
            }
            // Made last, so its timer takes the slab's highest slot.
            let long = create_task(async move {
                sleep(Duration::from_secs(100_000)).await;
                now() - start
            });
            sleep(Duration::from_millis(burst + 1)).await;
            (stats().timers, long)
        });
        assert_eq!(after_burst.live, 1, "only the long timer is left");
        assert!(
            after_burst.bytes <= 64 * 1024,
            "the queue kept {} bytes for one timer: {after_burst:?}",
            after_burst.bytes
        );
        let waited = runner.run(long).unwrap();
        assert_eq!(waited, Duration::from_secs(100_000), "not a moment early");
    });
}
