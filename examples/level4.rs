//! Level 4: the first failure cancels the others; the errors come back together.
//!
//! Here the delay arrives as text, and `"A"` is not a number. That task fails at once, so
//! the group cancels its sibling (which never says hello) and the body, then returns every
//! error in a `GroupError` (asyncio's `ExceptionGroup`, caught with `except*`). Nothing
//! waits: it is over in no time.
//!
//! ```text
//! $ cargo run --example level4
//! started at 12:00:00
//! 0: 'A' is not a valid integer
//! finished at 12:00:00
//! ```

use std::time::{Duration, UNIX_EPOCH};

use looplet::{BoxError, TaskGroup};

fn main() {
    looplet::run(level4());
}

/// Waits `delay` seconds — given as text — then prints `what`. Bad text is an error.
async fn say_after(delay: &str, what: &str) -> Result<(), BoxError> {
    let seconds: u64 = delay
        .parse()
        .map_err(|_| format!("'{delay}' is not a valid integer"))?;
    looplet::sleep(Duration::from_secs(seconds)).await;
    println!("{what}");
    Ok(())
}

/// Starts a good task and a bad one; prints the group's errors.
pub async fn level4() {
    println!("started at {}", time_of_day());
    let outcome = TaskGroup::scope(|tg| async move {
        tg.create_fallible(say_after("1", "hello"));
        tg.create_fallible(say_after("A", "Stephen"));
        Ok(())
    })
    .await;
    if let Err(group) = outcome {
        for (i, error) in group.errors().iter().enumerate() {
            println!("{i}: {error}");
        }
    }
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
