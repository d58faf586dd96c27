//! Blocking work from a looplet task: `blocking::unblock` (smol's thread pool) runs a closure
//! on another thread and wakes the loop through its remote queue when it is done, on both
//! clocks. looplet has no thread pool of its own: this one is well kept and runs anywhere.

use std::time::Duration;

use looplet::{create_task, sleep, Runner};

/// Work that blocks its thread for a while, as a file read or a hash would.
fn blocking_work(input: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(20));
    (1..=input).sum()
}

#[test]
fn unblock_runs_blocking_work_off_the_loop_on_the_real_clock() {
    let mut runner = Runner::builder().virtual_clock(false).build();
    let (sum, ticked) = runner.run(async {
        // The loop keeps running other tasks while the work blocks a pool thread.
        let ticker = create_task(async {
            let mut ticks = 0;
            for _ in 0..5 {
                looplet::yield_now().await;
                ticks += 1;
            }
            ticks
        });
        let sum = blocking::unblock(|| blocking_work(100)).await;
        (sum, ticker.await.unwrap())
    });
    assert_eq!(sum, 5050);
    assert_eq!(ticked, 5);
    assert!(
        runner.stats().remote_wakes >= 1,
        "the pool woke the loop from its thread"
    );
}

#[test]
fn unblock_works_on_the_virtual_clock_where_virtual_time_does_not_wait_for_threads() {
    let mut runner = Runner::builder().virtual_clock(true).build();
    let start = runner.clock().now();
    let order = runner.run(async {
        let sleeper = create_task(async {
            sleep(Duration::from_secs(3600)).await;
            "the hour passed"
        });
        let worker = create_task(blocking::unblock(|| blocking_work(10)));
        // The loop jumps the virtual clock while the pool thread still works: virtual time
        // moves when the loop is idle, and a thread's work is not the loop's.
        let first = sleeper.await.unwrap();
        let sum = worker.await.unwrap();
        (first, sum)
    });
    assert_eq!(order, ("the hour passed", 55));
    assert_eq!(runner.clock().now() - start, Duration::from_secs(3600));
}

#[test]
fn polling_a_thread_with_short_sleeps_spins_on_the_virtual_clock_unblock_does_not() {
    // The pattern the guide warns about: checking `is_finished()` every millisecond. On the
    // virtual clock each sleep ends at once, so the loop sets a timer per check for as long
    // as the thread runs, instead of a handful.
    let mut runner = Runner::builder().virtual_clock(true).build();
    runner.run(async {
        let thread = std::thread::spawn(|| blocking_work(1));
        while !thread.is_finished() {
            sleep(Duration::from_millis(1)).await;
        }
    });
    let polled_timers = runner.stats().timers.set;
    let mut runner = Runner::builder().virtual_clock(true).build();
    runner.run(blocking::unblock(|| blocking_work(1)));
    let unblock_timers = runner.stats().timers.set;
    assert_eq!(unblock_timers, 0);
    assert!(
        polled_timers > 10,
        "{polled_timers} timers set while polling the thread"
    );
}
