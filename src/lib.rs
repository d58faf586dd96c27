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
    create_task, current_task_id, current_task_name, handle, run, spawner, stats, yield_now,
    Builder, CancelHandle, DoneCallbackId, Handle, LocalSpawner, LoopStats, RemoteTask, Runner,
    Task, TaskBuilder, TaskError, TaskId, TimerStats, YieldNow,
};
#[cfg(feature = "macros")]
pub use looplet_macros::{main, test};
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

/// Misused attributes are refused at compile time, with a message naming the fix:
///
/// ```compile_fail
/// #[looplet::test] // "goes on an `async fn`: add `async`"
/// fn not_async() {}
/// ```
///
/// ```compile_fail
/// #[looplet::main] // "takes no arguments"
/// async fn main(argument: u32) {}
/// ```
///
/// ```compile_fail
/// #[looplet::test(clock = "sundial")] // "`clock` is \"virtual\" or \"real\""
/// async fn odd_clock() {}
/// ```
#[cfg(all(doctest, feature = "macros"))]
pub struct MacroMisuse;

/// What `#[looplet::main]` and `#[looplet::test]` expand to call; not an API.
#[doc(hidden)]
pub mod __private {
    use std::future::Future;

    /// The clock an attribute asked for.
    pub enum MacroClock {
        /// `LOOPLET_CLOCK` decides, as for [`run`](crate::run).
        FromEnvironment,
        Virtual,
        Real,
    }

    /// Runs the attributed function's body on a new loop. `T` is the function's return
    /// type, written out by the attribute so that `?` in the body knows its error type.
    #[track_caller]
    pub fn run_to_completion<T, F: Future<Output = T>>(clock: MacroClock, body: F) -> T {
        let builder = crate::Runner::builder();
        let builder = match clock {
            MacroClock::FromEnvironment => builder,
            MacroClock::Virtual => builder.virtual_clock(true),
            MacroClock::Real => builder.virtual_clock(false),
        };
        builder.build().run(body)
    }
}
