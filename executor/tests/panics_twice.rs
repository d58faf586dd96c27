//! Panics that panic again: a panic whose payload panics when it is dropped, from every
//! place where the loop runs or drops user code — a task's poll, a future's `Drop`, a done
//! callback, an output's `Drop` — is contained. The second panic is reported on stderr,
//! nothing escapes `run`, and the task's bookkeeping completes: awaiters are woken,
//! callbacks run, the task leaves the table.

use std::cell::{Cell, RefCell};
use std::future::pending;
use std::rc::Rc;
use std::task::Poll;

use looplet_executor::{create_task, run, stats, yield_now, Runner};

/// A panic payload whose `Drop` panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        // Not while unwinding already: that would abort, and no executor can stop it.
        if !std::thread::panicking() {
            panic!("the payload panicked while being dropped");
        }
    }
}

fn throw_bomb() -> ! {
    std::panic::panic_any(Bomb)
}

/// Panics with a [`Bomb`] when dropped.
struct ThrowsOnDrop;

impl Drop for ThrowsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            throw_bomb();
        }
    }
}

#[test]
fn a_task_whose_poll_panics_with_a_bomb_completes_wakes_its_awaiter_and_runs_its_callbacks() {
    let called = Rc::new(Cell::new(false));
    let flag = called.clone();
    run(async move {
        let task = create_task(async { throw_bomb() });
        task.add_done_callback(move |task| flag.set(task.is_panicked()));
        let error = task.await.unwrap_err();
        assert!(error.is_panic());
        // The awaiter holds the bomb now. It defuses it by taking the payload out and
        // forgetting it (a zero-sized `Bomb`: nothing is leaked).
        std::mem::forget(error.into_panic());
        yield_now().await;
        assert_eq!(stats().live_tasks, 0);
    });
    assert!(called.get());
}

#[test]
fn a_detached_task_whose_unobserved_panic_payload_panics_again_is_reported_not_escaped() {
    let mut runner = Runner::new();
    runner.run(async {
        drop(create_task(async { throw_bomb() }));
        yield_now().await;
        yield_now().await;
    });
    assert_eq!(runner.stats().live_tasks, 0);
    assert_eq!(runner.run(async { 5 }), 5, "the loop goes on");
}

#[test]
fn a_done_callback_panicking_with_a_bomb_is_contained_and_later_callbacks_still_run() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let (first, second) = (order.clone(), order.clone());
    run(async move {
        let task = create_task(async { 1 });
        task.add_done_callback(move |_| {
            first.borrow_mut().push("first");
            throw_bomb();
        });
        task.add_done_callback(move |_| second.borrow_mut().push("second"));
        assert_eq!(task.await.unwrap(), 1);
        yield_now().await;
    });
    assert_eq!(*order.borrow(), ["first", "second"]);
}

#[test]
fn a_callback_added_to_a_done_task_panicking_with_a_bomb_is_contained() {
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    run(async move {
        let task = create_task(async {});
        yield_now().await;
        assert!(task.is_done());
        task.add_done_callback(|_| throw_bomb());
        task.add_done_callback(move |_| flag.set(true));
        yield_now().await;
    });
    assert!(ran.get());
}

#[test]
fn a_future_whose_drop_throws_a_bomb_on_cancellation_ends_cancelled_and_wakes_its_awaiter() {
    run(async {
        let task = create_task(async {
            let _guard = ThrowsOnDrop;
            pending::<()>().await;
        });
        yield_now().await;
        task.cancel();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(stats().live_tasks, 0);
    });
}

#[test]
fn a_future_whose_drop_throws_a_bomb_after_finishing_keeps_its_value() {
    /// Ready at once; dropped by the loop once it has finished, and panics then.
    struct ReadyThenThrows(ThrowsOnDrop);
    impl std::future::Future for ReadyThenThrows {
        type Output = u32;
        fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<u32> {
            Poll::Ready(7)
        }
    }
    run(async {
        let task = create_task(ReadyThenThrows(ThrowsOnDrop));
        assert_eq!(task.await.unwrap(), 7);
        assert_eq!(stats().live_tasks, 0);
    });
}

#[test]
fn futures_whose_drop_throws_a_bomb_at_close_do_not_stop_the_close() {
    let dropped = Rc::new(Cell::new(0));
    let mut runner = Runner::new();
    runner.run({
        let dropped = dropped.clone();
        async move {
            for _ in 0..3 {
                let dropped = dropped.clone();
                drop(create_task(async move {
                    struct Counted(Rc<Cell<u32>>, ThrowsOnDrop);
                    impl Drop for Counted {
                        fn drop(&mut self) {
                            self.0.set(self.0.get() + 1);
                        }
                    }
                    let _guard = Counted(dropped, ThrowsOnDrop);
                    pending::<()>().await;
                }));
            }
            yield_now().await;
        }
    });
    runner.close();
    assert_eq!(dropped.get(), 3);
    assert_eq!(runner.stats().live_tasks, 0);
}

#[test]
fn a_detached_tasks_output_whose_drop_throws_a_bomb_is_contained() {
    let mut runner = Runner::new();
    runner.run(async {
        drop(create_task(async { ThrowsOnDrop }));
        yield_now().await;
        yield_now().await;
    });
    assert_eq!(runner.stats().live_tasks, 0);
    // Kept by a handle that is dropped between runs, outside the loop.
    let task = runner.run(async {
        let task = create_task(async { ThrowsOnDrop });
        yield_now().await;
        [task]
    });
    let [task] = task;
    assert!(task.is_done());
    drop(task);
    assert_eq!(runner.run(async { 1 }), 1);
}

#[test]
fn a_submitted_future_whose_drop_panics_when_its_loop_closes_does_not_stop_the_close() {
    struct PanicsOnDrop(std::sync::Arc<std::sync::atomic::AtomicU32>);
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if !std::thread::panicking() {
                throw_bomb();
            }
        }
    }
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let runner = Runner::new();
    let handle = runner.handle();
    let remotes: Vec<_> = (0..3)
        .map(|_| {
            let guard = PanicsOnDrop(dropped.clone());
            handle.spawn(async move {
                let _guard = guard;
            })
        })
        .collect();
    drop(runner); // never ran: the jobs are dropped by the close
    assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 3);
    for remote in remotes {
        assert!(remote.join().unwrap_err().is_cancelled());
    }
}
