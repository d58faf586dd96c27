//! Synchronisation primitives from the ecosystem run unchanged on looplet: `event-listener`
//! (notified from a task and from another thread), `async-lock`'s `Mutex`, `Semaphore` and
//! `RwLock` under contention from 100 tasks, and `tokio::sync`, which needs no tokio runtime.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use async_lock::{Mutex, RwLock, Semaphore};
use event_listener::Event;
use futures::FutureExt;
use looplet::{create_task, sleep, yield_now, Runner};
use support::{virtual_runner, within, LIMIT};

/// Counts how many tasks are inside a section right now, and the most there ever were.
#[derive(Clone, Default)]
struct Occupancy {
    now: Rc<Cell<usize>>,
    most: Rc<Cell<usize>>,
}

impl Occupancy {
    fn enter(&self) -> usize {
        self.now.set(self.now.get() + 1);
        self.most.set(self.most.get().max(self.now.get()));
        self.now.get()
    }

    fn leave(&self) {
        self.now.set(self.now.get() - 1);
    }
}

#[test]
fn an_event_notifies_exactly_as_many_listening_tasks_as_asked() {
    within(LIMIT, || {
        let (after_three, after_all) = virtual_runner().run(async {
            let event = Rc::new(Event::new());
            let woken = Rc::new(Cell::new(0));
            let listeners: Vec<_> = (0..10)
                .map(|_| {
                    let (event, woken) = (event.clone(), woken.clone());
                    create_task(async move {
                        event.listen().await;
                        woken.set(woken.get() + 1);
                    })
                })
                .collect();
            yield_now().await; // all ten are listening
            event.notify(3);
            yield_now().await;
            yield_now().await;
            let after_three = woken.get();
            event.notify(usize::MAX);
            for listener in listeners {
                listener.await.unwrap();
            }
            (after_three, woken.get())
        });
        assert_eq!(after_three, 3);
        assert_eq!(after_all, 10);
    });
}

#[test]
fn an_event_notified_from_another_thread_wakes_the_parked_loop() {
    let remote_wakes = within(Duration::from_secs(20), || {
        let mut runner = Runner::new();
        runner.run(async {
            let event = Arc::new(Event::new());
            let mut listener = event.listen();
            let (registered, wait_registered) = std::sync::mpsc::channel::<()>();
            let notifier = event.clone();
            let thread = std::thread::spawn(move || {
                // Notify only once the loop waits on the listener, so the wake must come
                // from this thread through the remote queue.
                wait_registered.recv().unwrap();
                assert_eq!(notifier.notify(1), 1);
            });
            std::future::poll_fn(|cx| {
                let poll = listener.poll_unpin(cx);
                if poll.is_pending() {
                    let _ = registered.send(());
                }
                poll
            })
            .await;
            thread.join().unwrap();
        });
        runner.stats().remote_wakes
    });
    assert!(remote_wakes >= 1, "the notification woke the loop remotely");
}

