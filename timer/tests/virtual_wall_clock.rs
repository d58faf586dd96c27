//! Wall-clock time on virtual clocks: `system_time()` moves with virtual time, and a new
//! virtual clock carries on from where this thread's earlier ones got to, so programs that
//! run several virtual loops in a row print increasing times. Other threads' virtual
//! clocks do not move this thread's.

use std::time::{Duration, SystemTime};

use looplet::{sleep, system_time, Runner};

fn virtual_runner() -> Runner {
    Runner::builder().virtual_clock(true).build()
}

/// Runs a fresh virtual loop that sleeps `secs`; returns its wall time at start and end.
fn a_level_that_sleeps(secs: u64) -> (SystemTime, SystemTime) {
    virtual_runner().run(async move {
        let started = system_time();
        sleep(Duration::from_secs(secs)).await;
        (started, system_time())
    })
}

#[test]
fn virtual_loops_run_one_after_another_print_increasing_times() {
    let (first_start, first_end) = a_level_that_sleeps(3);
    let (second_start, second_end) = a_level_that_sleeps(2);
    let (third_start, _) = a_level_that_sleeps(1);
    assert_eq!(
        first_end.duration_since(first_start).unwrap(),
        Duration::from_secs(3)
    );
    assert!(
        second_start >= first_end,
        "the second level starts where the first ended"
    );
    assert_eq!(
        second_end.duration_since(second_start).unwrap(),
        Duration::from_secs(2)
    );
    assert!(third_start >= second_end);
}

#[test]
fn a_new_virtual_clock_continues_even_while_the_earlier_runner_lives() {
    let mut first = virtual_runner();
    let end = first.run(async {
        sleep(Duration::from_secs(60)).await;
        system_time()
    });
    let second = virtual_runner();
    assert!(second.clock().system_time() >= end);
    drop(first);
}

#[test]
fn the_first_virtual_clock_on_a_thread_starts_at_the_real_time() {
    let before = SystemTime::now();
    let clock_start = virtual_runner().clock().system_time();
    let after = SystemTime::now();
    assert!(before <= clock_start && clock_start <= after);
}

#[test]
fn another_threads_virtual_clocks_do_not_move_this_threads() {
    let millennium = Duration::from_secs(86_400 * 365 * 1_000);
    std::thread::spawn(move || {
        virtual_runner().run(sleep(millennium));
    })
    .join()
    .unwrap();
    let start = virtual_runner().clock().system_time();
    assert!(start < SystemTime::now() + Duration::from_secs(3600));
}

#[test]
fn a_real_clock_keeps_the_real_wall_time_after_virtual_loops() {
    a_level_that_sleeps(86_400);
    let real = Runner::builder().virtual_clock(false).build();
    assert!(real.clock().system_time() < SystemTime::now() + Duration::from_secs(3600));
}
