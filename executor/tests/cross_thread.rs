//! Wakes and work from other threads: the remote queue wakes a parked loop, `Handle`
//! submissions all arrive, and wakers that outlive their task or loop do nothing.

mod support;

use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use looplet_executor::{create_task, handle, run, yield_now, Runner};
use support::within;

#[test]
fn a_wake_from_another_thread_wakes_a_parked_loop() {
    let woken_after = within(Duration::from_secs(20), || {
        run(async {
            let waker_slot: Arc<Mutex<Option<Waker>>> = Arc::default();
            let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (slot, flag) = (waker_slot.clone(), ready.clone());
            let waiter = create_task(poll_fn(move |cx| {
                if flag.load(Ordering::SeqCst) {
                    return Poll::Ready("woken");
                }
                *slot.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            }));
            // Let the waiter register, then wake it from a thread once the loop has
            // nothing else to do and parks (no timers: it parks until the remote wake).
            yield_now().await;
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                ready.store(true, Ordering::SeqCst);
                let waker = waker_slot.lock().unwrap().take().unwrap();
                waker.wake();
            });
            waiter.await.unwrap()
        })
    });
    assert_eq!(woken_after, "woken");
}

#[test]
fn handle_spawns_from_four_threads_all_arrive() {
    const THREADS: usize = 4;
    let per_thread = support::scaled(10_000);
    let total = within(Duration::from_secs(60), move || {
        let mut runner = Runner::new();
        let handle = runner.handle();
        runner.run(async move {
            let submitters: Vec<_> = (0..THREADS)
                .map(|thread| {
                    let handle = handle.clone();
                    std::thread::spawn(move || {
                        let tasks: Vec<_> = (0..per_thread)
                            .map(|i| handle.spawn(async move { thread * per_thread + i }))
                            .collect();
                        tasks
                            .into_iter()
                            .map(|task| task.join().unwrap())
                            .sum::<usize>()
                    })
                })
                .collect();
            // Keep the loop running (and parking) until every submitter is done.
            let mut total = 0;
            for submitter in submitters {
                while !submitter.is_finished() {
                    looplet_timer::sleep(Duration::from_millis(1)).await;
                }
                total += submitter.join().unwrap();
            }
            total
        })
    });
    let n = THREADS * per_thread;
    assert_eq!(total, n * (n - 1) / 2);
}

#[test]
fn a_remote_task_can_be_awaited_on_the_loop_itself() {
    let value = run(async { handle().spawn(async { 6 * 7 }).await.unwrap() });
    assert_eq!(value, 42);
}

#[test]
fn joining_a_remote_task_on_its_own_loop_is_refused_instead_of_deadlocking() {
    let message = run(async {
        let task = handle().spawn(async {});
        let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.join()));
        let payload = refused.unwrap_err();
        payload.downcast_ref::<&str>().unwrap().to_string()
    });
    assert!(message.contains(".await it instead"), "{message}");
}

#[test]
fn work_submitted_after_the_loop_closed_reports_cancellation_instead_of_hanging() {
    let runner = Runner::new();
    let handle = runner.handle();
    drop(runner);
    assert!(handle.is_closed());
    let error = within(Duration::from_secs(10), move || {
        handle.spawn(async { 1 }).join().unwrap_err()
    });
    assert!(error.is_cancelled());
}

#[test]
fn work_pending_when_the_loop_closes_reports_cancellation() {
    let mut runner = Runner::new();
    let handle = runner.handle();
    runner.run(async {});
    // Submitted while no run() is active: it waits in the remote queue, then the loop closes.
    let task = handle.spawn(async { 1 });
    drop(runner);
    assert!(task.join().unwrap_err().is_cancelled());
}

#[test]
fn a_waker_used_after_its_task_finished_does_nothing() {
    let polls = Arc::new(AtomicUsize::new(0));
    let counter = polls.clone();
    let mut runner = Runner::new();
    let kept = runner.run(async move {
        let task = create_task(poll_fn(move |cx| {
            counter.fetch_add(1, Ordering::SeqCst);
            Poll::Ready(cx.waker().clone())
        }));
        let waker = task.await.unwrap();
        // The next task reuses the slot; the stale waker must not reach it.
        let next = create_task(std::future::pending::<()>());
        waker.wake_by_ref();
        yield_now().await;
        yield_now().await;
        drop(next);
        waker
    });
    assert_eq!(polls.load(Ordering::SeqCst), 1);
    kept.wake_by_ref();
    std::thread::spawn(move || kept.wake()).join().unwrap();
    assert_eq!(
        runner.stats().polls,
        2,
        "the pending task was polled once, nothing more"
    );
}

#[test]
fn a_waker_used_after_its_loop_is_gone_does_nothing() {
    let waker = run(async {
        let task = create_task(poll_fn(|cx| Poll::Ready(cx.waker().clone())));
        task.await.unwrap()
    });
    waker.wake_by_ref();
    let from_thread = waker.clone();
    std::thread::spawn(move || from_thread.wake())
        .join()
        .unwrap();
    drop(waker);
}

#[test]
fn wakers_are_send_and_sync_and_handles_are_send_and_clone() {
    fn send_sync<T: Send + Sync>() {}
    fn send_clone<T: Send + Clone>() {}
    send_sync::<Waker>();
    send_clone::<looplet_executor::Handle>();
}

