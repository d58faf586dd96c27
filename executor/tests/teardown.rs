//! Teardown anywhere: a `Runner` kept in a `thread_local!` (either form) is closed when its
//! thread exits, during thread-local destruction, and closing there cancels its tasks and
//! drops their futures like anywhere else: no abort, no panic, nothing lost.

use std::cell::RefCell;
use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::LocalKey;
use std::time::Duration;

use looplet_executor::{create_task, Runner};

/// Counts its drops: shows a task's future was dropped, not leaked.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Puts three tasks in `runner`'s loop that outlive the run: one pending forever, one
/// sleeping, one whose future's `Drop` wakes another task and spawns a new one (user code
/// that reaches for the loop during teardown).
fn leave_tasks_behind(runner: &mut Runner, dropped: &Arc<AtomicUsize>) {
    let (first, second, third) = (
        DropCounter(dropped.clone()),
        DropCounter(dropped.clone()),
        DropCounter(dropped.clone()),
    );
    runner.run(async move {
        drop(create_task(async move {
            let _held = first;
            pending::<()>().await;
        }));
        drop(create_task(async move {
            let _held = second;
            looplet_timer::sleep(Duration::from_secs(3600)).await;
        }));
        drop(create_task(async move {
            struct SpawnsOnDrop {
                _counter: DropCounter,
            }
            impl Drop for SpawnsOnDrop {
                fn drop(&mut self) {
                    // Whether or not a loop is reachable here, this must not abort.
                    let _ = std::panic::catch_unwind(|| drop(create_task(async {})));
                }
            }
            let _held = SpawnsOnDrop { _counter: third };
            pending::<()>().await;
        }));
        looplet_executor::yield_now().await;
    });
}

thread_local! {
    // The lazy form on purpose: the two forms are destroyed through different paths.
    #[allow(clippy::missing_const_for_thread_local)]
    static LAZY_RUNNER: RefCell<Option<Runner>> = RefCell::new(None);
    static CONST_RUNNER: RefCell<Option<Runner>> = const { RefCell::new(None) };
}

/// Keeps a runner with tasks left in it in `slot` on a new thread, lets the thread exit,
/// and returns how many of the tasks' futures were dropped.
fn futures_dropped_when_a_thread_exits_with_its_runner_in(
    slot: &'static LocalKey<RefCell<Option<Runner>>>,
) -> usize {
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = dropped.clone();
    std::thread::spawn(move || {
        slot.with(|slot| {
            let mut runner = Runner::new();
            leave_tasks_behind(&mut runner, &counter);
            *slot.borrow_mut() = Some(runner);
        });
    })
    .join()
    .expect("the thread exits cleanly");
    dropped.load(Ordering::SeqCst)
}

#[test]
fn a_runner_in_a_lazy_thread_local_is_closed_at_thread_exit_and_drops_its_tasks() {
    assert_eq!(
        futures_dropped_when_a_thread_exits_with_its_runner_in(&LAZY_RUNNER),
        3
    );
}

#[test]
fn a_runner_in_a_const_thread_local_is_closed_at_thread_exit_and_drops_its_tasks() {
    assert_eq!(
        futures_dropped_when_a_thread_exits_with_its_runner_in(&CONST_RUNNER),
        3
    );
}

/// A runner made *during* thread-local destruction (from another thread-local's `Drop`),
/// used and dropped there.
struct MakesARunnerOnDrop(Arc<AtomicUsize>);

impl Drop for MakesARunnerOnDrop {
    fn drop(&mut self) {
        let mut runner = Runner::new();
        let value = runner.run(async { create_task(async { 6 * 7 }).await.unwrap() });
        leave_tasks_behind(&mut runner, &self.0);
        drop(runner);
        assert_eq!(value, 42);
        self.0.fetch_add(100, Ordering::SeqCst);
    }
}

thread_local! {
    static RUNS_AT_EXIT: RefCell<Option<MakesARunnerOnDrop>> = const { RefCell::new(None) };
}

#[test]
fn a_runner_made_used_and_dropped_during_thread_local_destruction_works() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = dropped.clone();
    std::thread::spawn(move || {
        // Touch the loop's own thread-locals first, so that they are destroyed before ours
        // (destruction runs in reverse order of registration on most platforms).
        looplet_executor::run(async {});
        RUNS_AT_EXIT.with(|slot| *slot.borrow_mut() = Some(MakesARunnerOnDrop(counter)));
    })
    .join()
    .expect("the thread exits cleanly");
    assert_eq!(dropped.load(Ordering::SeqCst), 103);
}

#[test]
fn a_waker_dropped_during_thread_local_destruction_after_its_loop_is_harmless() {
    struct HoldsAWaker(Option<std::task::Waker>);
    impl Drop for HoldsAWaker {
        fn drop(&mut self) {
            if let Some(waker) = self.0.take() {
                waker.wake_by_ref();
                waker.wake();
            }
        }
    }
    thread_local! {
        static WAKER: RefCell<HoldsAWaker> = const { RefCell::new(HoldsAWaker(None)) };
    }
    std::thread::spawn(|| {
        looplet_executor::run(async {
            let task = create_task(std::future::poll_fn(|cx| {
                WAKER.with(|slot| slot.borrow_mut().0 = Some(cx.waker().clone()));
                std::task::Poll::<()>::Pending
            }));
            looplet_executor::yield_now().await;
            // Detached: the loop cancels it at close, and the waker outlives them both.
            drop(task);
        });
    })
    .join()
    .expect("the thread exits cleanly");
}
