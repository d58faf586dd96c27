//! Ctrl-C: `ctrl_c()` sees a `SIGINT` that arrives while it waits, and once nothing waits
//! any more, `SIGINT` ends the process again.
//!
//! Signals are process-wide, so each scenario runs in a child process: this test binary
//! runs itself again with `LOOPLET_SIGNAL_SCENARIO` set to the scenario's name.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};

use looplet_executor::{create_task, run, yield_now};
use looplet_io::signal::ctrl_c;
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