/// Pends once, after cloning its borrowed waker and waking it (by reference and by value)
/// from a scoped thread while the poll is running; returns how often it was polled.
async fn woken_from_a_scoped_thread_during_its_first_poll() -> u32 {
    let mut polls = 0;
    poll_fn(|cx| {
        polls += 1;
        if polls == 1 {
            let waker = cx.waker();
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    let owned = waker.clone();
                    waker.wake_by_ref();
                    owned.wake();
                });
            });
            return Poll::Pending;
        }
        Poll::Ready(())
    })
    .await;
    polls
}

#[test]
fn the_poll_waker_can_be_cloned_and_used_from_a_scoped_thread_during_the_poll() {
    let polls = within(Duration::from_secs(20), || {
        run(woken_from_a_scoped_thread_during_its_first_poll())
    });
    assert_eq!(polls, 2, "the remote wakes queued the main future once");
}

#[test]
fn every_waker_of_a_task_will_wake_every_other() {
    run(async {
        let mut kept: Option<Waker> = None;
        let task = create_task(poll_fn(move |cx| match kept.take() {
            None => {
                kept = Some(cx.waker().clone());
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            // A clone from the first poll, the waker of the second, and a clone of that.
            Some(first) => {
                Poll::Ready(first.will_wake(cx.waker()) && cx.waker().clone().will_wake(&first))
            }
        }));
        assert!(
            task.await.unwrap(),
            "all wakers of one task point at its cell, so `will_wake` holds across polls"
        );
    });
}

#[test]
fn a_task_waker_cloned_on_a_scoped_thread_during_the_poll_wakes_the_task() {
    let polls = within(Duration::from_secs(20), || {
        run(async {
            let task = create_task(woken_from_a_scoped_thread_during_its_first_poll());
            task.await.unwrap()
        })
    });
    assert_eq!(polls, 2, "both wakes queued the task once");
}

#[test]
fn an_output_is_dropped_on_the_loop_thread_though_another_thread_holds_the_last_waker() {
    struct Output(Arc<Mutex<Option<std::thread::ThreadId>>>);
    impl Drop for Output {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(std::thread::current().id());
        }
    }
    let dropped_on: Arc<Mutex<Option<std::thread::ThreadId>>> = Arc::default();
    let (waker_tx, waker_rx) = std::sync::mpsc::channel::<Waker>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let waker = waker_rx.recv().unwrap();
        release_rx.recv().unwrap();
        // The task, its handle and its output are gone: this frees the cell's memory.
        waker.wake();
    });
    let sink = dropped_on.clone();
    let mut runner = Runner::new();
    runner.run(async move {
        let task = create_task(poll_fn(move |cx| {
            waker_tx.send(cx.waker().clone()).unwrap();
            Poll::Ready(Output(sink.clone()))
        }));
        yield_now().await;
        drop(task);
    });
    assert_eq!(
        *dropped_on.lock().unwrap(),
        Some(std::thread::current().id())
    );
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    drop(runner);
}

#[test]
fn the_last_wakers_may_be_dropped_on_another_thread_after_the_loop_is_gone() {
    let kept: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let sink = kept.clone();
    run(async move {
        // One task that never finishes (the loop cancels it as it closes), one that does.
        let keep = sink.clone();
        let _pending = create_task(poll_fn(move |cx| {
            keep.lock().unwrap().push(cx.waker().clone());
            Poll::<()>::Pending
        }));
        let finished = create_task(poll_fn(|cx| Poll::Ready(cx.waker().clone())));
        let waker = finished.await.unwrap();
        sink.lock().unwrap().push(waker);
    });
    let wakers = std::mem::take(&mut *kept.lock().unwrap());
    assert_eq!(wakers.len(), 2);
    // The loop is gone; the two cells live on only in these wakers, freed on this thread.
    std::thread::spawn(move || {
        for waker in wakers {
            waker.wake_by_ref();
            waker.wake();
        }
    })
    .join()
    .unwrap();
}

#[test]
fn joining_a_remote_task_on_the_loop_thread_between_runs_is_refused() {
    let mut runner = Runner::new();
    let task = runner.handle().spawn(async { 1 });
    // Nobody would run the loop while this thread blocks: refuse instead of hanging.
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.join()));
    assert!(refused.is_err());
    runner.run(async {});
}

#[test]
fn a_wake_from_another_thread_counts_as_a_remote_wake_only() {
    let stats = within(Duration::from_secs(20), || {
        let mut runner = Runner::new();
        runner.run(async {
            let waiter = create_task(async {
                let mut woken = false;
                poll_fn(|cx| {
                    if woken {
                        return Poll::Ready(());
                    }
                    woken = true;
                    let waker = cx.waker().clone();
                    std::thread::spawn(move || waker.wake());
                    Poll::Pending
                })
                .await
            });
            waiter.await.unwrap();
        });
        runner.stats()
    });
    assert_eq!(stats.remote_wakes, 1);
    // The one local wake is the waiter finishing and waking `run`'s future, which awaits it.
    assert_eq!(stats.local_wakes, 1);
}
