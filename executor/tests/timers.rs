//! Timers on a running loop: deadline order, equal deadlines in creation order, timeouts
//! both ways, and memory that follows live timers.

mod support;

use std::cell::RefCell;
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use looplet_executor::{create_task, stats, yield_now};
use looplet_timer::{interval, now, sleep, sleep_until, timeout};
use support::virtual_runner;

#[test]
fn a_hundred_thousand_concurrent_sleeps_fire_in_deadline_order() {
    let n = support::scaled(100_000) as u64;
    let fired = Rc::new(RefCell::new(Vec::with_capacity(n as usize)));
    let log = fired.clone();
    let mut runner = virtual_runner();
    runner.run(async move {
        // A fixed scramble of 0..N (multiplying by a number coprime with N permutes it).
        for i in 0..n {
            let delay = (i * 7_919) % n;
            let log = log.clone();
            drop(create_task(async move {
                sleep(Duration::from_micros(delay)).await;
                log.borrow_mut().push(delay);
            }));
        }
    });
    runner.run(async { sleep(Duration::from_secs(1)).await });
    let fired = fired.borrow();
    assert_eq!(fired.len(), n as usize);
    assert!(
        fired.windows(2).all(|pair| pair[0] < pair[1]),
        "fired out of order"
    );
}

#[test]
fn equal_deadlines_fire_in_the_order_the_timers_were_created() {
    let fired = Rc::new(RefCell::new(Vec::new()));
    let log = fired.clone();
    virtual_runner().run(async move {
        let deadline = now() + Duration::from_secs(1);
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let log = log.clone();
                let sleep = sleep_until(deadline);
                // Created in order 0..10, but first polled in reverse order below.
                (i, sleep, log)
            })
            .collect();
        let handles: Vec<_> = tasks
            .into_iter()
            .rev()
            .map(|(i, sleep, log)| {
                create_task(async move {
                    sleep.await;
                    log.borrow_mut().push(i);
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    assert_eq!(*fired.borrow(), (0..10).collect::<Vec<_>>());
}

#[test]
fn timeout_returns_the_output_when_the_body_is_quick() {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let result = runner.run(async {
        timeout(Duration::from_secs(5), async {
            sleep(Duration::from_secs(1)).await;
            "fast"
        })
        .await
    });
    assert_eq!(result.unwrap(), "fast");
    assert_eq!(runner.clock().now() - start, Duration::from_secs(1));
}

#[test]
fn timeout_elapses_and_cancels_a_slow_body() {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let result = runner.run(async { timeout(Duration::from_secs(2), pending::<()>()).await });
    let elapsed = result.unwrap_err();
    assert_eq!(
        elapsed.to_string(),
        "deadline has elapsed before the future completed"
    );
    assert_eq!(runner.clock().now() - start, Duration::from_secs(2));
    assert_eq!(runner.stats().timers.live, 0);
}

#[test]
fn a_zero_timeout_lets_the_body_run_to_its_first_suspension() {
    let steps = Rc::new(RefCell::new(Vec::new()));
    let log = steps.clone();
    let result = virtual_runner().run(async move {
        timeout(Duration::ZERO, async move {
            log.borrow_mut().push("body started");
            yield_now().await;
            log.borrow_mut().push("after suspension (must not happen)");
        })
        .await
    });
    assert!(result.is_err());
    assert_eq!(*steps.borrow(), ["body started"]);
}

#[test]
fn a_zero_timeout_around_a_body_that_never_suspends_returns_its_value() {
    let result = virtual_runner().run(async { timeout(Duration::ZERO, async { 9 }).await });
    assert_eq!(result.unwrap(), 9);
}

#[test]
fn with_nested_expired_timeouts_the_outer_one_reports() {
    let (outer, inner_reported) = virtual_runner().run(async {
        let inner_reported = Rc::new(RefCell::new(false));
        let flag = inner_reported.clone();
        let outer = timeout(Duration::ZERO, async move {
            let inner = timeout(Duration::ZERO, pending::<()>()).await;
            *flag.borrow_mut() = true;
            inner
        })
        .await;
        let reported = *inner_reported.borrow();
        (outer.is_err(), reported)
    });
    assert!(outer, "the outer timeout reports Elapsed");
    assert!(
        !inner_reported,
        "the inner timeout never reported to its body"
    );
}

#[test]
fn huge_durations_saturate_instead_of_overflowing() {
    let result = virtual_runner().run(async {
        let far = sleep(Duration::MAX);
        assert!(far.deadline() > now() + Duration::from_secs(86_400 * 365 * 10));
        let sleeper = create_task(async { sleep(Duration::MAX).await });
        yield_now().await;
        assert_eq!(stats().timers.live, 1, "the endless sleep is registered");
        sleeper.cancel();
        timeout(Duration::MAX, async { 1 }).await
    });
    assert_eq!(result.unwrap(), 1);
}

#[test]
fn a_million_timeouts_that_finish_early_leave_the_heap_small() {
    let n = support::scaled(1_000_000) as u64;
    let mut runner = virtual_runner();
    let peak_heap = runner.run(async move {
        let mut peak = 0;
        for _ in 0..n {
            // Registered (the body suspends once), then dropped long before its deadline.
            let result = timeout(Duration::from_secs(60), yield_now()).await;
            assert!(result.is_ok());
            peak = peak.max(stats().timers.heap_len);
        }
        peak
    });
    let stats = runner.stats().timers;
    assert_eq!(stats.set, n);
    assert_eq!(stats.cancelled, n);
    assert_eq!(stats.live, 0);
    assert!(
        peak_heap <= 130,
        "heap grew to {peak_heap} entries for 1 live timer"
    );
}

#[test]
fn sleep_reset_moves_the_deadline() {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    runner.run(async {
        let mut sleep = sleep(Duration::from_secs(10));
        sleep.reset(now() + Duration::from_secs(1));
        sleep.await;
    });
    assert_eq!(runner.clock().now() - start, Duration::from_secs(1));
}

#[test]
fn an_interval_ticks_at_a_fixed_period() {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let ticks = runner.run(async {
        let mut every = interval(Duration::from_millis(250));
        let mut ticks = Vec::new();
        for _ in 0..5 {
            ticks.push(every.tick().await - start);
        }
        ticks
    });
    let expected: Vec<_> = (0..5).map(|i| Duration::from_millis(250 * i)).collect();
    assert_eq!(ticks, expected);
}
