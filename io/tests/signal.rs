//! Ctrl-C: `ctrl_c()` sees a `SIGINT` that arrives while it waits, and once nothing waits
//! any more, `SIGINT` ends the process again.
//!
//! Signals are process-wide, so each scenario runs in a child process: this test binary
//! runs itself again with `LOOPLET_SIGNAL_SCENARIO` set to the scenario's name.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};

use looplet_executor::{create_task, run, yield_now};
use looplet_io::signal::{cancel_on_ctrl_c, ctrl_c};
use signal_hook::consts::SIGINT;

const SCENARIO: &str = "LOOPLET_SIGNAL_SCENARIO";

/// Runs `name` in a child process and returns how it ended.
fn in_child(test: &str, name: &str) -> ExitStatus {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(SCENARIO, name)
        .status()
        .unwrap()
}

/// In the child: waits for Ctrl-C, raises one, then raises another with nobody waiting.
fn ctrl_c_then_default() {
    run(async {
        let waiting = create_task(ctrl_c());
        yield_now().await; // the handler is registered now
        signal_hook::low_level::raise(SIGINT).unwrap();
        waiting.await.unwrap().unwrap();
        println!("ctrl_c saw the signal");
    });
    signal_hook::low_level::raise(SIGINT).unwrap(); // must end the process
    std::process::exit(3); // reached only if the default action was lost
}

#[test]
fn ctrl_c_sees_a_sigint_and_afterwards_sigint_ends_the_process_again() {
    if std::env::var(SCENARIO).as_deref() == Ok("default") {
        ctrl_c_then_default();
    }
    let status = in_child(
        "ctrl_c_sees_a_sigint_and_afterwards_sigint_ends_the_process_again",
        "default",
    );
    assert_eq!(status.signal(), Some(SIGINT), "{status:?}");
}

/// In the child: Ctrl-C cancels a future that would never end, running its destructors.
fn cancel_pending_future() {
    struct Guard(std::rc::Rc<std::cell::Cell<bool>>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let dropped = std::rc::Rc::new(std::cell::Cell::new(false));
    let guard = Guard(dropped.clone());
    let outcome = run(async move {
        drop(create_task(async {
            yield_now().await; // the main future waits for Ctrl-C by now
            signal_hook::low_level::raise(SIGINT).unwrap();
        }));
        cancel_on_ctrl_c(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        })
        .await
    });
    let error = outcome.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::Interrupted, "{error}");
    assert!(dropped.get(), "the cancelled future was not dropped");
    std::process::exit(0);
}

#[test]
fn the_first_ctrl_c_cancels_the_future_given_to_cancel_on_ctrl_c() {
    if std::env::var(SCENARIO).as_deref() == Ok("cancel") {
        cancel_pending_future();
    }
    let status = in_child(
        "the_first_ctrl_c_cancels_the_future_given_to_cancel_on_ctrl_c",
        "cancel",
    );
    assert!(status.success(), "{status:?}");
}
