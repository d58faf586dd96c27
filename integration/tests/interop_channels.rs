//! Channels from the ecosystem run unchanged on looplet: `async-channel` (bounded with
//! backpressure, unbounded from other threads, closing) and `futures-channel` (`mpsc`
//! bounded and unbounded, `oneshot`), including a sender dropped by a looplet cancellation.

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, SinkExt, StreamExt};
use looplet::{create_task, sleep, yield_now, Runner};
use support::{virtual_runner, within, LIMIT};

#[test]
fn a_bounded_async_channel_holds_back_a_fast_sender_and_delivers_in_order() {
    within(LIMIT, || {
        const CAPACITY: usize = 2;
        let mut runner = virtual_runner();
        let start = runner.clock().now();
        let (received, most_in_flight) = runner.run(async {
            let (sender, receiver) = async_channel::bounded::<u32>(CAPACITY);
            let sent = Rc::new(Cell::new(0usize));
            let taken = Rc::new(Cell::new(0usize));
            let most_in_flight = Rc::new(Cell::new(0usize));
            let producer = create_task({
                let (sent, taken, most) = (sent.clone(), taken.clone(), most_in_flight.clone());
                async move {
                    for i in 0..100 {
                        sender.send(i).await.unwrap();
                        sent.set(sent.get() + 1);
                        most.set(most.get().max(sent.get() - taken.get()));
                    }
                }
            });
            let mut received = Vec::new();
            while let Ok(value) = receiver.recv().await {
                taken.set(taken.get() + 1);
                received.push(value);
                // A slow consumer: one message per virtual millisecond.
                sleep(Duration::from_millis(1)).await;
            }
            producer.await.unwrap();
            (received, most_in_flight.get())
        });
        assert_eq!(received, (0..100).collect::<Vec<_>>());
        assert!(
            most_in_flight <= CAPACITY,
            "the sender ran {most_in_flight} messages ahead of a channel of {CAPACITY}"
        );
        assert_eq!(runner.clock().now() - start, Duration::from_millis(100));
    });
}

#[test]
fn closing_an_async_channel_wakes_every_waiting_receiver_and_refuses_senders() {
    within(LIMIT, || {
        let outcomes = virtual_runner().run(async {
            let (sender, receiver) = async_channel::unbounded::<u8>();
            let waiting: Vec<_> = (0..10)
                .map(|_| {
                    let receiver = receiver.clone();
                    create_task(async move { receiver.recv().await.is_err() })
                })
                .collect();
            yield_now().await; // every receiver is now parked in recv()
            assert!(
                sender.close(),
                "the first close reports it closed the channel"
            );
            let refused = sender.send(1).await.is_err();
            let mut closed_seen = 0;
            for task in waiting {
                closed_seen += usize::from(task.await.unwrap());
            }
            (closed_seen, refused)
        });
        assert_eq!(outcomes, (10, true));
    });
}

#[test]
fn an_unbounded_async_channel_carries_every_message_from_four_threads() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 10_000;
    // No assertion on remote wakes: when the senders stay ahead the receiver never waits,
    // and a run with none is correct.
    let (sum, count) = within(Duration::from_secs(60), || {
        Runner::new().run(async {
            let (sender, receiver) = async_channel::unbounded::<u64>();
            let senders: Vec<_> = (0..THREADS)
                .map(|thread| {
                    let sender = sender.clone();
                    std::thread::spawn(move || {
                        for i in 0..PER_THREAD {
                            sender.send_blocking(thread * PER_THREAD + i).unwrap();
                        }
                    })
                })
                .collect();
            drop(sender);
            let (mut sum, mut count) = (0, 0);
            // Ends when the last sender thread drops its sender.
            while let Ok(value) = receiver.recv().await {
                sum += value;
                count += 1;
            }
            for thread in senders {
                thread.join().unwrap();
            }
            (sum, count)
        })
    });
    let n = THREADS * PER_THREAD;
    assert_eq!(count, n);
    assert_eq!(sum, n * (n - 1) / 2);
}

