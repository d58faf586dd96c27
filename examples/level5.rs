//! Level 5: fire-and-forget background tasks, on a runner that lives across `run` calls.
//!
//! A `Runner` keeps one event loop across many `run` calls (asyncio's `asyncio.Runner`):
//! tasks created during one call go on running during the next. The first call starts five
//! background tasks, due 0 to 4 seconds later, and returns at once; a `TaskSet` holds each
//! until its done callback removes it (asyncio's "keep a strong reference in a set,
//! `add_done_callback(set.discard)`"). The later calls give them time: 3 seconds in all.
//! Then the runner closes, as asyncio's does at the end of its `with` block, which cancels
//! what is left: "hi for the 4 time", due at 4 seconds, never prints, and its done callback
//! sees it cancelled and takes it out of the set.
//!
//! ```text
//! $ cargo run --example level5
//! started at 12:00:00
//! hi for the 0 time
//! Are we done yet?
//! hi for the 1 time
//! hi for the 2 time
//! hi for the 3 time
//! Okay, how about now?
//! finished at 12:00:03
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use looplet::{Runner, TaskSet};

fn main() {
    level5(&mut Runner::new());
}

/// Waits `delay` seconds, then prints `what`.
async fn say_after(delay: u64, what: String) {
    looplet::sleep(Duration::from_secs(delay)).await;
    println!("{what}");
}

/// Starts five background tasks (0 to 4 seconds) and returns without waiting for them.
async fn do_background_tasks(background_tasks: &TaskSet) {
    for i in 0..5 {
        // Creates the task, adds it to the set, and removes it in its done callback.
        background_tasks.spawn(say_after(i, format!("hi for the {i} time")));
    }
}

/// Runs the three calls on `runner`, then closes it.
pub fn level5(runner: &mut Runner) {
    println!("started at {}", time_of_day(runner.clock().system_time()));
    let background_tasks = TaskSet::new();
    // Fire and forget the background tasks.
    runner.run(do_background_tasks(&background_tasks));
    // Keep the loop running, and run other coroutines on it.
    runner.run(say_after(0, "Are we done yet?".to_string()));
    runner.run(say_after(3, "Okay, how about now?".to_string()));
    // Closing (or dropping) the runner cancels the last task; its callback empties the set.
    runner.close();
    debug_assert!(background_tasks.is_empty());
    println!("finished at {}", time_of_day(runner.clock().system_time()));
}

/// `at` on the loop's clock — real, or virtual under `LOOPLET_CLOCK=virtual` — as UTC
/// `HH:MM:SS` (Python's `time.strftime('%X')`). Read from the runner's clock: these
/// stamps are printed outside any `run`.
fn time_of_day(at: SystemTime) -> String {
    let seconds = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since_epoch| since_epoch.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60
    )
}
