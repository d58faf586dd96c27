//! looplet: a small single-threaded async executor with Python asyncio's working model.
//!
//! [`run`] a future, [`create_task`] to run more of them concurrently, [`sleep`] on the
//! loop's clock, and let a [`TaskGroup`] wait for (and cancel) a set of children.
//! Underneath is a hand-written event loop you can read in an afternoon: the
//! `looplet-executor`, `looplet-timer`, `looplet-taskgroup` and `looplet-io` crates, each
//! re-exported here.
//!
//! New here? The guide, `docs/GUIDE.md` in the repository, puts the asyncio tutorial and
//! looplet side by side, maps asyncio's names to looplet's (and tokio's), and walks
//! through the loop.
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
//! let start = runner.clock().now();
//! runner.run(async {
//!     let hello = looplet::create_task(say_after(1, "hello"));
//!     let world = looplet::create_task(say_after(2, "world"));
//!     hello.await.unwrap();
//!     world.await.unwrap();
//! });
//! assert_eq!(runner.clock().now() - start, Duration::from_secs(2)); // 2 s, not 3
//! ```
//!
//! # What is here
//!
//! * **Running a loop** — [`run`] (asyncio's `asyncio.run`), [`Runner`] (`asyncio.Runner`:
//!   one loop across many `run` calls) and its [`Builder`] (clock, trace, debug mode,
//!   seed), `#[looplet::main]` and `#[looplet::test]`.
//! * **Tasks** — [`create_task`] and [`TaskBuilder`] (names, eager start) give a [`Task`]:
//!   await it, [`cancel`](Task::cancel) it, add [done callbacks](Task::add_done_callback),
//!   read its [`result`](Task::result); a [`TaskError`] says why there is no value.
//!   [`yield_now`], [`current_task_id`], [`current_task_name`].
//! * **Groups and sets** — [`TaskGroup`] (asyncio's structured concurrency: the first
//!   failure cancels the rest, no child outlives its group; [`TaskGroup::supervise`] for a
//!   supervisor whose children fail alone; [`TaskGroup::start`], Trio's `nursery.start`) and
//!   [`TaskSet`] (background tasks, outcomes as they finish).
//! * **Time** — [`sleep`], [`sleep_until`], [`timeout`], [`interval`], [`now`],
//!   [`system_time`], on the loop's [`Clock`] (real, or virtual: sleeps take no real time;
//!   [`advance`] and [`set_auto_advance`] drive it by hand in a test).
//! * **I/O** — [`net`] (TCP, UDP, Unix sockets) and [`io::Async`] for any pollable file
//!   descriptor, on the loop's own reactor; [`signal::ctrl_c`].
//! * **Other threads** — a [`Handle`] submits `Send` futures from any thread (asyncio's
//!   `run_coroutine_threadsafe`), a [`CancelHandle`] cancels a task from any thread.
//! * **Watching the loop** — [`stats`] and [`Runner::stats`] ([`LoopStats`]), and the
//!   environment variables below.
//!
//! # Environment variables
//!
//! Any looplet program reads these (the [`Builder`] has the same switches in code, which
//! win):
//!
//! | variable | effect |
//! |---|---|
//! | `LOOPLET_CLOCK=virtual` | run on the virtual clock: sleeps take no real time, elapsed times are exact |
//! | `LOOPLET_TRACE=1` | one line per loop event on stderr |
//! | `LOOPLET_TRACE=run.json` | the same events as a Chrome trace, written when the loop closes |
//! | `LOOPLET_DEBUG=1` | asyncio's debug mode: warns about slow polls and tasks pending at close |
//! | `LOOPLET_SEED=n` | poll each tick's ready tasks in an order drawn from seed `n` instead of FIFO |

pub use looplet_executor::{
    create_task, current_task_id, current_task_name, handle, run, spawner, stats, yield_now,
    Builder, CancelHandle, DoneCallbackId, Handle, LocalSpawner, LoopStats, RemoteTask, Runner,
    Task, TaskBuilder, TaskError, TaskId, TimerStats, YieldNow,
};
#[cfg(feature = "macros")]
pub use looplet_macros::{main, test};
pub use looplet_taskgroup::{
    AnyValue, BoxError, ChildBuilder, ChildTask, ChildValue, CreateTaskError, GroupError,
    GroupState, JoinAll, JoinNext, Scope, Start, StartError, Started, TaskGroup, TaskSet,
    UseCreateFallible,
};
pub use looplet_timer::{
    advance, auto_advance, interval, interval_at, now, set_auto_advance, sleep, sleep_until,
    system_time, timeout, timeout_at, try_now, Advance, Clock, Elapsed, Interval,
    MissedTickBehavior, Sleep, Timeout,
};

/// Sockets on the loop's own reactor (TCP, UDP, Unix-domain), from `looplet-io`.
pub use looplet_io::net;

/// Ctrl-C as a future: `signal::ctrl_c().await`, from `looplet-io`.
pub use looplet_io::signal;

/// Any pollable file descriptor on the loop's reactor: [`Async<T>`](io::Async).
pub mod io {
    pub use looplet_io::{Async, Ready};
}

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

    /// What a test body returned, as a seeded run needs to know it: did it fail?
    pub trait TestOutcome {
        /// Whether this outcome fails the test.
        fn failed(&self) -> bool;
    }

    impl TestOutcome for () {
        fn failed(&self) -> bool {
            false
        }
    }

    impl<T, E> TestOutcome for Result<T, E> {
        fn failed(&self) -> bool {
            self.is_err()
        }
    }

    /// Runs a test body made by `make` under `seeds` seeded schedules, or only under
    /// `LOOPLET_SEED` when that is set; the first failure (a panic or an `Err`) is reported
    /// with the command that replays it alone, and returned.
    #[track_caller]
    pub fn run_seeded<T: TestOutcome, F: Future<Output = T>, M: Fn() -> F>(
        clock: MacroClock,
        seeds: u64,
        module: &str,
        name: &str,
        make: M,
    ) -> T {
        // The test's path as libtest names it: the module path without the crate's name.
        let test = match module.split_once("::") {
            Some((_, path)) => format!("{path}::{name}"),
            None => name.to_owned(),
        };
        let replayed = std::env::var("LOOPLET_SEED").ok().map(|value| {
            value.trim().parse::<u64>().unwrap_or_else(|_| {
                panic!("LOOPLET_SEED={value:?} is not a seed: set it to an unsigned number")
            })
        });
        let chosen: Vec<u64> = match replayed {
            Some(seed) => vec![seed],
            None => (0..seeds).collect(),
        };
        let report = |seed: u64| {
            eprintln!(
                "looplet: {test} failed under seed {seed}; replay it alone with:\n    \
                 LOOPLET_SEED={seed} cargo test {test} -- --exact"
            );
        };
        let mut last = None;
        for seed in chosen {
            let builder = crate::Runner::builder().seed(seed);
            let builder = match clock {
                MacroClock::FromEnvironment => builder,
                MacroClock::Virtual => builder.virtual_clock(true),
                MacroClock::Real => builder.virtual_clock(false),
            };
            let mut runner = builder.build();
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner.run(make())));
            drop(runner);
            match outcome {
                Err(payload) => {
                    report(seed);
                    std::panic::resume_unwind(payload);
                }
                Ok(outcome) if outcome.failed() => {
                    report(seed);
                    return outcome;
                }
                Ok(outcome) => last = Some(outcome),
            }
        }
        last.expect("at least one seed runs")
    }
}
