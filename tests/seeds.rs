//! Finding the bug FIFO hides: the race in `examples/find_the_race.rs` passes in FIFO order,
//! is found within 100 seeds, replays from its seed bit for bit, and its fix passes every
//! seed; a failing `#[looplet::test(seeds = N)]` prints the command that replays it alone,
//! and that command does.

#[path = "../examples/find_the_race.rs"]
mod find_the_race;

use std::process::Command;

use find_the_race::{startup, warm_and_serve};

#[test]
fn the_race_passes_in_fifo_order_every_time() {
    for _ in 0..10 {
        assert_eq!(startup(None, false).0, 1);
    }
}

#[test]
fn the_race_is_found_within_100_seeds_and_replays_from_its_seed() {
    let seed = (0..100)
        .find(|&seed| startup(Some(seed), false).0 > 1)
        .expect("some seed out of 100 calls the backend twice");
    let (calls, fingerprint) = startup(Some(seed), false);
    assert_eq!(calls, 2);
    assert_eq!(
        startup(Some(seed), false),
        (calls, fingerprint),
        "replayed bit for bit"
    );
}

#[test]
fn the_single_flight_fix_passes_under_every_seed() {
    for seed in 0..100 {
        assert_eq!(startup(Some(seed), true).0, 1, "seed {seed}");
    }
}

#[looplet::test(seeds = 100)]
async fn the_fixed_cache_calls_the_backend_once_under_100_seeds() {
    assert_eq!(warm_and_serve(true).await, 1);
}

/// The racy cache under seeds: fails on purpose, so it runs only in the child processes
/// of the next test (which set `LOOPLET_SEEDS_DEMO`).
#[looplet::test(seeds = 100)]
#[ignore = "fails on purpose; a_failing_seeded_test_prints_the_line_that_replays_it runs it"]
async fn racy_cache_under_seeds() {
    if std::env::var_os("LOOPLET_SEEDS_DEMO").is_some() {
        assert_eq!(
            warm_and_serve(false).await,
            1,
            "the backend was called twice"
        );
    }
}

/// Runs `racy_cache_under_seeds` in a child process: whether it passed, and its stderr.
fn run_racy_test(seed: Option<&str>) -> (bool, String) {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--ignored",
            "--exact",
            "--nocapture",
            "racy_cache_under_seeds",
        ])
        .env("LOOPLET_SEEDS_DEMO", "1")
        .env_remove("LOOPLET_SEED");
    if let Some(seed) = seed {
        child.env("LOOPLET_SEED", seed);
    }
    let output = child.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_failing_seeded_test_prints_the_line_that_replays_it() {
    let (passed, stderr) = run_racy_test(None);
    assert!(!passed, "the race was found:\n{stderr}");
    let replay = stderr
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("LOOPLET_SEED="))
        .unwrap_or_else(|| panic!("a replay line in:\n{stderr}"));
    assert!(
        replay.ends_with("cargo test racy_cache_under_seeds -- --exact"),
        "{replay}"
    );
    let seed = replay
        .trim_start_matches("LOOPLET_SEED=")
        .split_whitespace()
        .next()
        .unwrap();
    // The line replays that one seed, alone, and it fails again the same way.
    let (passed_again, again) = run_racy_test(Some(seed));
    assert!(!passed_again, "seed {seed} fails again:\n{again}");
    assert!(again.contains(&format!("under seed {seed};")), "{again}");
    assert_eq!(
        again.matches("failed under seed").count(),
        1,
        "one seed ran"
    );
}
