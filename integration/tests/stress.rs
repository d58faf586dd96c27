//! Cross-thread load: four threads wake tasks on one loop a quarter of a million times each
//! while the loop also wakes tasks locally, sleeps, and cancels and replaces the woken tasks;
//! every message and every wake is accounted for. And `Handle` submissions from four threads
//! racing the loop's close all resolve, as a value or as a cancellation, none lost or hung.

mod support;

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use futures::channel::mpsc;
use futures::StreamExt;
use looplet::{create_task, sleep, yield_now, Runner, Task};
use support::{scaled, within};

/// Where the sender threads leave messages for one consumer task, and that task's waker.
#[derive(Default)]
struct Inbox {
    state: Mutex<InboxState>,
}

#[derive(Default)]
struct InboxState {
    messages: VecDeque<u64>,
    waker: Option<Waker>,
}

/// What the loop's side has consumed, shared by a consumer and its replacements so that a
/// cancellation cannot lose count.
#[derive(Default)]
struct Tally {
    count: Cell<u64>,
    sum: Cell<u64>,
}

/// Counts a consumer future's drops (once per consumer, whether it finished or was cancelled).
struct DropCount(Rc<Cell<u64>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// A consumer: drains its inbox at every wake; finishes once all senders are done and the
/// inbox is empty. Returns how many messages *this* consumer took.
fn consumer(
    inbox: Arc<Inbox>,
    tally: Rc<Tally>,
    senders_done: Arc<AtomicUsize>,
    senders: usize,
    drops: Rc<Cell<u64>>,
) -> Task<u64> {
    create_task(async move {
        let _count_drop = DropCount(drops);
        let mut mine = 0;
        poll_fn(|cx| {
            // Read `done` before draining: every message pushed before it was set is then
            // visible in the drain below.
            let all_sent = senders_done.load(Ordering::SeqCst) == senders;
            let mut state = inbox.state.lock().unwrap();
            match &state.waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => state.waker = Some(cx.waker().clone()),
            }
            while let Some(message) = state.messages.pop_front() {
                mine += 1;
                tally.count.set(tally.count.get() + 1);
                tally.sum.set(tally.sum.get() + message);
            }
            if all_sent {
                state.waker = None;
                Poll::Ready(mine)
            } else {
                Poll::Pending
            }
        })
        .await
    })
}