#[test]
fn futures_mpsc_bounded_and_unbounded_channels_round_trip_between_tasks() {
    within(LIMIT, || {
        let (bounded, unbounded) = virtual_runner().run(async {
            let (mut tx, rx) = mpsc::channel::<u32>(4);
            let producer = create_task(async move {
                for i in 0..50 {
                    tx.send(i).await.unwrap();
                }
                // Dropping `tx` ends the stream.
            });
            let bounded: Vec<u32> = rx.collect().await;
            producer.await.unwrap();

            let (utx, urx) = mpsc::unbounded::<u32>();
            let producers: Vec<_> = (0..5)
                .map(|p| {
                    let utx = utx.clone();
                    create_task(async move {
                        for i in 0..10 {
                            utx.unbounded_send(p * 10 + i).unwrap();
                            yield_now().await;
                        }
                    })
                })
                .collect();
            drop(utx);
            let mut unbounded: Vec<u32> = urx.collect().await;
            for producer in producers {
                producer.await.unwrap();
            }
            unbounded.sort_unstable();
            (bounded, unbounded)
        });
        assert_eq!(bounded, (0..50).collect::<Vec<_>>());
        assert_eq!(unbounded, (0..50).collect::<Vec<_>>());
    });
}

#[test]
fn a_futures_mpsc_sender_sees_the_disconnect_when_the_receiving_task_is_cancelled() {
    within(LIMIT, || {
        let disconnected = virtual_runner().run(async {
            let (mut tx, mut rx) = mpsc::channel::<u32>(1);
            let receiver = create_task(async move {
                let first = rx.next().await;
                sleep(Duration::from_secs(60)).await;
                first
            });
            tx.send(1).await.unwrap();
            yield_now().await; // the receiver takes the message and sleeps
            assert!(receiver.cancel());
            assert!(receiver.await.unwrap_err().is_cancelled());
            // The cancelled task's future, and its receiver, are gone.
            tx.send(2).await.unwrap_err().is_disconnected()
        });
        assert!(disconnected);
    });
}

#[test]
fn a_oneshot_whose_sender_is_dropped_by_a_cancellation_reports_canceled() {
    within(LIMIT, || {
        let (canceled, completed) = virtual_runner().run(async {
            let (dropped_tx, dropped_rx) = oneshot::channel::<u32>();
            let (kept_tx, kept_rx) = oneshot::channel::<u32>();
            let doomed = create_task(async move {
                sleep(Duration::from_secs(10)).await;
                let _ = dropped_tx.send(1);
            });
            let finisher = create_task(async move {
                sleep(Duration::from_secs(1)).await;
                let _ = kept_tx.send(2);
            });
            yield_now().await;
            doomed.cancel();
            let canceled = dropped_rx.await.is_err();
            let completed = kept_rx.await.unwrap();
            finisher.await.unwrap();
            (canceled, completed)
        });
        assert!(canceled, "the receiver learns its sender is gone");
        assert_eq!(completed, 2);
    });
}

#[test]
fn a_oneshot_sent_from_another_thread_wakes_the_parked_loop() {
    let (value, remote_wakes) = within(Duration::from_secs(20), || {
        let mut runner = Runner::new();
        let value = runner.run(async {
            let (tx, mut rx) = oneshot::channel::<&'static str>();
            let (registered, wait_registered) = std::sync::mpsc::channel::<()>();
            let thread = std::thread::spawn(move || {
                // Send only once the loop waits on the receiver: the wake must come from
                // this thread, through the remote queue.
                wait_registered.recv().unwrap();
                tx.send("from the thread").unwrap();
            });
            let value = std::future::poll_fn(|cx| {
                let poll = rx.poll_unpin(cx);
                if poll.is_pending() {
                    let _ = registered.send(());
                }
                poll
            })
            .await
            .unwrap();
            thread.join().unwrap();
            value
        });
        (value, runner.stats().remote_wakes)
    });
    assert_eq!(value, "from the thread");
    assert!(
        remote_wakes >= 1,
        "the send woke the loop from the other thread"
    );
}
