//! TaskSet holds background tasks until they end — whatever ends them — and can cancel or
//! wait for all of them. Every test runs on the virtual clock.

use std::cell::{Cell, RefCell};
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use looplet::{create_task, sleep, yield_now, Runner, TaskSet};

fn virtual_runner() -> Runner {
    Runner::builder().virtual_clock(true).build()
}

#[test]
fn a_task_set_removes_each_task_when_it_finishes() {
    let mut runner = virtual_runner();
    let set = TaskSet::new();
    let start = runner.clock().now();
    runner.run(async {
        for seconds in [3, 1, 2] {
            set.spawn(sleep(Duration::from_secs(seconds)));
        }
        assert_eq!(set.len(), 3);
        sleep(Duration::from_millis(1500)).await;
        assert_eq!(set.len(), 2);
        sleep(Duration::from_secs(1)).await;
        assert_eq!(set.len(), 1);
        set.join_all().await;
    });
    assert!(set.is_empty());
    assert_eq!(runner.clock().now() - start, Duration::from_secs(3));
    assert_eq!(runner.stats().live_tasks, 0);
}

#[test]
fn a_task_set_survives_panicking_tasks() {
    let mut runner = virtual_runner();
    let set = TaskSet::new();
    let finished = Rc::new(Cell::new(false));
    let flag = finished.clone();
    runner.run(async {
        set.spawn(async {
            yield_now().await;
            panic!("background failure");
        });
        set.spawn(async move {
            sleep(Duration::from_secs(1)).await;
            flag.set(true);
        });
        yield_now().await;
        yield_now().await;
        assert_eq!(set.len(), 1, "the panicked task left the set");
        set.join_all().await;
    });
    assert!(finished.get(), "the other task ran on");
    assert!(set.is_empty());
}

#[test]
fn a_task_set_empties_when_the_runner_closes_and_callbacks_see_cancellation() {
    let set = TaskSet::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut runner = virtual_runner();
    runner.run(async {
        for seconds in 1..=4 {
            let task = create_task(sleep(Duration::from_secs(seconds)));
            let log = seen.clone();
            task.add_done_callback(move |task| {
                log.borrow_mut()
                    .push((task.name().into_owned(), task.is_cancelled()))
            });
            set.add(task);
        }
    });
    runner.run(async { sleep(Duration::from_secs(2)).await });
    assert_eq!(set.len(), 2);
    let names = set.names();
    runner.close();
    assert!(set.is_empty());
    let seen = seen.borrow();
    assert_eq!(seen.len(), 4);
    let cancelled: Vec<&str> = seen
        .iter()
        .filter(|(_, cancelled)| *cancelled)
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        cancelled, names,
        "the two tasks left at close were cancelled"
    );
    assert!(seen[..2].iter().all(|(_, cancelled)| !cancelled));
}

#[test]
fn join_all_waits_for_tasks_added_meanwhile() {
    let mut runner = virtual_runner();
    let set = TaskSet::new();
    let start = runner.clock().now();
    runner.run(async {
        let inner = set.clone();
        set.spawn(async move {
            sleep(Duration::from_secs(1)).await;
            inner.spawn(sleep(Duration::from_secs(2)));
        });
        set.join_all().await;
    });
    assert!(set.is_empty());
    assert_eq!(runner.clock().now() - start, Duration::from_secs(3));
}

#[test]
fn join_all_on_an_empty_set_is_ready_at_once() {
    let mut runner = virtual_runner();
    let set = TaskSet::<()>::new();
    runner.run(set.join_all());
    assert!(set.is_empty());
}

#[test]
fn cancel_all_cancels_every_task_and_they_leave_the_set() {
    let mut runner = virtual_runner();
    let set = TaskSet::new();
    let resumed = Rc::new(Cell::new(0));
    runner.run(async {
        for _ in 0..3 {
            let resumed = resumed.clone();
            set.spawn(async move {
                pending::<()>().await;
                resumed.set(resumed.get() + 1);
            });
        }
        yield_now().await;
        assert_eq!(set.cancel_all(), 3);
        assert_eq!(
            set.len(),
            3,
            "cancellation is applied at the loop's next turn"
        );
        set.join_all().await;
        assert!(set.is_empty());
        assert_eq!(set.cancel_all(), 0);
    });
    assert_eq!(resumed.get(), 0);
    assert_eq!(runner.stats().live_tasks, 0);
}

#[test]
fn ids_and_names_list_the_live_tasks_oldest_first() {
    let mut runner = virtual_runner();
    let set = TaskSet::new();
    runner.run(async {
        let first = set.spawn(sleep(Duration::from_secs(2))).id();
        let second = set
            .add(
                looplet::TaskBuilder::new()
                    .name("second")
                    .spawn(sleep(Duration::from_secs(1))),
            )
            .id();
        assert_eq!(set.ids(), [first, second]);
        assert_eq!(set.names(), [first.to_string(), "second".to_string()]);
        assert!(set.contains(second));
        sleep(Duration::from_secs(1)).await;
        yield_now().await;
        assert!(!set.contains(second));
        assert_eq!(set.ids(), [first]);
        set.cancel_all();
    });
}

