//! Level 3: concurrent coroutines in a task group.
//!
//! `TaskGroup::scope` runs its body with a group handle `tg`; each `tg.create_task` starts a
//! task that runs concurrently with the others. The scope returns only when every task in
//! it is done (asyncio's `async with asyncio.TaskGroup() as tg:`), so the two waits overlap
//! and take about 2 seconds, not 3.
//!
//! ```text
//! $ cargo run --example level3
//! started at 12:00:00
//! hello
//! Stephen
//! finished at 12:00:02
//! ```

use std::time::{Duration, UNIX_EPOCH};

use looplet::TaskGroup;

fn main() {
    looplet::run(level3());
}

/// Waits `delay` seconds, then prints `what`.
async fn say_after(delay: u64, what: &'static str) {
    looplet::sleep(Duration::from_secs(delay)).await;
    println!("{what}");
}

/// Says hello and Stephen concurrently: about 2 seconds.
pub async fn level3() {
    println!("started at {}", time_of_day());
    TaskGroup::scope(|tg| async move {
        tg.create_task(say_after(1, "hello"));
        tg.create_task(say_after(2, "Stephen"));
        Ok(())
    })
    .await
    .expect("say_after cannot fail");
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
