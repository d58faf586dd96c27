//! The tutorial's examples print what the tutorial prints, line for line, and take exactly
//! the time it says — on the virtual clock, so the whole check takes no real time.
//!
//! Two views of each level:
//!
//! * **The real program.** The example binaries (`cargo test` builds them into
//!   `target/debug/examples/`) run with `LOOPLET_CLOCK=virtual`; their stdout must match
//!   line for line. The `started at` / `finished at` stamps are read back and their
//!   difference checked.
//! * **The level in-process.** Each example's level function runs on a virtual-clock
//!   `Runner` here, and the runner's clock gives the exact virtual time it took — also for
//!   the levels that print no timestamps.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use looplet::Runner;

// The examples' `main`s go unused here; only their level functions are called.
#[allow(dead_code)]
#[path = "../examples/appendix.rs"]
mod appendix;
#[allow(dead_code)]
#[path = "../examples/level1.rs"]
mod level1;
#[allow(dead_code)]
#[path = "../examples/level2.rs"]
mod level2;
#[allow(dead_code)]
#[path = "../examples/level3.rs"]
mod level3;
#[allow(dead_code)]
#[path = "../examples/level4.rs"]
mod level4;
#[allow(dead_code)]
#[path = "../examples/level5.rs"]
mod level5;

/// The path of the example binary `name`, checked to exist and to be newer than its source.
fn example_binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    // target/debug/deps/tutorial-<hash> → target/debug/examples/<name>
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    // The tour includes every level, so any example source can make it stale.
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let sources: Vec<PathBuf> = match name {
        "tour" => [
            "tour", "level1", "level2", "level3", "level4", "level5", "appendix",
        ]
        .iter()
        .map(|source| examples.join(format!("{source}.rs")))
        .collect(),
        _ => vec![examples.join(format!("{name}.rs"))],
    };
    let modified = |path: &PathBuf| std::fs::metadata(path).and_then(|meta| meta.modified());
    let fresh = modified(&binary).is_ok_and(|built| {
        sources
            .iter()
            .all(|source| modified(source).is_ok_and(|written| built >= written))
    });
    assert!(
        fresh,
        "{} is missing or older than its source: run the whole `cargo test` (it builds the \
         examples), or `cargo build --examples` first",
        binary.display()
    );
    binary
}