#[test]
fn four_threads_waking_tasks_a_million_times_amid_local_wakes_and_cancellations_lose_nothing() {
    const THREADS: usize = 4;
    const CONSUMERS: usize = 16;
    let per_thread = scaled(250_000) as u64;
    let total = THREADS as u64 * per_thread;

    let report = within(Duration::from_secs(90), move || {
        let inboxes: Vec<Arc<Inbox>> = (0..CONSUMERS).map(|_| Arc::default()).collect();
        let senders_done = Arc::new(AtomicUsize::new(0));
        let wakes_sent = Arc::new(AtomicUsize::new(0));

        let mut runner = Runner::new();
        let tally = Rc::new(Tally::default());
        let drops = Rc::new(Cell::new(0u64));
        let spawned_consumers = Rc::new(Cell::new(0u64));
        let cancelled = Rc::new(Cell::new(0u64));
        let pingpong_rounds = Rc::new(Cell::new(0u64));

        let taken_by_survivors = runner.run({
            let (inboxes, senders_done, wakes_sent) =
                (inboxes.clone(), senders_done.clone(), wakes_sent.clone());
            let (tally, drops, spawned, cancelled, rounds) = (
                tally.clone(),
                drops.clone(),
                spawned_consumers.clone(),
                cancelled.clone(),
                pingpong_rounds.clone(),
            );
            async move {
                let start_consumer = |c: usize| {
                    spawned.set(spawned.get() + 1);
                    consumer(
                        inboxes[c].clone(),
                        tally.clone(),
                        senders_done.clone(),
                        THREADS,
                        drops.clone(),
                    )
                };
                let mut consumers: Vec<Task<u64>> = (0..CONSUMERS).map(start_consumer).collect();
                yield_now().await; // every consumer has registered its waker

                let resume = Arc::new(AtomicBool::new(false));
                let threads: Vec<_> = (0..THREADS)
                    .map(|t| {
                        let (inboxes, done, wakes, resume) = (
                            inboxes.clone(),
                            senders_done.clone(),
                            wakes_sent.clone(),
                            resume.clone(),
                        );
                        std::thread::spawn(move || {
                            let mut woke = 0;
                            for i in 0..per_thread {
                                if i == per_thread / 2 {
                                    // Halfway: wait for the loop's round of cancellations.
                                    while !resume.load(Ordering::SeqCst) {
                                        std::thread::yield_now();
                                    }
                                }
                                let message = t as u64 * per_thread + i;
                                let inbox = &inboxes[(i as usize + t) % CONSUMERS];
                                let waker = {
                                    let mut state = inbox.state.lock().unwrap();
                                    state.messages.push_back(message);
                                    state.waker.clone()
                                };
                                if let Some(waker) = waker {
                                    waker.wake();
                                    woke += 1;
                                }
                            }
                            wakes.fetch_add(woke, Ordering::SeqCst);
                            done.fetch_add(1, Ordering::SeqCst);
                        })
                    })
                    .collect();

                // Local wakes: two tasks play ping-pong over local channels the whole time.
                let (to_pong, mut pong_inbox) = mpsc::unbounded::<u64>();
                let (to_ping, mut ping_inbox) = mpsc::unbounded::<u64>();
                let pong = create_task(async move {
                    while let Some(ball) = pong_inbox.next().await {
                        if to_ping.unbounded_send(ball + 1).is_err() {
                            break;
                        }
                    }
                });
                let ping = create_task({
                    let senders_done = senders_done.clone();
                    async move {
                        to_pong.unbounded_send(0).unwrap();
                        while let Some(ball) = ping_inbox.next().await {
                            rounds.set(ball);
                            if senders_done.load(Ordering::SeqCst) == THREADS {
                                break;
                            }
                            to_pong.unbounded_send(ball + 1).unwrap();
                        }
                    }
                });

                // Chaos. Once the first half of the messages is consumed, cancel every consumer
                // and start a replacement (each had taken a share), then let the threads send
                // the second half; meanwhile cancel and replace a consumer every few turns,
                // sleeping a little now and then so the loop also parks.
                let first_half = THREADS as u64 * (per_thread / 2);
                while tally.count.get() < first_half {
                    sleep(Duration::from_micros(100)).await;
                }
                for (victim, consumer) in consumers.iter_mut().enumerate() {
                    if consumer.cancel() {
                        cancelled.set(cancelled.get() + 1);
                    }
                    *consumer = start_consumer(victim);
                }
                resume.store(true, Ordering::SeqCst);
                let mut victim = 0;
                while senders_done.load(Ordering::SeqCst) < THREADS {
                    for _ in 0..3 {
                        yield_now().await;
                    }
                    if consumers[victim].cancel() {
                        cancelled.set(cancelled.get() + 1);
                    }
                    consumers[victim] = start_consumer(victim);
                    victim = (victim + 1) % CONSUMERS;
                    if victim == 0 {
                        sleep(Duration::from_micros(200)).await;
                    }
                }
                for thread in threads {
                    thread.join().unwrap();
                }
                ping.await.unwrap();
                pong.await.unwrap();
                let mut taken = 0;
                for consumer in consumers {
                    taken += consumer.await.unwrap();
                }
                taken
            }
        });
        // Wakes still in flight when `run` returned are drained by the next `run`.
        runner.run(async {});
        let stats = runner.stats();
        let leftover: usize = inboxes
            .iter()
            .map(|inbox| inbox.state.lock().unwrap().messages.len())
            .sum();
        (
            tally.count.get(),
            tally.sum.get(),
            leftover,
            taken_by_survivors,
            drops.get(),
            spawned_consumers.get(),
            cancelled.get(),
            pingpong_rounds.get(),
            wakes_sent.load(Ordering::SeqCst) as u64,
            stats,
        )
    });
    let (count, sum, leftover, survivors, drops, spawned, cancelled, rounds, wakes, stats) = report;

    assert_eq!(count, total, "every message was consumed exactly once");
    assert_eq!(sum, total * (total - 1) / 2, "and none was altered");
    assert_eq!(leftover, 0);
    assert!(
        survivors < total,
        "cancelled consumers had taken their share"
    );
    assert_eq!(
        drops, spawned,
        "every consumer future was dropped exactly once"
    );
    assert!(
        cancelled >= CONSUMERS as u64,
        "every consumer was cancelled mid-stream at least once"
    );
    assert!(rounds > 0, "the local ping-pong ran alongside");
    assert_eq!(wakes, total, "every message came with a wake");
    // A remote wake is counted when it queues its task; wakes of a task already queued
    // (or of a cancelled one) are absorbed.
    assert!(
        stats.remote_wakes > 0 && stats.remote_wakes <= wakes,
        "{} remote wakes counted for {wakes} sent",
        stats.remote_wakes
    );
    assert!(stats.local_wakes > 0);
    assert_eq!(stats.live_tasks, 0);
    assert_eq!(stats.ready_len, 0);
}

#[test]
fn handle_submissions_from_four_threads_racing_the_close_all_resolve() {
    const THREADS: usize = 4;
    let per_thread = scaled(20_000);
    let (values, cancellations) = within(Duration::from_secs(90), move || {
        let mut runner = Runner::new();
        let handle = runner.handle();
        let started = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (handle, started, ran) = (handle.clone(), started.clone(), ran.clone());
                std::thread::spawn(move || {
                    let mut outcomes = Vec::with_capacity(per_thread);
                    for i in 0..per_thread {
                        let ran = ran.clone();
                        outcomes.push(handle.spawn(async move {
                            yield_now().await;
                            if i % 10 == 0 {
                                // Never finishes: only the close can resolve it.
                                std::future::pending::<()>().await;
                            }
                            ran.fetch_add(1, Ordering::SeqCst);
                            i
                        }));
                        if i == per_thread / 4 {
                            started.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    let (mut values, mut cancellations) = (0usize, 0usize);
                    for outcome in outcomes {
                        match outcome.join() {
                            Ok(_) => values += 1,
                            Err(error) if error.is_cancelled() => cancellations += 1,
                            Err(error) => panic!("unexpected outcome: {error}"),
                        }
                    }
                    (values, cancellations)
                })
            })
            .collect();
        // Run until every thread is a quarter through and some work has finished, then close
        // while the threads may still be submitting.
        runner.run(async {
            while started.load(Ordering::SeqCst) < THREADS || ran.load(Ordering::SeqCst) == 0 {
                sleep(Duration::from_micros(100)).await;
            }
        });
        runner.close();
        threads
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .fold((0, 0), |(v, c), (tv, tc)| (v + tv, c + tc))
    });
    assert_eq!(
        values + cancellations,
        THREADS * per_thread,
        "every submission resolved"
    );
    assert!(values > 0, "the loop ran submissions before it closed");
    assert!(
        cancellations >= THREADS * per_thread / 10,
        "the close cancelled at least the submissions that never finish"
    );
}
