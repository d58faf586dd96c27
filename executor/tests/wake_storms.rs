//! Wake storms: however often and from however many threads a task is woken, it sits in the
//! loop's remote queue at most once, so memory stays bounded by the number of tasks, and the
//! loop goes on running its other work while the storm lasts.

mod support;

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use looplet_executor::{create_task, stats, yield_now, Runner};
use support::{scaled, within};

/// A task that records its waker at every poll and counts its polls; it never finishes.
fn waker_recording_task(polls: Arc<AtomicUsize>, slot: Arc<Mutex<Option<Waker>>>) {
    drop(create_task(poll_fn(move |cx| {
        polls.fetch_add(1, Ordering::SeqCst);
        *slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::<()>::Pending
    })));
}

#[test]
fn a_million_wakes_between_two_runs_queue_the_task_once() {
    let mut runner = Runner::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let slot = Arc::new(Mutex::new(None));
    runner.run({
        let (polls, slot) = (polls.clone(), slot.clone());
        async move {
            waker_recording_task(polls, slot);
            yield_now().await;
        }
    });
    assert_eq!(polls.load(Ordering::SeqCst), 1);
    let waker = slot.lock().unwrap().take().unwrap();
    // No loop runs now, so every wake takes the remote path, even on the loop's thread.
    for _ in 0..scaled(1_000_000) {
        waker.wake_by_ref();
    }
    assert_eq!(runner.stats().remote_queue_len, 1);
    runner.run(yield_now());
    assert_eq!(
        polls.load(Ordering::SeqCst),
        2,
        "one poll for all those wakes"
    );
    let stats = runner.stats();
    assert_eq!(stats.remote_wakes, 1);
    assert_eq!(stats.remote_queue_len, 0);
    // Once it has been taken off the queue, the next wake queues it again.
    waker.wake_by_ref();
    runner.run(yield_now());
    assert_eq!(polls.load(Ordering::SeqCst), 3);
}

#[test]
fn four_threads_storming_sixteen_tasks_never_queue_one_twice_and_the_loop_goes_on() {
    const TASKS: usize = 16;
    const THREADS: usize = 4;
    let (max_queue, ticks, polls) = within(Duration::from_secs(60), || {
        let mut runner = Runner::new();
        let polls = Arc::new(AtomicUsize::new(0));
        let slots: Vec<Arc<Mutex<Option<Waker>>>> =
            (0..TASKS).map(|_| Arc::new(Mutex::new(None))).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let mut storm = Vec::new();
        let (max_queue, ticks) = runner.run(async {
            for slot in &slots {
                waker_recording_task(polls.clone(), slot.clone());
            }
            yield_now().await;
            let wakers: Vec<Waker> = slots
                .iter()
                .map(|slot| slot.lock().unwrap().clone().unwrap())
                .collect();
            for _ in 0..THREADS {
                let (wakers, stop) = (wakers.clone(), stop.clone());
                storm.push(std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        for waker in &wakers {
                            waker.wake_by_ref();
                        }
                    }
                }));
            }
            // The loop keeps running its own work while the storm goes on, and the queue
            // never holds more than one entry per task.
            let mut max_queue = 0;
            let mut ticks = 0;
            // Until the storm has reached the tasks several times, however slowly the
            // threads start.
            while ticks < scaled(2_000) || polls.load(Ordering::SeqCst) < 4 * TASKS {
                max_queue = max_queue.max(stats().remote_queue_len);
                yield_now().await;
                ticks += 1;
            }
            stop.store(true, Ordering::Relaxed);
            (max_queue, ticks)
        });
        for thread in storm {
            thread.join().unwrap();
        }
        (max_queue, ticks, polls.load(Ordering::SeqCst))
    });
    assert!(
        max_queue <= TASKS as u64,
        "{max_queue} entries for {TASKS} tasks"
    );
    assert!(ticks >= scaled(2_000));
    assert!(polls >= 4 * TASKS, "the stormed tasks were polled again");
}
