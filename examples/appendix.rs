//! Appendix: tasks without a group, the way asyncio wrote it before Python 3.11.
//!
//! `looplet::create_task` starts a task at once and returns its handle. Awaiting the handle
//! waits for the task and hands over its output; `Task::result()` reads the output of a task
//! that is already done, without waiting (asyncio's `task.result()`). Both tasks run
//! concurrently, so this takes about 2 seconds.
//!
//! ```text
//! $ cargo run --example appendix
//! started at 12:00:00
//! hello
//! Stephen
//! finished at 12:00:02
//! task_1 returned "hello", task_2 returned "Stephen"
//! ```

use std::time::{Duration, UNIX_EPOCH};

fn main() {
    looplet::run(appendix());
}

/// Waits `delay` seconds, prints `what`, and returns it.
async fn say_after(delay: u64, what: &'static str) -> &'static str {
    looplet::sleep(Duration::from_secs(delay)).await;
    println!("{what}");
    what
}

/// Starts two tasks, waits for the later one, then reads both results.
pub async fn appendix() {
    let task_1 = looplet::create_task(say_after(1, "hello"));
    let task_2 = looplet::create_task(say_after(2, "Stephen"));
    println!("started at {}", time_of_day());
    // Wait until both tasks are done (about 2 seconds): task_2 ends last, and awaiting it
    // hands over its output.
    let said_2 = task_2
        .await
        .expect("task_2 neither panics nor is cancelled");
    println!("finished at {}", time_of_day());
    // task_1 ended a second ago, so its result is there to read without waiting.
    let said_1 = task_1.result().expect("task_1 is done");
    println!("task_1 returned {said_1:?}, task_2 returned {said_2:?}");
}

/// The time of day on the loop's clock — real, or virtual under `LOOPLET_CLOCK=virtual` —
/// as UTC `HH:MM:SS` (Python's `time.strftime('%X')`).
fn time_of_day() -> String {
    let seconds = looplet::system_time()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since_epoch| since_epoch.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60
    )
}
