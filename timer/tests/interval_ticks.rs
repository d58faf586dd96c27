//! `Interval`'s missed ticks: a tick taken so late that the next one is already due makes
//! the interval burst, delay (the default) or skip; a tick taken late but before the next
//! is due keeps the schedule whatever the behaviour. All on the virtual clock.

use std::time::{Duration, Instant};

use looplet::{interval, interval_at, now, sleep, Interval, MissedTickBehavior, Runner};

fn millis(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// The ticks of a one-second interval with `behavior` whose consumer stalls for `stall`
/// after the first tick, then takes `count` more ticks at once: each as (the offset it
/// was due at, the offset it was taken at), in milliseconds.
fn ticks_after_a_stall(behavior: MissedTickBehavior, stall: u64, count: usize) -> Vec<(u64, u64)> {
    Runner::builder()
        .virtual_clock(true)
        .build()
        .run(async move {
            let start = now();
            let mut ticks = interval(millis(1000));
            ticks.set_missed_tick_behavior(behavior);
            assert_eq!(ticks.tick().await, start);
            sleep(millis(stall)).await;
            let offset = |at: Instant| (at - start).as_millis() as u64;
            let mut taken = Vec::new();
            for _ in 0..count {
                let due = ticks.tick().await;
                taken.push((offset(due), offset(now())));
            }
            taken
        })
}

#[test]
fn delay_is_the_default_and_puts_a_period_after_the_late_tick() {
    assert_eq!(
        interval(millis(1)).missed_tick_behavior(),
        MissedTickBehavior::Delay
    );
    assert_eq!(
        ticks_after_a_stall(MissedTickBehavior::Delay, 3500, 3),
        [(1000, 3500), (4500, 4500), (5500, 5500)]
    );
}

#[test]
fn burst_hands_out_every_missed_tick_at_once_then_keeps_the_schedule() {
    assert_eq!(
        ticks_after_a_stall(MissedTickBehavior::Burst, 3500, 4),
        [(1000, 3500), (2000, 3500), (3000, 3500), (4000, 4000)]
    );
}

#[test]
fn skip_drops_the_missed_ticks_and_keeps_the_schedule() {
    assert_eq!(
        ticks_after_a_stall(MissedTickBehavior::Skip, 3500, 3),
        [(1000, 3500), (4000, 4000), (5000, 5000)]
    );
}

#[test]
fn a_late_tick_with_the_next_not_yet_due_keeps_the_schedule_whatever_the_behaviour() {
    for behavior in [
        MissedTickBehavior::Burst,
        MissedTickBehavior::Delay,
        MissedTickBehavior::Skip,
    ] {
        assert_eq!(
            ticks_after_a_stall(behavior, 1900, 2),
            [(1000, 1900), (2000, 2000)],
            "{behavior:?}"
        );
    }
}

#[test]
fn a_tick_taken_a_whole_period_late_has_missed_the_next() {
    let late = |behavior| ticks_after_a_stall(behavior, 2000, 2);
    assert_eq!(
        late(MissedTickBehavior::Burst),
        [(1000, 2000), (2000, 2000)]
    );
    assert_eq!(
        late(MissedTickBehavior::Delay),
        [(1000, 2000), (3000, 3000)]
    );
    assert_eq!(late(MissedTickBehavior::Skip), [(1000, 2000), (3000, 3000)]);
}

#[test]
fn an_interval_started_in_the_past_skips_or_delays_to_the_present() {
    let first_two = |behavior| {
        Runner::builder()
            .virtual_clock(true)
            .build()
            .run(async move {
                let start = now();
                let mut ticks: Interval = interval_at(start - millis(2500), millis(1000));
                ticks.set_missed_tick_behavior(behavior);
                let first = ticks.tick().await;
                let second = ticks.tick().await;
                assert_eq!(
                    first,
                    start - millis(2500),
                    "the first tick is the one due first"
                );
                second - start
            })
    };
    assert_eq!(first_two(MissedTickBehavior::Skip), millis(500));
    assert_eq!(first_two(MissedTickBehavior::Delay), millis(1000));
    assert_eq!(first_two(MissedTickBehavior::Burst), Duration::ZERO);
}

#[test]
fn a_far_period_saturates_instead_of_overflowing() {
    Runner::builder().virtual_clock(true).build().run(async {
        let mut ticks = interval(Duration::MAX);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        ticks.tick().await;
        let next = looplet::timeout(millis(10), ticks.tick()).await;
        assert!(next.is_err(), "no second tick in this universe");
    });
}
