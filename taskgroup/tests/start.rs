//! `TaskGroup::start` (Trio's `nursery.start`): the caller waits until the child says it has
//! started, gets its value, and the child runs on in the group; every way a child can fail
//! to start gives the caller an error, at once, and never a hang. On the virtual clock, so
//! "waited until it started" is an exact instant.

use std::cell::Cell;
use std::future::{pending, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use looplet_executor::Runner;
use looplet_taskgroup::{BoxError, StartError, Started, TaskGroup};
use looplet_timer::{now, sleep, timeout};

const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3600);

/// Runs `future` on a fresh virtual-clock runner; returns its output (or its panic) and the
/// virtual time it took.
fn run_timed<F: Future>(future: F) -> (std::thread::Result<F::Output>, Duration) {
    let mut runner = Runner::builder().virtual_clock(true).build();
    let start = runner.clock().now();
    let output = catch_unwind(AssertUnwindSafe(|| runner.run(future)));
    (output, runner.clock().now() - start)
}

#[test]
fn the_caller_waits_until_the_child_started_and_the_child_runs_on_in_the_group() {
    let served = Rc::new(Cell::new(false));
    let seen = served.clone();
    let (outcome, took) = run_timed(TaskGroup::scope(|tg| async move {
        let began = now();
        let address = tg
            .start(|started| async move {
                sleep(2 * SECOND).await; // binding takes a while
                started.started("127.0.0.1:8080");
                sleep(3 * SECOND).await; // serving
                seen.set(true);
                Ok::<_, BoxError>(())
            })
            .await?;
        assert_eq!(address, "127.0.0.1:8080");
        assert_eq!(
            now() - began,
            2 * SECOND,
            "the wait ended when the child started"
        );
        assert_eq!(tg.len(), 1, "the child runs on in the group");
        Ok(address)
    }));
    assert_eq!(outcome.unwrap().unwrap(), "127.0.0.1:8080");
    assert!(
        served.get(),
        "the scope waited for the started child to end"
    );
    assert_eq!(took, 5 * SECOND);
}

#[test]
fn an_error_before_starting_goes_to_the_caller_and_not_to_the_group() {
    let sibling_finished = Rc::new(Cell::new(false));
    let seen = sibling_finished.clone();
    let (outcome, took) = run_timed(TaskGroup::scope(|tg| async move {
        tg.create_task(async move {
            sleep(2 * SECOND).await;
            seen.set(true);
        });
        let failed = tg
            .start(|started: Started<u16>| async move {
                let _not_yet = started; // kept: without it the child could never start
                sleep(SECOND).await;
                Err::<(), _>("address in use")
            })
            .await
            .unwrap_err();
        assert!(failed.is_failed());
        assert_eq!(
            failed.to_string(),
            "the task failed before it started: address in use"
        );
        assert_eq!(failed.into_error().unwrap().to_string(), "address in use");
        Ok("handled")
    }));
    assert_eq!(
        outcome.unwrap().unwrap(),
        "handled",
        "the group did not fail"
    );
    assert!(sibling_finished.get(), "nothing was cancelled");
    assert_eq!(took, 2 * SECOND);
}

#[test]
fn a_child_failing_at_once_reports_its_error_not_a_missing_start() {
    // The closure drops its `Started` before the child is first polled.
    let (outcome, _) = run_timed(TaskGroup::scope(|tg| async move {
        let error = tg
            .start(|_started: Started<()>| async { Err::<(), _>("bad config") })
            .await
            .unwrap_err();
        Ok(error.to_string())
    }));
    assert_eq!(
        outcome.unwrap().unwrap(),
        "the task failed before it started: bad config"
    );
}

#[test]
fn an_error_after_starting_fails_the_group() {
    let (outcome, took) = run_timed(TaskGroup::scope(|tg| async move {
        tg.start(|started| async move {
            started.started(());
            sleep(SECOND).await;
            Err::<(), _>("lost the listener")
        })
        .await?;
        sleep(HOUR).await; // cancelled by the failure
        Ok(())
    }));
    let group = outcome.unwrap().unwrap_err();
    assert_eq!(group.errors()[0].to_string(), "lost the listener");
    assert_eq!(took, SECOND);
}

#[test]
fn returning_without_starting_is_an_error_that_names_the_fix() {
    let (outcome, _) = run_timed(TaskGroup::scope(|tg| async move {
        let error = tg
            .start(|started: Started<u16>| async move {
                sleep(SECOND).await;
                let _forgotten = started;
                Ok::<_, BoxError>(())
            })
            .await
            .unwrap_err();
        assert!(error.is_not_started());
        Ok(error.to_string())
    }));
    let message = outcome.unwrap().unwrap();
    assert!(message.contains("call started.started(value)"), "{message}");
}

#[test]
fn a_child_that_never_took_its_started_is_reported_at_its_first_suspension() {
    let (outcome, took) = run_timed(TaskGroup::scope(|tg| async move {
        let error = tg
            .start(|_started: Started<u16>| async {
                sleep(HOUR).await;
                Err::<(), _>("would come an hour late")
            })
            .await
            .unwrap_err();
        assert!(error.is_not_started());
        Ok(())
    }));
    outcome.unwrap().unwrap();
    assert_eq!(took, Duration::ZERO);
}

