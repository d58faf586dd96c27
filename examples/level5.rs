//! Level 5: fire-and-forget tasks, on a runner that lives across several `run` calls.
//!
//! A `Runner` keeps one event loop across many `run` calls (asyncio's `asyncio.Runner`):
//! tasks created during one call go on running during the next. The first call starts four
//! background tasks and returns at once; a `TaskSet` holds each until its done callback
//! removes it (asyncio's "keep a reference in a set, `add_done_callback(set.discard)`").
//! The later calls give them time: 3 seconds in all. Then the runner closes, which cancels
//! what is left — the fourth task, due at 4 seconds, never prints, and its done callback
//! sees it cancelled and takes it out of the set.
//!
//! ```text
//! $ cargo run --example level5
//! Are we done yet?
//! background task 1
//! background task 2
//! background task 3
//! Okay, how about now?
//! ```

use std::time::Duration;

use looplet::{Runner, TaskSet};

fn main() {
    let mut runner = Runner::new();
    level5(&mut runner);
}

/// Waits `delay` seconds, then prints `what`.
async fn say_after(delay: u64, what: String) {
    looplet::sleep(Duration::from_secs(delay)).await;
    println!("{what}");
}

/// Starts four background tasks (1 to 4 seconds) and returns without waiting for them.
async fn do_background_tasks(background: &TaskSet) {
    for i in 1..=4 {
        background.spawn(say_after(i, format!("background task {i}")));
    }
}

/// Runs the three calls on `runner`, then closes it.
pub fn level5(runner: &mut Runner) {
    let background = TaskSet::new();
    runner.run(do_background_tasks(&background));
    runner.run(say_after(0, "Are we done yet?".to_string()));
    runner.run(say_after(3, "Okay, how about now?".to_string()));
    // Closing (or dropping) the runner cancels the fourth task; its callback empties the set.
    runner.close();
    debug_assert!(background.is_empty());
}