#[test]
fn adding_a_task_that_is_already_done_leaves_the_set_at_the_next_turn() {
    let mut runner = virtual_runner();
    let set = TaskSet::new();
    runner.run(async {
        let task = create_task(async { 5 });
        yield_now().await;
        assert!(task.is_done());
        set.add(task);
        assert_eq!(set.len(), 1);
        yield_now().await;
        assert!(set.is_empty());
    });
}

#[test]
fn dropping_the_set_detaches_its_tasks() {
    let mut runner = virtual_runner();
    let finished = Rc::new(Cell::new(false));
    let flag = finished.clone();
    runner.run(async move {
        let set = TaskSet::new();
        set.spawn(async move {
            sleep(Duration::from_secs(1)).await;
            flag.set(true);
        });
        drop(set);
        sleep(Duration::from_secs(2)).await;
    });
    assert!(finished.get());
}

#[test]
fn join_next_gives_outcomes_in_the_order_the_tasks_finish() {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let order = runner.run(async {
        let set = TaskSet::new();
        for seconds in [3_u64, 1, 2] {
            set.spawn(async move {
                sleep(Duration::from_secs(seconds)).await;
                seconds
            });
        }
        let mut order = Vec::new();
        while let Some(outcome) = set.join_next().await {
            order.push((outcome.unwrap(), looplet::now() - start));
        }
        order
    });
    let secs = Duration::from_secs;
    assert_eq!(order, [(1, secs(1)), (2, secs(2)), (3, secs(3))]);
}

#[test]
fn join_next_hands_back_panics_and_cancellations_as_errors() {
    let mut runner = virtual_runner();
    runner.run(async {
        let set = TaskSet::new();
        set.spawn(async {
            yield_now().await;
            panic!("worker exploded")
        });
        let stuck = set.spawn(pending::<()>());
        let first = set.join_next().await.unwrap().unwrap_err();
        assert_eq!(first.panic_message(), Some("worker exploded"));
        stuck.cancel();
        let second = set.join_next().await.unwrap().unwrap_err();
        assert!(second.is_cancelled());
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn a_workers_err_is_handed_back_not_dropped() {
    let mut runner = virtual_runner();
    runner.run(async {
        let set = TaskSet::new();
        for text in ["1", "x", "3"] {
            set.spawn(async move { text.parse::<u32>() });
        }
        let mut parsed = Vec::new();
        let mut failed = 0;
        while let Some(outcome) = set.join_next().await {
            match outcome.unwrap() {
                Ok(n) => parsed.push(n),
                Err(_) => failed += 1,
            }
        }
        assert_eq!((parsed, failed), (vec![1, 3], 1));
    });
}

#[test]
fn try_join_next_takes_what_has_finished_without_waiting() {
    let mut runner = virtual_runner();
    runner.run(async {
        let set = TaskSet::new();
        set.spawn(async { "quick" });
        set.spawn(async {
            sleep(Duration::from_secs(1)).await;
            "slow"
        });
        assert!(set.try_join_next().is_none(), "nothing has run yet");
        yield_now().await;
        assert_eq!(set.try_join_next().unwrap().unwrap(), "quick");
        assert!(
            set.try_join_next().is_none(),
            "the slow one is still running"
        );
        assert_eq!(set.len(), 1);
        sleep(Duration::from_secs(1)).await;
        assert_eq!(set.try_join_next().unwrap().unwrap(), "slow");
        assert!(set.try_join_next().is_none());
    });
}

#[test]
fn a_task_stays_in_the_set_until_its_done_callback_runs() {
    let mut runner = virtual_runner();
    runner.run(async {
        let set = TaskSet::new();
        let handle = set.spawn(async { 5 });
        assert!(set.contains(handle.id()));
        assert!(set.try_join_next().is_none());
        yield_now().await;
        // Its done callback has run: out of the set, its outcome waiting.
        assert!(!set.contains(handle.id()));
        assert!(set.is_empty());
        assert_eq!(set.join_next().await.unwrap().unwrap(), 5);
    });
}

#[test]
fn join_next_waits_for_tasks_added_meanwhile_and_ends_with_none() {
    let mut runner = virtual_runner();
    let set = TaskSet::new();
    let seen = runner.run(async {
        let inner = set.clone();
        set.spawn(async move {
            sleep(Duration::from_secs(1)).await;
            inner.spawn(async { "second" });
            "first"
        });
        let mut seen = Vec::new();
        while let Some(outcome) = set.join_next().await {
            seen.push(outcome.unwrap());
        }
        seen
    });
    assert_eq!(seen, ["first", "second"]);
}

#[test]
fn the_cancel_handle_from_spawn_cancels_from_another_thread() {
    let mut runner = virtual_runner();
    runner.run(async {
        let set = TaskSet::new();
        let handle = set.spawn(pending::<()>());
        std::thread::spawn(move || handle.cancel()).join().unwrap();
        let outcome = set.join_next().await.unwrap();
        assert!(outcome.unwrap_err().is_cancelled());
    });
}
