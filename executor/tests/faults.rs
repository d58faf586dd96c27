//! Faults inside tasks and the code the loop runs for them: panicking `Drop`s (of a future,
//! of an output), non-string panic payloads, re-entrant `Drop`s that cancel, wake and spawn,
//! a task reading its own handle from inside its poll or its drop, the poll waker used every
//! way a future may use it (also from a scoped thread during the poll), and futures that
//! must never move once polled. Run under valgrind by `.ci/run`.

mod support;

use std::cell::{Cell, RefCell};
use std::future::{pending, poll_fn, Future};
use std::marker::PhantomPinned;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use looplet_executor::{create_task, yield_now, Task};
use looplet_timer::sleep;
use support::{scaled, virtual_runner, within, Trace};

/// How long one test body may run before it counts as hung.
const LIMIT: Duration = Duration::from_secs(60);

/// Runs `f` when dropped.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// Panics when dropped (only when not already panicking).
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

#[test]
fn a_future_whose_drop_panics_when_cancelled_still_ends_cancelled_and_the_loop_goes_on() {
    within(LIMIT, || {
        let (error, after) = virtual_runner().run(async {
            let task = create_task(async {
                let _bomb = PanicOnDrop("drop of a cancelled future");
                pending::<()>().await;
            });
            yield_now().await;
            task.cancel();
            let error = task.await.unwrap_err();
            (error, create_task(async { 2 }).await.unwrap())
        });
        assert!(error.is_cancelled(), "{error}");
        assert_eq!(after, 2);
    });
}

#[test]
fn futures_whose_drop_panics_at_close_do_not_stop_the_close() {
    within(LIMIT, || {
        let trace = Trace::new();
        let mut runner = virtual_runner();
        let log = trace.clone();
        runner.run(async move {
            for i in 0..3 {
                let task = create_task(async {
                    let _bomb = PanicOnDrop("drop at close");
                    pending::<()>().await;
                });
                let log = log.clone();
                task.add_done_callback(move |task| {
                    log.push(format!("{i} cancelled: {}", task.is_cancelled()))
                });
            }
            yield_now().await;
        });
        runner.close();
        assert_eq!(
            trace.events(),
            [
                "0 cancelled: true",
                "1 cancelled: true",
                "2 cancelled: true"
            ]
        );
        assert_eq!(runner.stats().live_tasks, 0);
    });
}

#[test]
fn a_panic_dropping_a_detached_tasks_output_does_not_escape_run() {
    within(LIMIT, || {
        let mut runner = virtual_runner();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            runner.run(async {
                drop(create_task(async { PanicOnDrop("drop of an output") }));
                let other = create_task(async {
                    yield_now().await;
                    5
                });
                other.await.unwrap()
            })
        }));
        assert_eq!(
            outcome.ok(),
            Some(5),
            "run() panicked instead of reporting the output's drop"
        );
    });
}

#[test]
fn a_non_string_panic_payload_comes_back_intact() {
    within(LIMIT, || {
        let error = virtual_runner().run(async {
            create_task(async { std::panic::panic_any(42_u32) })
                .await
                .unwrap_err()
        });
        assert!(error.is_panic());
        assert_eq!(error.panic_message(), None);
        assert_eq!(error.to_string(), "Task-1 panicked");
        assert_eq!(error.into_panic().downcast_ref::<u32>(), Some(&42));
    });
}

