//! Watching the loop: the text trace, the Chrome trace file and debug-mode warnings.
//!
//! Trace output goes to stderr, so each scenario runs in a child process (this same test
//! binary, re-run with `LOOPLET_SCENARIO` set) whose stderr the test then reads.

mod support;

use std::process::Command;
use std::time::Duration;

use looplet_executor::{create_task, yield_now, Runner};
use looplet_timer::sleep;

/// Runs `scenario` in a child process (see the module docs) and returns its stderr.
fn stderr_of(test_name: &str, scenario: &str, env: &[(&str, &str)]) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env("LOOPLET_SCENARIO", scenario)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(output.status.success(), "child failed: {output:?}");
    String::from_utf8(output.stderr).unwrap()
}

fn in_child(scenario: &str) -> bool {
    std::env::var("LOOPLET_SCENARIO").is_ok_and(|value| value == scenario)
}

fn two_tasks(runner: &mut Runner) {
    runner.run(async {
        let sleeper = create_task(async { sleep(Duration::from_secs(1)).await });
        let yielder = create_task(yield_now());
        sleeper.await.unwrap();
        yielder.await.unwrap();
    });
}

#[test]
fn looplet_trace_1_prints_one_line_per_loop_event() {
    if in_child("text") {
        two_tasks(&mut Runner::new());
        return;
    }
    let stderr = stderr_of(
        "looplet_trace_1_prints_one_line_per_loop_event",
        "text",
        &[("LOOPLET_TRACE", "1"), ("LOOPLET_CLOCK", "virtual")],
    );
    // An unnamed task is called by its id, once.
    for created in ["created  Task-1", "created  Task-2"] {
        assert!(
            stderr.lines().any(|line| line.ends_with(created)),
            "missing {created:?} in:\n{stderr}"
        );
    }
    for expected in [
        "poll     Task-1",
        "woken    Task-2 (local)",
        "finished Task-2 (value)",
        "timers   1 set by Task-1 (earliest deadline in 1s)",
        "poll     main",
        "idle     virtual clock jumps 1s",
        "timers   1 fired",
        "finished Task-1 (value)",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    let last = stderr
        .lines()
        .rfind(|line| line.contains("finished Task-1"))
        .unwrap();
    assert!(
        last.starts_with("[looplet     1.000000s]"),
        "stamped with the virtual clock: {last}"
    );
}

#[test]
fn a_chrome_trace_has_one_row_per_task_and_a_slice_per_poll() {
    let path = std::env::temp_dir().join(format!("looplet-trace-{}.json", std::process::id()));
    let mut runner = Runner::builder()
        .virtual_clock(true)
        .trace_file(&path)
        .build();
    two_tasks(&mut runner);
    runner.close();
    let json = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(json.starts_with("{\"traceEvents\":["));
    assert!(json.trim_end().ends_with('}'));
    assert!(json.contains(r#""args":{"name":"Task-1"}"#));
    assert!(json.contains(r#""args":{"name":"Task-2"}"#));
    let polls = json.matches(r#""name":"poll""#).count();
    assert_eq!(polls, 4, "Task-1 polled twice, Task-2 twice:\n{json}");
    assert!(json.contains(
        r#""name":"alive → value","ph":"X","pid":1,"tid":1,"ts":0.000,"dur":1000000.000"#
    ));
}

#[test]
fn debug_mode_names_a_task_that_blocks_the_loop() {
    if in_child("slow") {
        let mut runner = Runner::builder()
            .debug(true)
            .slow_poll_threshold(Duration::from_millis(1))
            .build();
        runner.run(async {
            let blocker = looplet_executor::TaskBuilder::new()
                .name("blocker")
                .spawn(async { std::thread::sleep(Duration::from_millis(30)) });
            blocker.await.unwrap();
        });
        return;
    }
    let stderr = stderr_of("debug_mode_names_a_task_that_blocks_the_loop", "slow", &[]);
    assert!(
        stderr.contains("looplet debug: blocker blocked the loop for"),
        "{stderr}"
    );
}

#[test]
fn debug_mode_lists_tasks_still_pending_when_the_runner_closes() {
    if in_child("pending") {
        let mut runner = Runner::builder().debug(true).virtual_clock(true).build();
        runner.run(async {
            drop(create_task(std::future::pending::<()>()));
            drop(
                looplet_executor::TaskBuilder::new()
                    .name("stuck")
                    .spawn(std::future::pending::<()>()),
            );
        });
        drop(runner);
        return;
    }
    let stderr = stderr_of(
        "debug_mode_lists_tasks_still_pending_when_the_runner_closes",
        "pending",
        &[],
    );
    assert!(
        stderr.contains("runner closed with 2 task(s) pending, now cancelled: Task-1, stuck"),
        "{stderr}"
    );
}

#[test]
fn a_panic_nobody_can_observe_is_reported_on_stderr() {
    if in_child("unobserved") {
        looplet_executor::run(async {
            drop(create_task(async { panic!("lost?") }));
            yield_now().await;
        });
        return;
    }
    let stderr = stderr_of(
        "a_panic_nobody_can_observe_is_reported_on_stderr",
        "unobserved",
        &[],
    );
    assert!(
        stderr.contains("looplet: Task-1 panicked: lost?, and nobody retrieved the outcome"),
        "{stderr}"
    );
}
