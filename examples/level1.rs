//! Level 1: run a coroutine.
//!
//! A future does nothing until it is run. `looplet::run` makes an event loop, runs the
//! future on it to the end, and closes the loop (asyncio's `asyncio.run`).
//!
//! ```text
//! $ cargo run --example level1
//! hi
//! Stephen
//! ```

use std::time::Duration;

fn main() {
    looplet::run(level1());
}

/// Prints `hi`, waits a second, prints `Stephen`.
pub async fn level1() {
    println!("hi");
    looplet::sleep(Duration::from_secs(1)).await;
    println!("Stephen");
}
