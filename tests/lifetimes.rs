//! Lifetimes: wakers, `Task` handles and `Handle`s that outlive their loop; a loop dropped
//! while other threads keep waking its tasks; a runner dropped inside another loop; tasks
//! that drop their own handle, cancel themselves, or spawn while being cancelled; done
//! callbacks that spawn or cancel other tasks, or panic.

mod support;

use std::cell::{Cell, RefCell};
use std::future::{pending, poll_fn};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use looplet::{create_task, sleep, stats, yield_now, Runner, Task};
use support::{hush_deliberate_panics, virtual_runner, within, Trace, DELIBERATE, LIMIT};

/// Runs `f` when dropped: lets a test act from inside a future's `Drop`.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

#[test]
fn a_waker_from_a_dropped_loop_wakes_nothing_on_a_new_loop_whose_task_has_the_same_id() {
    within(LIMIT, || {
        let old_waker = {
            let mut first = virtual_runner();
            first.run(async { create_task(poll_fn(|cx| Poll::Ready(cx.waker().clone()))).await })
        }
        .unwrap();

        let polls = Rc::new(Cell::new(0));
        let counter = polls.clone();
        let mut second = virtual_runner();
        second.run(async move {
            // Task-1 again, in slot 0 again: the same id as the old waker's task.
            let task = create_task(poll_fn(move |_| {
                counter.set(counter.get() + 1);
                Poll::<()>::Pending
            }));
            yield_now().await;
            old_waker.wake_by_ref();
            let from_thread = old_waker.clone();
            std::thread::spawn(move || from_thread.wake())
                .join()
                .unwrap();
            yield_now().await;
            yield_now().await;
            assert_eq!(task.id().number(), 1);
            task.cancel();
        });
        assert_eq!(
            polls.get(),
            1,
            "the old loop's waker reached the new loop's task"
        );
    });
}

#[test]
fn task_handles_outlive_their_loop_and_report_how_each_task_ended() {
    within(LIMIT, || {
        let mut runner = virtual_runner();
        let (finished, pending_one, awaited_later) = runner.run(async {
            let finished = create_task(async { 7 });
            let pending_one = create_task(pending::<u8>());
            let awaited_later = create_task(sleep(Duration::from_secs(60)));
            yield_now().await;
            (finished, pending_one, awaited_later)
        });
        drop(runner); // cancels what is left

        assert!(finished.is_done() && !finished.is_cancelled());
        assert_eq!(finished.result().unwrap(), 7);
        assert!(!finished.cancel(), "a finished task cannot be cancelled");

        assert!(pending_one.is_cancelled());
        assert!(!pending_one.cancel());
        assert!(pending_one.result().unwrap_err().is_cancelled());

        // A callback added once the loop is gone still runs (there is nobody to defer to).
        let seen = Rc::new(Cell::new(false));
        let flag = seen.clone();
        awaited_later.add_done_callback(move |task| flag.set(task.is_cancelled()));
        assert!(seen.get());

        // And the handle can be awaited on another loop.
        let error = virtual_runner().run(awaited_later).unwrap_err();
        assert!(error.is_cancelled());
    });
}

#[test]
fn a_handle_that_outlives_its_loop_reports_cancellation_on_any_thread() {
    within(LIMIT, || {
        let runner = Runner::new();
        let handle = runner.handle();
        drop(runner);
        assert!(handle.is_closed());
        let error = std::thread::spawn(move || handle.spawn(async { 1 }).join())
            .join()
            .unwrap()
            .unwrap_err();
        assert!(error.is_cancelled());
    });
}

#[test]
fn a_loop_dropped_while_four_threads_keep_waking_its_tasks_is_harmless() {
    const THREADS: usize = 4;
    within(LIMIT, || {
        let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let wakes = Arc::new(AtomicUsize::new(0));
        let mut runner = Runner::new();
        let handle = runner.handle();
        let sink = wakers.clone();
        runner.run(async move {
            for _ in 0..100 {
                let sink = sink.clone();
                drop(create_task(poll_fn(move |cx| {
                    sink.lock().unwrap().push(cx.waker().clone());
                    Poll::<()>::Pending
                })));
            }
            yield_now().await;
        });
        // Wake the loop's tasks from four threads (between runs: while a run is going on,
        // non-stop remote wakes starve the loop, see executor/tests/faults_fairness.rs).
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (wakers, stop, wakes) = (wakers.clone(), stop.clone(), wakes.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let wakers = wakers.lock().unwrap().clone();
                        for waker in &wakers {
                            waker.wake_by_ref();
                        }
                        wakes.fetch_add(wakers.len(), Ordering::SeqCst);
                    }
                })
            })
            .collect();
        let wait_for = |count: usize| {
            while wakes.load(Ordering::SeqCst) < count {
                std::thread::yield_now();
            }
        };
        wait_for(2_000);
        drop(runner); // closes the loop under the threads' feet
        let at_drop = wakes.load(Ordering::SeqCst);
        wait_for(at_drop + 20_000);
        // Drop half the wakers while the threads still wake the other half.
        let half: Vec<Waker> = wakers.lock().unwrap().drain(..50).collect();
        drop(half);
        wait_for(wakes.load(Ordering::SeqCst) + 10_000);
        stop.store(true, Ordering::SeqCst);
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(handle.is_closed());
        assert_eq!(wakers.lock().unwrap().len(), 50);
    });
}

