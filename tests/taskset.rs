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
    let set = TaskSet::new();
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
        let first = set.spawn(sleep(Duration::from_secs(2)));
        let second = set.add(
            looplet::TaskBuilder::new()
                .name("second")
                .spawn(sleep(Duration::from_secs(1))),
        );
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