#[test]
fn a_drop_that_cancels_wakes_and_spawns_while_its_task_is_cancelled_is_applied_in_order() {
    within(LIMIT, || {
        let trace = Trace::new();
        let log = trace.clone();
        let mut runner = virtual_runner();
        runner.run(async move {
            let sibling = Rc::new(create_task({
                let log = log.clone();
                async move {
                    sleep(Duration::from_secs(5)).await;
                    log.push("sibling woke (must not happen)");
                }
            }));
            let own_waker: Rc<RefCell<Option<Waker>>> = Rc::default();
            let doomed = create_task({
                let (log, sibling, own_waker) = (log.clone(), sibling.clone(), own_waker.clone());
                async move {
                    let waker_slot = own_waker.clone();
                    let _on_drop = OnDrop(move || {
                        // Inside the loop's cancellation of this very task:
                        if let Some(waker) = waker_slot.borrow_mut().take() {
                            waker.wake(); // wake itself: it is already gone, nothing happens
                        }
                        log.push(format!("sibling cancel from drop: {}", sibling.cancel()));
                        let log = log.clone();
                        drop(create_task(
                            async move { log.push("spawned from drop ran") },
                        ));
                    });
                    poll_fn(|cx| {
                        *own_waker.borrow_mut() = Some(cx.waker().clone());
                        Poll::<()>::Pending
                    })
                    .await;
                }
            });
            yield_now().await;
            doomed.cancel();
            assert!(doomed.await.unwrap_err().is_cancelled());
            yield_now().await;
            assert!(sibling.is_cancelled());
        });
        assert_eq!(
            trace.events(),
            ["sibling cancel from drop: true", "spawned from drop ran"]
        );
        assert_eq!(runner.stats().live_tasks, 0);
    });
}

#[test]
fn a_task_reading_its_own_handle_inside_its_poll_and_its_drop_sees_it_not_done() {
    within(LIMIT, || {
        let trace = Trace::new();
        let log = trace.clone();
        virtual_runner().run(async move {
            let own: Rc<RefCell<Option<Task<()>>>> = Rc::default();
            let task = create_task({
                let (own, log) = (own.clone(), log.clone());
                async move {
                    let (own_in_drop, log_in_drop) = (own.clone(), log.clone());
                    let _on_drop = OnDrop(move || {
                        if let Some(task) = own_in_drop.borrow().as_ref() {
                            let error = task.result().unwrap_err();
                            log_in_drop.push(format!("in drop: not done {}", error.is_not_done()));
                            let log = log_in_drop.clone();
                            task.add_done_callback(move |task| {
                                log.push(format!("callback from drop: {}", task.is_cancelled()))
                            });
                        }
                    });
                    yield_now().await;
                    if let Some(task) = own.borrow().as_ref() {
                        let error = task.result().unwrap_err();
                        log.push(format!("in poll: not done {}", error.is_not_done()));
                        assert!(!task.is_done());
                    }
                    pending::<()>().await;
                }
            });
            *own.borrow_mut() = Some(task);
            yield_now().await;
            yield_now().await;
            assert!(own.borrow().as_ref().unwrap().cancel());
            yield_now().await; // the loop applies the cancellation: the drop runs
            let task = own.borrow_mut().take().unwrap();
            assert!(task.await.unwrap_err().is_cancelled());
        });
        assert_eq!(
            trace.events(),
            [
                "in poll: not done true",
                "in drop: not done true",
                "callback from drop: true",
            ]
        );
    });
}

#[test]
fn the_poll_waker_works_every_way_a_future_may_use_it() {
    within(LIMIT, || {
        let polls = Rc::new(Cell::new(0));
        let counter = polls.clone();
        let mut runner = virtual_runner();
        let kept = runner.run(async move {
            let task = create_task(poll_fn(move |cx| {
                counter.set(counter.get() + 1);
                match counter.get() {
                    1 => {
                        // By reference, by clone, clone of a clone, consumed, compared.
                        cx.waker().wake_by_ref();
                        let first = cx.waker().clone();
                        let second = first.clone();
                        assert!(first.will_wake(&second), "clones of one task's waker match");
                        second.wake();
                        drop(first);
                        Poll::Pending
                    }
                    2 => {
                        // From a scoped thread during the poll: by reference and by clone.
                        let waker = cx.waker();
                        let cloned = std::thread::scope(|scope| {
                            scope
                                .spawn(|| {
                                    waker.wake_by_ref();
                                    waker.clone()
                                })
                                .join()
                                .unwrap()
                        });
                        Poll::Ready(cloned)
                    }
                    _ => unreachable!("polled after it finished"),
                }
            }));
            task.await.unwrap()
        });
        // A clone made on another thread outlives the poll, the task and the loop.
        kept.wake_by_ref();
        std::thread::spawn(move || kept.wake()).join().unwrap();
        assert_eq!(polls.get(), 2, "all wakes of one batch gave one more poll");
    });
}