#[test]
fn a_child_suspending_without_its_started_is_reported_at_once_and_cancelled() {
    let (outcome, took) = run_timed(TaskGroup::scope(|tg| async move {
        let error = tg
            .start(|started: Started<u16>| async move {
                drop(started);
                sleep(HOUR).await; // would hang the caller for an hour
                Ok::<_, BoxError>(())
            })
            .await
            .unwrap_err();
        assert!(error.is_not_started());
        Ok(())
    }));
    outcome.unwrap().unwrap();
    assert_eq!(
        took,
        Duration::ZERO,
        "no hour-long wait, for the caller or the scope"
    );
}

#[test]
fn a_started_handle_dropped_in_another_task_ends_the_wait() {
    let (outcome, took) = run_timed(TaskGroup::scope(|tg| async move {
        let other = tg.clone();
        let wait = tg.start(move |started: Started<u16>| async move {
            // Hand the handle to a task that drops it a second later.
            other.create_task(async move {
                sleep(SECOND).await;
                drop(started);
            });
            pending::<Result<(), BoxError>>().await
        });
        // The hour bounds a regression: the wait would otherwise never end.
        let error = timeout(HOUR, wait)
            .await
            .expect("the wait ended")
            .unwrap_err();
        assert!(error.is_not_started());
        Ok(())
    }));
    outcome.unwrap().unwrap();
    assert_eq!(took, SECOND);
}

#[test]
fn a_child_cancelled_before_it_started_gives_a_cancelled_error() {
    let (outcome, took) = run_timed(TaskGroup::scope(|outer| async move {
        // The waiting caller is the outer body; the child is in an inner group that a
        // sibling cancels after a second.
        let inner = Rc::new(Cell::new(None));
        let slot = inner.clone();
        outer.create_task(async move {
            let _ = TaskGroup::scope(|tg| {
                slot.set(Some(tg));
                pending::<Result<(), BoxError>>()
            })
            .await;
        });
        sleep(Duration::ZERO).await; // the inner scope opens
        let inner = inner.take().unwrap();
        let stopper = inner.clone();
        outer.create_task(async move {
            sleep(SECOND).await;
            stopper.cancel();
        });
        let error: StartError = inner
            .start(|started: Started<()>| async move {
                sleep(HOUR).await;
                started.started(());
                Ok::<_, BoxError>(())
            })
            .await
            .unwrap_err();
        assert!(error.is_cancelled());
        Ok(())
    }));
    outcome.unwrap().unwrap();
    assert_eq!(took, SECOND);
}

#[test]
fn a_panic_before_starting_is_reported_to_the_caller_and_resumed_by_the_scope() {
    // Read outside: a failed assertion in the body would lose to the child's panic.
    let reported = Rc::new(Cell::new(false));
    let seen = reported.clone();
    let (outcome, took) = run_timed(TaskGroup::supervise(|tg| async move {
        let error = tg
            .start(|started: Started<()>| async move {
                let _not_yet = started;
                sleep(SECOND).await;
                panic!("bug while binding");
                #[allow(unreachable_code)]
                Ok::<_, BoxError>(())
            })
            .await
            .unwrap_err();
        seen.set(error.is_panicked());
        Ok(())
    }));
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"bug while binding"));
    assert!(reported.get(), "the caller was told the child panicked");
    assert_eq!(took, SECOND);
}

#[test]
fn dropping_the_wait_before_the_child_started_cancels_the_child() {
    let dropped = Rc::new(Cell::new(false));
    let seen = dropped.clone();
    let (outcome, took) = run_timed(TaskGroup::scope(|tg| async move {
        struct Flag(Rc<Cell<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let flag = Flag(seen);
        let wait = tg.start(|started: Started<()>| async move {
            let _flag = flag;
            sleep(HOUR).await;
            started.started(());
            Ok::<_, BoxError>(())
        });
        assert!(
            timeout(SECOND, wait).await.is_err(),
            "gave up after a second"
        );
        Ok(())
    }));
    outcome.unwrap().unwrap();
    assert!(dropped.get(), "the child's future was dropped");
    assert_eq!(took, SECOND, "the scope did not wait an hour for it");
}

#[test]
fn a_named_child_can_be_started_through_the_builder() {
    let (outcome, _) = run_timed(TaskGroup::scope(|tg| async move {
        let name = tg
            .builder()
            .name("listener")
            .start(|started| async move {
                started.started(looplet_executor::current_task_name());
                Ok::<_, BoxError>(())
            })
            .await?;
        Ok(name)
    }));
    assert_eq!(outcome.unwrap().unwrap().as_deref(), Some("listener"));
}

/// Compile-time: the error travels with `?` into `anyhow` and across threads.
#[test]
fn start_errors_are_send_sync_and_static() {
    fn send_sync_static<T: Send + Sync + 'static>() {}
    send_sync_static::<StartError>();
}
