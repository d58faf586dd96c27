//! Fairness under load from other threads: work that keeps arriving through the remote
//! queue must not starve the tasks that are already ready.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use looplet_executor::{yield_now, Runner};
use support::within;

#[test]
fn a_ready_task_gets_turns_while_other_threads_flood_the_loop_with_submissions() {
    const FLOODERS: usize = 2;
    /// The flooders give up here at the latest; a fair loop stops them long before.
    const MAX_PER_FLOODER: usize = 5_000_000;
    const BACKLOG: usize = 1_000;
    // One turn: when producers outpace the loop, each fair tick is longer than the one
    // before (it polls every task the previous drain created), so later turns come
    // geometrically later; the first one after the backlog is what fairness promises.
    const TURNS: usize = 1;
    // The flooders submit until the ready task has had its turns *or* they reach their cap.
    // A fair loop gives the task its turns while the flood is still on, so the task sees
    // fewer submissions than the cap; a drain that never ends returns only once the
    // flooders have stopped at the cap. Thread scheduling (valgrind runs one thread at a
    // time) changes how many submissions get in, not which of the two happens.
    let seen_at_last_turn = within(Duration::from_secs(120), move || {
        let mut runner = Runner::new();
        let handle = runner.handle();
        let go = Arc::new(AtomicBool::new(false));
        let had_turns = Arc::new(AtomicBool::new(false));
        let submitted = Arc::new(AtomicUsize::new(0));
        let flooders: Vec<_> = (0..FLOODERS)
            .map(|_| {
                let (handle, go, had_turns, submitted) = (
                    handle.clone(),
                    go.clone(),
                    had_turns.clone(),
                    submitted.clone(),
                );
                std::thread::spawn(move || {
                    while !go.load(Ordering::SeqCst) {
                        std::thread::yield_now();
                    }
                    for _ in 0..MAX_PER_FLOODER {
                        if had_turns.load(Ordering::SeqCst) {
                            break;
                        }
                        drop(handle.spawn(async {}));
                        submitted.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        let seen = runner.run(async {
            go.store(true, Ordering::SeqCst);
            // Hold the loop (no await) until a backlog waits in the remote queue, so the
            // next drain starts behind a flood that is still going on.
            while submitted.load(Ordering::SeqCst) < BACKLOG {
                std::thread::yield_now();
            }
            for _ in 0..TURNS {
                yield_now().await;
            }
            let seen = submitted.load(Ordering::SeqCst);
            had_turns.store(true, Ordering::SeqCst);
            seen
        });
        for flooder in flooders {
            flooder.join().unwrap();
        }
        seen
    });
    assert!(
        seen_at_last_turn < FLOODERS * MAX_PER_FLOODER,
        "the ready task got its turns only after the flood ended ({seen_at_last_turn} submissions)"
    );
}

#[test]
fn a_loop_finishes_a_short_sleep_while_other_threads_wake_its_tasks_without_pause() {
    const THREADS: usize = 2;
    const PATIENCE: Duration = Duration::from_secs(20);
    let finished = within(Duration::from_secs(60), || {
        let mut runner = Runner::new();
        let wakers: Arc<std::sync::Mutex<Vec<std::task::Waker>>> = Arc::default();
        let sink = wakers.clone();
        runner.run(async move {
            for _ in 0..10 {
                let sink = sink.clone();
                drop(looplet_executor::create_task(std::future::poll_fn(
                    move |cx| {
                        sink.lock().unwrap().push(cx.waker().clone());
                        std::task::Poll::<()>::Pending
                    },
                )));
            }
            yield_now().await;
        });
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (wakers, stop) = (wakers.lock().unwrap().clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        for waker in &wakers {
                            waker.wake_by_ref();
                        }
                    }
                })
            })
            .collect();
        // Stop the threads from a watchdog if the loop is stuck, so the test fails cleanly
        // (and at once when the loop is not stuck).
        let (finished_tx, finished_rx) = std::sync::mpsc::channel::<()>();
        let watchdog = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                if finished_rx.recv_timeout(PATIENCE).is_err() {
                    stop.store(true, Ordering::SeqCst);
                }
            })
        };
        let finished_while_waking = runner.run(async {
            looplet_timer::sleep(Duration::from_millis(1)).await;
            !stop.load(Ordering::SeqCst)
        });
        let _ = finished_tx.send(());
        stop.store(true, Ordering::SeqCst);
        for thread in threads {
            thread.join().unwrap();
        }
        watchdog.join().unwrap();
        finished_while_waking
    });
    assert!(
        finished,
        "a 1 ms sleep did not finish within {PATIENCE:?} while other threads kept waking tasks"
    );
}
