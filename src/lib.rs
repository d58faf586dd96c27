//! looplet: a small single-threaded async executor with Python asyncio's working model.
//!
//! `run` a future, `create_task` to run more of them concurrently, `sleep` on the loop's
//! clock, and let a `TaskGroup` wait for (and cancel) a set of children. Underneath is a
//! hand-written event loop you can read in an afternoon: see the `looplet-executor`,
//! `looplet-timer` and `looplet-taskgroup` crates, each re-exported here.
//!
//! New here? The guide, `docs/GUIDE.md` in the repository, puts the asyncio tutorial and
//! looplet side by side, maps asyncio's names to looplet's, and walks through the loop.
//!
//! ```
//! use std::time::Duration;
//!
//! async fn say_after(delay: u64, what: &str) {
//!     looplet::sleep(Duration::from_secs(delay)).await;
//!     println!("{what}");
//! }
//!
//! // The virtual clock jumps over the sleeps, so this example takes no real time.
//! let mut runner = looplet::Runner::builder().virtual_clock(true).build();
//! runner.run(async {
//!     let hello = looplet::create_task(say_after(1, "hello"));
//!     let world = looplet::create_task(say_after(2, "world"));
//!     hello.await.unwrap();
//!     world.await.unwrap();
//! });
//! ```

pub use looplet_executor::{
    create_task, current_task_id, handle, run, spawner, stats, yield_now, Builder, Handle,
    LocalSpawner, LoopStats, RemoteTask, Runner, Task, TaskBuilder, TaskError, TaskId, TimerStats,
    YieldNow,
};
pub use looplet_taskgroup::{
    BoxError, ChildOutput, ChildTask, CreateTaskError, GroupError, GroupState, JoinAll, Scope,
    TaskGroup, TaskSet,
};
pub use looplet_timer::{
    interval, interval_at, now, sleep, sleep_until, system_time, timeout, timeout_at, try_now,
    Elapsed, Interval, Sleep, Timeout,
};

/// The Rust blocks of `docs/GUIDE.md`, compiled and run as doctests so the guide cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../docs/GUIDE.md")]
pub struct GuideDoctests;