#[test]
fn a_runner_dropped_inside_another_loop_cancels_its_own_tasks_and_leaves_the_other_alone() {
    within(LIMIT, || {
        let trace = Trace::new();
        let mut inner = virtual_runner();
        let log = trace.clone();
        inner.run(async move {
            for i in 0..3 {
                let log = log.clone();
                let task = create_task(async move { sleep(Duration::from_secs(10 + i)).await });
                task.add_done_callback(move |task| {
                    log.push(format!("inner task {i} cancelled: {}", task.is_cancelled()))
                });
            }
            yield_now().await; // the three tasks sleep in the inner loop's timer heap
        });

        let mut outer = virtual_runner();
        let start = outer.clock().now();
        let log = trace.clone();
        let outer_stats = outer.run(async move {
            let sleeper = create_task(async { sleep(Duration::from_secs(2)).await });
            yield_now().await;
            drop(inner); // closes the inner loop from inside this one
            log.push("inner dropped");
            sleeper.await.unwrap();
            stats()
        });
        assert_eq!(
            trace.events(),
            [
                "inner task 0 cancelled: true",
                "inner task 1 cancelled: true",
                "inner task 2 cancelled: true",
                "inner dropped",
            ]
        );
        assert_eq!(outer.clock().now() - start, Duration::from_secs(2));
        assert_eq!(
            outer_stats.timers.set, 1,
            "the outer loop saw only its own timer"
        );
        assert_eq!(outer_stats.timers.cancelled, 0);
    });
}

#[test]
fn a_task_that_drops_its_own_handle_runs_to_completion() {
    within(LIMIT, || {
        let own: Rc<RefCell<Option<Task<()>>>> = Rc::default();
        let slot = own.clone();
        let steps = Rc::new(Cell::new(0));
        let counter = steps.clone();
        let mut runner = virtual_runner();
        runner.run(async move {
            let task = create_task(async move {
                yield_now().await;
                drop(slot.borrow_mut().take()); // detach itself
                counter.set(1);
                sleep(Duration::from_secs(1)).await;
                counter.set(2);
            });
            *own.borrow_mut() = Some(task);
            sleep(Duration::from_secs(5)).await;
            assert!(own.borrow().is_none());
        });
        assert_eq!(steps.get(), 2);
        assert_eq!(runner.stats().live_tasks, 0);
    });
}

#[test]
fn a_task_that_cancels_itself_runs_on_to_its_next_suspension_and_no_further() {
    within(LIMIT, || {
        let trace = Trace::new();
        let log = trace.clone();
        let own: Rc<RefCell<Option<Task<()>>>> = Rc::default();
        let slot = own.clone();
        let log_callback = trace.clone();
        virtual_runner().run(async move {
            let task = create_task(async move {
                yield_now().await;
                let accepted = slot.borrow().as_ref().map(|own| own.cancel());
                log.push(format!("cancel accepted: {accepted:?}"));
                log.push("still running until the next await");
                sleep(Duration::from_secs(1)).await;
                log.push("after the await (must not happen)");
            });
            task.add_done_callback(move |task| {
                log_callback.push(format!("callback: cancelled {}", task.is_cancelled()))
            });
            *own.borrow_mut() = Some(task);
            sleep(Duration::from_secs(2)).await;
            let task = own.borrow_mut().take().unwrap();
            assert!(task.await.unwrap_err().is_cancelled());
        });
        assert_eq!(
            trace.events(),
            [
                "cancel accepted: Some(true)",
                "still running until the next await",
                "callback: cancelled true",
            ]
        );
    });
}

