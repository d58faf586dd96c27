//! Appendix: concurrent coroutines with `create_task`, the way asyncio wrote it before
//! Python 3.11 had task groups.
//!
//! `looplet::create_task` schedules a task at once and returns its handle; awaiting the
//! handle waits for the task and hands over its output. Both tasks run concurrently, so
//! this takes about 2 seconds, not 3.
//!
//! ```text
//! $ cargo run --example appendix
//! started at 12:00:00
//! hello
//! Stephen
//! finished at 12:00:02
//! ```

use std::time::{Duration, UNIX_EPOCH};

fn main() {
    looplet::run(appendix());
}

/// Waits `delay` seconds, then prints `what`.
async fn say_after(delay: u64, what: &'static str) {
    looplet::sleep(Duration::from_secs(delay)).await;
    println!("{what}");
}

/// Starts two tasks, then waits for one and the other: about 2 seconds.
pub async fn appendix() {
    println!("started at {}", time_of_day());
    let task_1 = looplet::create_task(say_after(1, "hello"));
    let task_2 = looplet::create_task(say_after(2, "Stephen"));
    // A task's handle gives `Err` only if the task panicked or was cancelled.
    task_1
        .await
        .expect("task_1 neither panics nor is cancelled");
    task_2
        .await
        .expect("task_2 neither panics nor is cancelled");
    println!("finished at {}", time_of_day());
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