/// Runs example `name` (with `args`) on the virtual clock; returns its stdout lines and
/// the real time it took.
fn run_example(name: &str, args: &[&str]) -> (Vec<String>, Duration) {
    let started = Instant::now();
    let output = Command::new(example_binary(name))
        .args(args)
        .env("LOOPLET_CLOCK", "virtual")
        .env_remove("LOOPLET_TRACE")
        .output()
        .expect("the example runs");
    let took = started.elapsed();
    assert!(
        output.status.success(),
        "{name} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("the example prints UTF-8");
    (stdout.lines().map(str::to_owned).collect(), took)
}

/// Seconds since midnight of an `HH:MM:SS` stamp.
fn seconds_of_day(stamp: &str) -> u64 {
    let parts: Vec<u64> = stamp
        .split(':')
        .map(|part| part.parse().expect("HH:MM:SS"))
        .collect();
    assert_eq!(parts.len(), 3, "{stamp:?} is not HH:MM:SS");
    parts[0] * 3600 + parts[1] * 60 + parts[2]
}

/// Replaces the `started at` / `finished at` stamps with `<time>` and returns the lines and
/// the whole seconds between the two stamps (a day's wrap-around included).
fn without_stamps(lines: &[String]) -> (Vec<String>, Option<u64>) {
    let mut started = None;
    let mut finished = None;
    let lines = lines
        .iter()
        .map(|line| {
            for (prefix, slot) in [
                ("started at ", &mut started),
                ("finished at ", &mut finished),
            ] {
                if let Some(stamp) = line.strip_prefix(prefix) {
                    *slot = Some(seconds_of_day(stamp));
                    return format!("{prefix}<time>");
                }
            }
            line.clone()
        })
        .collect();
    let elapsed = match (started, finished) {
        (Some(started), Some(finished)) => Some((finished + 86_400 - started) % 86_400),
        _ => None,
    };
    (lines, elapsed)
}

/// Runs `level` on a fresh virtual-clock runner; returns the virtual time it took.
fn virtual_time_of(level: impl FnOnce(&mut Runner)) -> Duration {
    let mut runner = Runner::builder().virtual_clock(true).build();
    let start = runner.clock().now();
    level(&mut runner);
    runner.clock().now() - start
}

const LEVEL1: &[&str] = &["hi", "Stephen"];
const LEVEL2: &[&str] = &["started at <time>", "hi", "Stephen", "finished at <time>"];
const LEVEL3: &[&str] = &[
    "started at <time>",
    "hello",
    "Stephen",
    "finished at <time>",
];
const LEVEL4: &[&str] = &[
    "started at <time>",
    "0: ValueError: 'A' is not a valid integer",
    "finished at <time>",
];
const LEVEL5: &[&str] = &[
    "started at <time>",
    "hi for the 0 time",
    "Are we done yet?",
    "hi for the 1 time",
    "hi for the 2 time",
    "hi for the 3 time",
    "Okay, how about now?",
    "finished at <time>",
];
const APPENDIX: &[&str] = &[
    "started at <time>",
    "hello",
    "Stephen",
    "finished at <time>",
];

/// Checks example `name`: its lines, and the seconds between its stamps if it prints them.
/// Returns its lines.
fn check_example(name: &str, expected: &[&str], stamped_seconds: Option<u64>) -> Vec<String> {
    let (lines, _) = run_example(name, &[]);
    let (lines, elapsed) = without_stamps(&lines);
    assert_eq!(lines, expected, "the output of {name}");
    assert_eq!(elapsed, stamped_seconds, "the stamped time of {name}");
    lines
}

#[test]
fn level1_prints_hi_then_stephen_one_second_later() {
    check_example("level1", LEVEL1, None);
    let took = virtual_time_of(|runner| runner.run(level1::level1()));
    assert_eq!(took, Duration::from_secs(1));
}

#[test]
fn level2_says_hi_then_stephen_one_after_the_other_in_three_seconds() {
    check_example("level2", LEVEL2, Some(3));
    let took = virtual_time_of(|runner| runner.run(level2::level2()));
    assert_eq!(took, Duration::from_secs(3));
}

#[test]
fn level3_runs_the_group_concurrently_in_two_seconds() {
    check_example("level3", LEVEL3, Some(2));
    let took = virtual_time_of(|runner| runner.run(level3::level3()));
    assert_eq!(took, Duration::from_secs(2));
}

#[test]
fn level4_reports_the_bad_delay_with_its_type_and_cancels_the_other_two_in_no_time() {
    check_example("level4", LEVEL4, Some(0));
    let took = virtual_time_of(|runner| runner.run(level4::level4()));
    assert_eq!(took, Duration::ZERO);
}

#[test]
fn level5_closes_the_runner_after_three_seconds_before_the_last_background_task() {
    let lines = check_example("level5", LEVEL5, Some(3));
    assert!(!lines.iter().any(|line| line == "hi for the 4 time"));
    let took = virtual_time_of(level5::level5);
    assert_eq!(took, Duration::from_secs(3));
}

#[test]
fn the_appendix_awaits_two_created_tasks_in_two_seconds() {
    check_example("appendix", APPENDIX, Some(2));
    let took = virtual_time_of(|runner| runner.run(appendix::appendix()));
    assert_eq!(took, Duration::from_secs(2));
}

#[test]
fn the_virtual_tour_runs_every_level_in_order_at_once() {
    let (lines, took) = run_example("tour", &["--virtual"]);
    let (lines, _) = without_stamps(&lines);
    let mut expected = Vec::new();
    let levels = [
        ("Level 1: Running a coroutine", LEVEL1),
        ("Level 2: Run coroutines in series", LEVEL2),
        ("Level 3: Concurrent coroutines", LEVEL3),
        ("Level 4: TaskGroup errors", LEVEL4),
        ("Level 5: Fire-and-forget background tasks", LEVEL5),
        ("Appendix: Concurrent coroutines with create_task", APPENDIX),
    ];
    for (i, (title, level)) in levels.iter().enumerate() {
        if i > 0 {
            expected.push(String::new());
        }
        expected.push(format!("== {title} =="));
        expected.extend(level.iter().map(|line| line.to_string()));
    }
    expected.push(String::new());
    expected.push("== Why: API calls, one after the other, then concurrently ==".to_string());
    let (levels_part, api_calls) = lines.split_at(expected.len().min(lines.len()));
    assert_eq!(levels_part, expected);
    // The API calls: ten in order, then the same ten concurrently (in whatever order their
    // responses arrive over the sockets), then the comparison.
    let sequential: Vec<String> = (0..10)
        .map(|i| format!(r#"sequential: GET /quote/{i} -> 200 "quote {i}""#))
        .collect();
    assert_eq!(api_calls.len(), 21, "{api_calls:?}");
    assert_eq!(api_calls[..10], sequential[..]);
    let mut concurrent = api_calls[10..20].to_vec();
    concurrent.sort();
    let expected_concurrent: Vec<String> = sequential
        .iter()
        .map(|line| line.replacen("sequential", "concurrent", 1))
        .collect();
    assert_eq!(concurrent, expected_concurrent);
    assert!(
        api_calls[20].starts_with("sequential 2.0 s, concurrent 0.2 s"),
        "{}",
        api_calls[20]
    );
    // The real clock would take 13 seconds; allow a slow, shared machine its start-up.
    assert!(
        took < Duration::from_secs(5),
        "the virtual tour took {took:?}"
    );
}

#[test]
fn the_tour_refuses_an_unknown_argument() {
    let output = Command::new(example_binary("tour"))
        .arg("--fast")
        .output()
        .expect("the tour runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the only option is --virtual"), "{stderr}");
}