#[test]
fn a_task_that_spawns_from_its_drop_while_being_cancelled_starts_a_task_that_runs() {
    within(LIMIT, || {
        let trace = Trace::new();
        let log = trace.clone();
        let mut runner = virtual_runner();
        runner.run(async move {
            let doomed = create_task(async move {
                let log = log.clone();
                let _spawn_on_drop = OnDrop(move || {
                    let log = log.clone();
                    log.push("dropping: spawning a successor");
                    drop(create_task(async move {
                        sleep(Duration::from_secs(1)).await;
                        log.push("successor finished");
                    }));
                });
                pending::<()>().await;
            });
            yield_now().await;
            doomed.cancel();
            assert!(doomed.await.unwrap_err().is_cancelled());
            sleep(Duration::from_secs(2)).await;
        });
        assert_eq!(
            trace.events(),
            ["dropping: spawning a successor", "successor finished"]
        );
        assert_eq!(runner.stats().live_tasks, 0);
    });
}

#[test]
fn a_task_that_spawns_from_its_drop_during_close_gets_a_cancelled_task_whose_callback_runs() {
    within(LIMIT, || {
        let trace = Trace::new();
        let log = trace.clone();
        let mut runner = virtual_runner();
        runner.run(async move {
            drop(create_task(async move {
                let _spawn_on_drop = OnDrop(move || {
                    let log = log.clone();
                    let late = create_task(async { unreachable!("created while closing") });
                    late.add_done_callback(move |late| {
                        log.push(format!("late task cancelled: {}", late.is_cancelled()))
                    });
                });
                pending::<()>().await;
            }));
            yield_now().await;
        });
        runner.close();
        assert_eq!(trace.events(), ["late task cancelled: true"]);
        assert_eq!(runner.stats().live_tasks, 0);
    });
}

#[test]
fn done_callbacks_can_spawn_new_tasks_and_cancel_sleeping_ones() {
    within(LIMIT, || {
        let trace = Trace::new();
        let mut runner = virtual_runner();
        let start = runner.clock().now();
        let log = trace.clone();
        runner.run(async move {
            let sleeper = create_task({
                let log = log.clone();
                async move {
                    sleep(Duration::from_secs(10)).await;
                    log.push("sleeper woke (must not happen)");
                }
            });
            let sleeper = Rc::new(sleeper);
            let first = create_task(async { sleep(Duration::from_secs(1)).await });
            let (log2, victim) = (log.clone(), sleeper.clone());
            first.add_done_callback(move |_| {
                log2.push(format!("callback cancels the sleeper: {}", victim.cancel()));
                let log3 = log2.clone();
                drop(create_task(async move {
                    sleep(Duration::from_secs(1)).await;
                    log3.push("task spawned by the callback finished");
                }));
            });
            first.await.unwrap();
            let sleeper = Rc::try_unwrap(sleeper).expect("the callback has run");
            assert!(sleeper.await.unwrap_err().is_cancelled());
            sleep(Duration::from_secs(5)).await;
        });
        assert_eq!(
            trace.events(),
            [
                "callback cancels the sleeper: true",
                "task spawned by the callback finished",
            ]
        );
        assert_eq!(runner.clock().now() - start, Duration::from_secs(6));
        assert_eq!(runner.stats().timers.live, 0);
    });
}

#[test]
fn a_panicking_done_callback_is_reported_and_the_loop_and_later_callbacks_go_on() {
    hush_deliberate_panics();
    within(LIMIT, || {
        let trace = Trace::new();
        let log = trace.clone();
        let mut runner = virtual_runner();
        let after = runner.run(async move {
            let task = create_task(async { 1 });
            task.add_done_callback(|_| panic!("{DELIBERATE} in a done callback"));
            let log2 = log.clone();
            task.add_done_callback(move |task| {
                log2.push(format!("second callback: {}", task.is_done()))
            });
            task.await.unwrap();
            // Panics in callbacks during close are contained too.
            let left = create_task(pending::<()>());
            left.add_done_callback(|_| panic!("{DELIBERATE} in a callback at close"));
            let log3 = log.clone();
            left.add_done_callback(move |left| {
                log3.push(format!("close callback: cancelled {}", left.is_cancelled()))
            });
            drop(left);
            create_task(async { 2 }).await.unwrap()
        });
        assert_eq!(after, 2, "the loop went on after the panic");
        runner.close();
        assert_eq!(
            trace.events(),
            ["second callback: true", "close callback: cancelled true"]
        );
    });
}
