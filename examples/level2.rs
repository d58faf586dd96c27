//! Level 2: running coroutines in series.
//!
//! `.await` waits for a future to finish before going on, so "hi" comes after 1 second and
//! "Stephen" 2 seconds later: 3 seconds in all.
//!
//! ```text
//! $ cargo run --example level2
//! started at 12:00:00
//! hi
//! Stephen
//! finished at 12:00:03
//! ```

use std::time::{Duration, UNIX_EPOCH};

fn main() {
    looplet::run(level2());
}

/// Waits `delay` seconds, then prints `what`.
async fn say_after(delay: u64, what: &str) {
    looplet::sleep(Duration::from_secs(delay)).await;
    println!("{what}");
}

/// Says hi after 1 second, then Stephen 2 seconds later: about 3 seconds.
pub async fn level2() {
    println!("started at {}", time_of_day());
    say_after(1, "hi").await;
    say_after(2, "Stephen").await;
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
