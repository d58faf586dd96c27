//! Level 1: running a coroutine.
//!
//! A future does nothing until it is run: calling `main` only makes one (asyncio's
//! coroutine object). `looplet::run` makes an event loop, runs the future on it to the end,
//! and closes the loop (asyncio's `asyncio.run`).
//!
//! ```text
//! $ cargo run --example level1
//! hi
//! Stephen
//! ```

use std::time::Duration;

fn main() {
    // Simply calling an async fn does nothing: this prints nothing yet.
    let coroutine = level1();
    // looplet::run drives it on a new loop.
    looplet::run(coroutine);
}

/// Prints `hi`, waits a second, prints `Stephen`.
pub async fn level1() {
    println!("hi");
    looplet::sleep(Duration::from_secs(1)).await;
    println!("Stephen");
}