#[test]
fn an_async_lock_mutex_serialises_a_hundred_tasks_that_suspend_inside_it() {
    within(LIMIT, || {
        const TASKS: usize = 100;
        const ROUNDS: usize = 5;
        let inside = Occupancy::default();
        let (total, start, end, most_inside) = {
            let mut runner = virtual_runner();
            let start = runner.clock().now();
            let probe = inside.clone();
            let total = runner.run(async move {
                let counter = Rc::new(Mutex::new(0usize));
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let (counter, inside) = (counter.clone(), probe.clone());
                        create_task(async move {
                            for _ in 0..ROUNDS {
                                let mut guard = counter.lock().await;
                                inside.enter();
                                let seen = *guard;
                                // Suspend while holding the lock: a read-modify-write that would
                                // lose updates if anyone else got in.
                                sleep(Duration::from_millis(1)).await;
                                *guard = seen + 1;
                                inside.leave();
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                let total = *counter.lock().await;
                total
            });
            (total, start, runner.clock().now(), inside.most.get())
        };
        assert_eq!(total, TASKS * ROUNDS, "no update was lost");
        assert_eq!(most_inside, 1, "the mutex let two tasks in at once");
        // One millisecond per critical section, one after the other.
        assert_eq!(end - start, Duration::from_millis((TASKS * ROUNDS) as u64));
    });
}

#[test]
fn an_async_lock_semaphore_admits_exactly_its_permits_out_of_a_hundred_tasks() {
    within(LIMIT, || {
        const PERMITS: usize = 5;
        const TASKS: usize = 100;
        let inside = Occupancy::default();
        let mut runner = virtual_runner();
        let start = runner.clock().now();
        let probe = inside.clone();
        runner.run(async move {
            let semaphore = Rc::new(Semaphore::new(PERMITS));
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (semaphore, inside) = (semaphore.clone(), probe.clone());
                    create_task(async move {
                        let _permit = semaphore.acquire().await;
                        inside.enter();
                        sleep(Duration::from_millis(10)).await;
                        inside.leave();
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        assert_eq!(inside.most.get(), PERMITS);
        assert_eq!(inside.now.get(), 0);
        // 100 tasks, 5 at a time, 10 ms each: 20 waves.
        assert_eq!(
            runner.clock().now() - start,
            Duration::from_millis(10 * (TASKS / PERMITS) as u64)
        );
    });
}

/// Yields `times` times: lets every other ready task run that often.
async fn yield_times(times: usize) {
    for _ in 0..times {
        yield_now().await;
    }
}

#[test]
fn an_async_lock_rwlock_shares_readers_and_excludes_writers_among_a_hundred_tasks() {
    // Holders suspend with yields, not virtual sleeps: while a writer holds or awaits the
    // lock, async-lock's waiting readers keep re-notifying each other, so the loop is never
    // idle and a virtual clock would never advance (see the next test for a real clock).
    const TASKS: usize = 100;
    let final_value = within(Duration::from_secs(30), move || {
        let readers = Occupancy::default();
        let writers = Occupancy::default();
        let violations = Rc::new(Cell::new(0));
        let (probe_r, probe_w, probe_v) = (readers.clone(), writers.clone(), violations.clone());
        virtual_runner().run(async move {
            let lock = Rc::new(RwLock::new(0usize));
            let tasks: Vec<_> = (0..TASKS)
                .map(|i| {
                    let (lock, readers, writers, violations) = (
                        lock.clone(),
                        probe_r.clone(),
                        probe_w.clone(),
                        probe_v.clone(),
                    );
                    create_task(async move {
                        if i % 10 == 0 {
                            let mut value = lock.write().await;
                            if writers.enter() > 1 || readers.now.get() > 0 {
                                violations.set(violations.get() + 1);
                            }
                            yield_times(3).await;
                            *value += 1;
                            writers.leave();
                        } else {
                            let _value = lock.read().await;
                            readers.enter();
                            if writers.now.get() > 0 {
                                violations.set(violations.get() + 1);
                            }
                            yield_times(2).await;
                            readers.leave();
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            let value = *lock.read().await;
            (
                value,
                violations.get(),
                writers.most.get(),
                readers.most.get(),
            )
        })
    });
    let (value, violations, most_writers, most_readers) = final_value;
    assert_eq!(violations, 0, "a writer overlapped someone");
    assert_eq!(value, TASKS / 10, "every writer wrote once");
    assert_eq!(most_writers, 1);
    assert!(
        most_readers > 1,
        "readers shared the lock (most at once: {most_readers})"
    );
}

#[test]
fn an_async_lock_rwlock_writer_sleeping_on_the_real_clock_lets_waiting_readers_through() {
    // The case the virtual clock cannot run (waiting readers keep the loop busy): on the
    // real clock the writer's sleep ends and every reader gets in.
    let got_in = within(Duration::from_secs(30), || {
        looplet::run(async {
            let lock = Rc::new(RwLock::new(0u32));
            let writer = create_task({
                let lock = lock.clone();
                async move {
                    let mut value = lock.write().await;
                    sleep(Duration::from_millis(2)).await;
                    *value = 7;
                }
            });
            yield_now().await; // the writer holds the lock
            let readers: Vec<_> = (0..10)
                .map(|_| {
                    let lock = lock.clone();
                    create_task(async move { *lock.read().await })
                })
                .collect();
            writer.await.unwrap();
            let mut seen = Vec::new();
            for reader in readers {
                seen.push(reader.await.unwrap());
            }
            seen
        })
    });
    assert_eq!(got_in, vec![7; 10], "every reader saw the writer's value");
}

#[test]
fn tokio_sync_primitives_work_on_a_looplet_loop_without_a_tokio_runtime() {
    within(LIMIT, || {
        let (received, notified, permits_seen) = virtual_runner().run(async {
            // mpsc with backpressure.
            let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(2);
            let producer = create_task(async move {
                for i in 0..20 {
                    tx.send(i).await.unwrap();
                }
            });
            let mut received = Vec::new();
            while let Some(value) = rx.recv().await {
                received.push(value);
            }
            producer.await.unwrap();

            // Notify: a waiter woken by another task.
            let notify = Rc::new(tokio::sync::Notify::new());
            let waiter = create_task({
                let notify = notify.clone();
                async move {
                    notify.notified().await;
                    "notified"
                }
            });
            yield_now().await;
            notify.notify_one();
            let notified = waiter.await.unwrap();

            // Semaphore: the third acquire waits until a permit comes back.
            let semaphore = Arc::new(tokio::sync::Semaphore::new(2));
            let a = semaphore.clone().acquire_owned().await.unwrap();
            let _b = semaphore.clone().acquire_owned().await.unwrap();
            let third = create_task({
                let semaphore = semaphore.clone();
                async move { semaphore.acquire_owned().await.is_ok() }
            });
            yield_now().await;
            let blocked = !third.is_done();
            drop(a);
            let got = third.await.unwrap();
            (received, notified, blocked && got)
        });
        assert_eq!(received, (0..20).collect::<Vec<_>>());
        assert_eq!(notified, "notified");
        assert!(
            permits_seen,
            "the third acquire waited, then got the returned permit"
        );
    });
}