/// A future that must never move once polled: it records its address at the first poll
/// and checks it at every later poll and in its drop.
struct Pinned {
    address: Cell<usize>,
    polls: usize,
    checked: Rc<Cell<usize>>,
    _pin: PhantomPinned,
}

impl Future for Pinned {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let here = &*self as *const Pinned as usize;
        if self.address.get() == 0 {
            self.address.set(here);
        }
        assert_eq!(self.address.get(), here, "the future moved between polls");
        // SAFETY: only a plain counter is changed; nothing is moved out of the pinned value.
        let this = unsafe { self.get_unchecked_mut() };
        this.polls += 1;
        this.checked.set(this.checked.get() + 1);
        if this.polls == 5 {
            return Poll::Ready(here);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let here = self as *const Pinned as usize;
        let first = self.address.get();
        assert!(
            first == 0 || first == here,
            "the future moved before its drop"
        );
        self.checked.set(self.checked.get() + 1);
    }
}

#[test]
fn futures_that_must_not_move_are_polled_and_dropped_in_place_by_hundreds() {
    within(LIMIT, || {
        let n = scaled(500).max(10);
        let checked = Rc::new(Cell::new(0));
        let probe = checked.clone();
        let mut runner = virtual_runner();
        runner.run(async move {
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    create_task(Pinned {
                        address: Cell::new(0),
                        polls: 0,
                        checked: probe.clone(),
                        _pin: PhantomPinned,
                    })
                })
                .collect();
            // Half run to the end, half are cancelled after a couple of polls.
            yield_now().await;
            yield_now().await;
            for (i, task) in tasks.into_iter().enumerate() {
                if i % 2 == 0 {
                    task.cancel();
                } else {
                    assert_ne!(task.await.unwrap(), 0);
                }
            }
            yield_now().await;
        });
        assert_eq!(runner.stats().live_tasks, 0);
        // Every future: at least two checked polls and one checked drop.
        assert!(
            checked.get() >= n * 3,
            "{} checks for {n} futures",
            checked.get()
        );
    });
}

#[test]
fn a_self_referential_async_block_keeps_its_borrows_across_suspensions_and_cancellation() {
    within(LIMIT, || {
        let sums = Rc::new(RefCell::new(Vec::new()));
        let log = sums.clone();
        let mut runner = virtual_runner();
        runner.run(async move {
            let make = |rounds: usize, log: Rc<RefCell<Vec<u64>>>| async move {
                let data: Vec<u64> = (1..=64).collect();
                let window = &data[8..16]; // a borrow of a local, alive across every await
                let mut sum = 0;
                for _ in 0..rounds {
                    sum += window.iter().sum::<u64>();
                    yield_now().await;
                }
                log.borrow_mut().push(sum);
            };
            let finished = create_task(make(3, log.clone()));
            let cancelled = create_task(make(1_000, log.clone()));
            yield_now().await;
            yield_now().await;
            cancelled.cancel();
            finished.await.unwrap();
            assert!(cancelled.await.unwrap_err().is_cancelled());
        });
        assert_eq!(*sums.borrow(), [3 * (9..=16).sum::<u64>()]);
    });
}

/// Returns `value` at its first poll, and panics when dropped afterwards.
struct ReadyThenPanicOnDrop {
    value: Option<u32>,
    _bomb: PanicOnDrop,
}

impl Future for ReadyThenPanicOnDrop {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(self.value.take().unwrap())
    }
}

#[test]
fn a_future_that_panics_when_dropped_after_finishing_keeps_its_value() {
    within(LIMIT, || {
        let value = virtual_runner().run(async {
            let task = create_task(ReadyThenPanicOnDrop {
                value: Some(7),
                _bomb: PanicOnDrop("drop after the value"),
            });
            task.await
        });
        assert_eq!(
            value.unwrap(),
            7,
            "the drop's panic is reported, the value kept"
        );
    });
}
