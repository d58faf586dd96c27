//! A `TaskSet` loses nothing silently: what nobody took from it is reported on stderr when
//! it is dropped — a panic with its message, values counted with their type — and what was
//! taken, or says nothing new (a cancellation, a `()` success), is not.
//!
//! The reports go to stderr, so each scenario runs in a child process (this same test
//! binary, re-run with `LOOPLET_SCENARIO` set) whose stderr the test then reads.

use std::future::pending;
use std::process::Command;

use looplet::{yield_now, Runner, TaskSet};

/// Runs `scenario` in a child process (see the module docs) and returns its stderr.
fn stderr_of(test_name: &str, scenario: &str) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env("LOOPLET_SCENARIO", scenario)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(output.status.success(), "child failed: {output:?}");
    String::from_utf8(output.stderr).unwrap()
}

fn in_child(scenario: &str) -> bool {
    std::env::var("LOOPLET_SCENARIO").is_ok_and(|value| value == scenario)
}

/// The lines of `stderr` that looplet wrote (the panic hook writes its own too).
fn looplet_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.starts_with("looplet:"))
        .collect()
}

#[test]
fn a_panic_nobody_took_is_reported_when_the_set_is_dropped() {
    if in_child("panic") {
        let mut runner = Runner::new();
        let set = TaskSet::new();
        runner.run(async {
            set.spawn(async { panic!("worker exploded") });
            set.spawn(async {});
            set.join_all().await;
        });
        drop(set);
        return;
    }
    let stderr = stderr_of(
        "a_panic_nobody_took_is_reported_when_the_set_is_dropped",
        "panic",
    );
    let lines = looplet_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("worker exploded"), "{stderr}");
    assert!(
        lines[0].contains("nobody took that from its TaskSet"),
        "{stderr}"
    );
}

#[test]
fn values_nobody_took_are_counted_when_the_set_is_dropped() {
    if in_child("values") {
        let mut runner = Runner::new();
        let set = TaskSet::new();
        runner.run(async {
            for text in ["1", "x", "3"] {
                set.spawn(async move { text.parse::<u32>() });
            }
            set.join_all().await;
            // One is taken; two are left for the report.
            assert!(set.try_join_next().is_some());
        });
        drop(set);
        return;
    }
    let stderr = stderr_of(
        "values_nobody_took_are_counted_when_the_set_is_dropped",
        "values",
    );
    let lines = looplet_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("holding 2 value(s)"), "{stderr}");
    assert!(lines[0].contains("ParseIntError"), "{stderr}");
}

#[test]
fn outcomes_that_were_taken_or_say_nothing_new_are_not_reported() {
    if in_child("quiet") {
        let mut runner = Runner::new();
        let set = TaskSet::new();
        runner.run(async {
            set.spawn(async { panic!("taken") });
            set.spawn(async {}); // a `()` success
            set.spawn(pending::<()>()); // cancelled below
            yield_now().await;
            assert!(set.try_join_next().unwrap().unwrap_err().is_panic());
            set.cancel_all();
            set.join_all().await;
        });
        drop(set);
        return;
    }
    let stderr = stderr_of(
        "outcomes_that_were_taken_or_say_nothing_new_are_not_reported",
        "quiet",
    );
    assert!(looplet_lines(&stderr).is_empty(), "{stderr}");
}

#[test]
fn a_panic_after_its_set_was_dropped_is_reported_when_it_happens() {
    if in_child("detached") {
        let mut runner = Runner::new();
        runner.run(async {
            let set = TaskSet::new();
            set.spawn(async {
                yield_now().await;
                panic!("late failure")
            });
            drop(set); // the task runs on, detached
            yield_now().await;
            yield_now().await;
        });
        return;
    }
    let stderr = stderr_of(
        "a_panic_after_its_set_was_dropped_is_reported_when_it_happens",
        "detached",
    );
    let lines = looplet_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("late failure"), "{stderr}");
    assert!(
        lines[0].contains("after its TaskSet was dropped"),
        "{stderr}"
    );
}
