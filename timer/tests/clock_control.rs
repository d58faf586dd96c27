//! Moving a virtual clock from inside the loop: `advance` lets time pass as if the program
//! ran, stopping at every deadline on the way; with auto-advance off an idle loop leaves
//! the clock alone, and one that nothing can wake falls back to auto-advance instead of
//! hanging; on a real clock both controls are a clear error.

use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use looplet::{
    advance, auto_advance, create_task, now, set_auto_advance, sleep, yield_now, Runner,
};

fn virtual_runner() -> Runner {
    Runner::builder().virtual_clock(true).build()
}

fn secs(secs: f64) -> Duration {
    Duration::from_secs_f64(secs)
}

/// A task that sleeps `period` in a loop, counting its wake-ups.
fn ticker(period: Duration) -> Rc<Cell<u32>> {
    let count = Rc::new(Cell::new(0));
    let counter = Rc::clone(&count);
    // Detached: the loop keeps it running, and cancels it when the run ends.
    drop(create_task(async move {
        loop {
            sleep(period).await;
            counter.set(counter.get() + 1);
        }
    }));
    count
}

#[test]
fn advance_stops_at_every_deadline_on_the_way_to_its_target() {
    virtual_runner().run(async {
        set_auto_advance(false);
        let start = now();
        let ticks = ticker(secs(1.0));
        advance(secs(3.5)).await;
        assert_eq!(ticks.get(), 3, "woken at 1, 2 and 3 s");
        assert_eq!(now() - start, secs(3.5));
        advance(secs(0.5)).await;
        assert_eq!(ticks.get(), 4, "and at 4 s, the target itself");
    });
}

#[test]
fn with_auto_advance_off_an_idle_loop_leaves_the_clock_where_it_is() {
    virtual_runner().run(async {
        set_auto_advance(false);
        assert!(!auto_advance());
        let start = now();
        let ticks = ticker(secs(1.0));
        advance(secs(0.5)).await;
        assert_eq!(
            now() - start,
            secs(0.5),
            "not moved on to the ticker's deadline"
        );
        assert_eq!(ticks.get(), 0);
        set_auto_advance(true);
        sleep(secs(1.0)).await;
        assert_eq!(ticks.get(), 1, "auto-advance on: the loop jumps again");
    });
}

#[test]
fn what_falls_due_at_the_target_runs_until_idle_before_advance_returns() {
    virtual_runner().run(async {
        set_auto_advance(false);
        let done = Rc::new(Cell::new(false));
        let flag = Rc::clone(&done);
        let _worker = create_task(async move {
            sleep(secs(1.0)).await;
            for _ in 0..5 {
                yield_now().await; // several ticks of work after the wake-up
            }
            flag.set(true);
        });
        advance(secs(1.0)).await;
        assert!(
            done.get(),
            "advance returned before the woken task finished its work"
        );
    });
}

#[test]
fn advance_zero_returns_once_every_ready_task_has_run() {
    virtual_runner().run(async {
        let start = now();
        let left = Rc::new(Cell::new(3));
        for _ in 0..3 {
            let left = Rc::clone(&left);
            let _detached = create_task(async move {
                for _ in 0..10 {
                    yield_now().await;
                }
                left.set(left.get() - 1);
            });
        }
        advance(Duration::ZERO).await;
        assert_eq!(left.get(), 0);
        assert_eq!(now(), start, "no time passed");
    });
}

#[test]
fn with_auto_advance_on_advance_takes_the_same_steps_as_the_loop_would() {
    virtual_runner().run(async {
        let start = now();
        let ticks = ticker(secs(1.0));
        advance(secs(2.5)).await;
        assert_eq!((ticks.get(), now() - start), (2, secs(2.5)));
    });
}

#[test]
fn the_auto_advance_switch_stays_with_the_runners_clock_across_runs() {
    let mut runner = virtual_runner();
    runner.clock().set_auto_advance(false);
    assert!(!runner.run(async { auto_advance() }));
    let start = runner.clock().now();
    runner.run(advance(secs(2.0)));
    assert_eq!(runner.clock().now() - start, secs(2.0));
    runner.run(async { set_auto_advance(true) });
    assert!(runner.clock().auto_advance());
}

#[test]
fn a_remote_wake_with_auto_advance_off_is_served_without_moving_the_clock() {
    virtual_runner().run(async {
        set_auto_advance(false);
        let start = now();
        let _ticks = ticker(secs(10.0)); // a timer only `advance` could reach
        let handle = looplet::handle();
        let thread = std::thread::spawn(move || handle.spawn(async { 7 }));
        let remote = loop {
            // Joining blocks the loop; wait on the loop until the thread has submitted.
            if thread.is_finished() {
                break thread.join().unwrap();
            }
            yield_now().await;
        };
        assert_eq!(remote.await.unwrap(), 7);
        assert_eq!(now(), start);
        assert!(!auto_advance(), "no fallback: something did wake the loop");
    });
}

#[test]
fn an_idle_loop_that_nothing_can_wake_switches_auto_advance_back_on() {
    // Takes one second of real time: the grace the loop gives other threads and I/O.
    virtual_runner().run(async {
        set_auto_advance(false);
        let start = now();
        sleep(secs(5.0)).await; // nothing will ever advance the clock: a stall
        assert_eq!(now() - start, secs(5.0));
        assert!(auto_advance(), "the loop fell back to auto-advance");
    });
}

fn panic_message(run: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(run)).expect_err("it did not panic");
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload.downcast_ref::<&str>().unwrap().to_string(),
    }
}

#[test]
fn advance_on_a_real_clock_panics_naming_the_virtual_clock() {
    let message = panic_message(|| {
        Runner::builder()
            .virtual_clock(false)
            .build()
            .run(advance(secs(1.0)))
    });
    assert!(
        message.contains("looplet::advance needs the virtual clock"),
        "{message}"
    );
    assert!(message.contains("virtual_clock(true)"), "{message}");
}

#[test]
fn switching_auto_advance_on_a_real_clock_panics_naming_the_virtual_clock() {
    let message = panic_message(|| {
        Runner::builder()
            .virtual_clock(false)
            .build()
            .run(async { set_auto_advance(false) })
    });
    assert!(message.contains("virtual_clock(true)"), "{message}");
    assert!(!Runner::builder()
        .virtual_clock(false)
        .build()
        .clock()
        .auto_advance());
}

#[test]
fn clock_controls_with_no_loop_running_panic_naming_run() {
    let message = panic_message(|| set_auto_advance(false));
    assert!(message.contains("looplet::run"), "{message}");
    let mut unpolled = std::pin::pin!(advance(secs(1.0))); // lazy: making it is fine
    let message = panic_message(|| {
        let waker = std::task::Waker::noop();
        let _ = unpolled
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker));
    });
    assert!(
        message.contains("looplet::advance needs a running"),
        "{message}"
    );
}
