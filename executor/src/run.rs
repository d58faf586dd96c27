//! `run` and `Runner`: asyncio's `asyncio.run` and `asyncio.Runner`.
//!
//! A [`Runner`] owns one loop for its whole life. Each [`Runner::run`] drives the loop until
//! the given future finishes; tasks it created stay in the loop and go on running during
//! the next `run`. [`Runner::close`] — or dropping the runner — cancels what is left (their
//! done callbacks see the cancellation) and refuses further work. [`run`] is a runner used
//! once.

use std::fmt;
use std::future::Future;
use std::rc::Rc;

use looplet_timer::Clock;

use crate::event_loop::Core;
use crate::stats::LoopStats;
use std::path::PathBuf;
use std::time::Duration;

use crate::trace::{TraceSettings, Tracer};
use crate::Handle;

/// Runs `future` to completion on a new loop, cancels whatever tasks are left, and returns
/// the future's output (asyncio's `asyncio.run`).
///
/// The loop keeps real time, unless the environment variable `LOOPLET_CLOCK=virtual` asks
/// for the [virtual clock](Builder::virtual_clock) (handy to run a program's multi-second
/// sleeps at once in a test).
///
/// # Panics
///
/// Panics with "cannot be called from a running event loop" when called from inside a
/// loop; there, `.await` the future instead. A panic of `future` itself is resumed here,
/// after the loop has been closed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let answer = looplet::run(async {
///     looplet::sleep(Duration::from_millis(1)).await;
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    Runner::new().core.block_on("looplet::run", future)
}

/// One loop across many `run` calls (asyncio's `asyncio.Runner`).
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use looplet::{create_task, yield_now, Runner};
///
/// let ticks = Rc::new(Cell::new(0));
/// let mut runner = Runner::new();
/// let counter = ticks.clone();
/// runner.run(async move {
///     // This task outlives the first `run` call and goes on in the second.
///     drop(create_task(async move {
///         loop {
///             counter.set(counter.get() + 1);
///             yield_now().await;
///         }
///     }));
/// });
/// runner.run(async {
///     yield_now().await;
///     yield_now().await;
/// });
/// assert!(ticks.get() >= 2);
/// runner.close(); // cancels the endless task
/// ```
pub struct Runner {
    core: Rc<Core>,
}

impl Runner {
    /// A runner on the real clock (or the virtual one, if `LOOPLET_CLOCK=virtual`).
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::Runner;
    ///
    /// let mut runner = Runner::new();
    /// assert_eq!(runner.run(async { 1 + 1 }), 2);
    /// assert_eq!(runner.run(async { 2 + 2 }), 4); // the same loop, run again
    /// ```
    pub fn new() -> Runner {
        Builder::new().build()
    }

    /// A builder to choose the clock and trace mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::Runner;
    ///
    /// let runner = Runner::builder().virtual_clock(true).build();
    /// assert!(runner.clock().is_virtual());
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Runs `future` to completion on this runner's loop, driving its tasks meanwhile.
    ///
    /// # Panics
    ///
    /// Panics when the runner is closed, when called from inside a running loop, and
    /// resumes a panic of `future` itself (the loop stays usable).
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, Runner};
    ///
    /// let mut runner = Runner::new();
    /// let task = runner.run(async { create_task(async { 5 }) });
    /// assert!(!task.is_done()); // the first run ended before the task was polled...
    /// assert_eq!(runner.run(task).unwrap(), 5); // ...and the next run drives it
    /// ```
    #[track_caller]
    pub fn run<F: Future>(&mut self, future: F) -> F::Output {
        self.core.block_on("Runner::run", future)
    }

    /// Cancels every task still in the loop, runs their done callbacks, and closes the
    /// runner: later `run` calls panic. Closing twice is harmless.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, Runner};
    ///
    /// let mut runner = Runner::new();
    /// let task = runner.run(async { create_task(std::future::pending::<()>()) });
    /// runner.close();
    /// assert!(task.is_cancelled());
    /// ```
    pub fn close(&mut self) {
        self.core.close();
    }

    /// Whether [`close`](Runner::close) has been called.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::Runner;
    ///
    /// let mut runner = Runner::new();
    /// assert!(!runner.is_closed());
    /// runner.close();
    /// runner.close(); // harmless
    /// assert!(runner.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    /// A `Send` handle for submitting work to this loop from other threads.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::Runner;
    ///
    /// let mut runner = Runner::new();
    /// let handle = runner.handle();
    /// let worker = std::thread::spawn(move || handle.spawn(async { 6 * 7 }));
    /// let remote = worker.join().unwrap(); // submitted; the loop runs it once it runs
    /// assert_eq!(runner.run(remote).unwrap(), 42);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle::new(self.core.remote().clone())
    }

    /// The loop's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, Runner};
    ///
    /// let mut runner = Runner::new();
    /// runner.run(async { drop(create_task(std::future::pending::<()>())) });
    /// assert_eq!(runner.stats().live_tasks, 1); // detached, still pending in the loop
    /// runner.close();
    /// assert_eq!(runner.stats().live_tasks, 0);
    /// ```
    pub fn stats(&self) -> LoopStats {
        self.core.stats()
    }

    /// The seed this runner's schedule is drawn from (see [`Builder::seed`]); `None` when
    /// it polls in FIFO order.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::Runner;
    ///
    /// assert_eq!(Runner::builder().seed(42).build().seed(), Some(42));
    /// ```
    pub fn seed(&self) -> Option<u64> {
        self.core.seed()
    }

    /// The loop's clock, e.g. to read how much virtual time a run took.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use looplet::Runner;
    ///
    /// let mut runner = Runner::builder().virtual_clock(true).build();
    /// let start = runner.clock().now();
    /// runner.run(async { looplet::sleep(Duration::from_millis(250)).await });
    /// assert_eq!(runner.clock().now() - start, Duration::from_millis(250));
    /// ```
    pub fn clock(&self) -> &Clock {
        self.core.timers().clock()
    }
}

impl Default for Runner {
    fn default() -> Runner {
        Runner::new()
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.core.close();
    }
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("closed", &self.is_closed())
            .field("stats", &self.stats())
            .finish()
    }
}

/// Settings for a [`Runner`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use looplet::Runner;
///
/// let mut runner = Runner::builder().virtual_clock(true).build();
/// let start = runner.clock().now();
/// runner.run(async { looplet::sleep(Duration::from_secs(3600)).await }); // at once
/// assert_eq!(runner.clock().now() - start, Duration::from_secs(3600));
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    virtual_clock: Option<bool>,
    trace: Option<bool>,
    trace_file: Option<PathBuf>,
    debug: Option<bool>,
    slow_poll_threshold: Option<Duration>,
    seed: Option<u64>,
}

impl Builder {
    /// Default settings: environment variables decide, then real clock and no trace.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::Builder;
    ///
    /// // The same as `Runner::builder()`.
    /// let mut runner = Builder::new().virtual_clock(true).build();
    /// assert!(runner.clock().is_virtual());
    /// assert_eq!(runner.run(async { "done" }), "done");
    /// ```
    pub fn new() -> Builder {
        Builder {
            virtual_clock: None,
            trace: None,
            trace_file: None,
            debug: None,
            slow_poll_threshold: None,
            seed: None,
        }
    }

    /// Run on a virtual clock that jumps to the next timer whenever the loop is idle, so
    /// sleeps take no real time and elapsed times are exact. Overrides `LOOPLET_CLOCK`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{future::pending, time::Duration};
    /// use looplet::Runner;
    ///
    /// let mut runner = Runner::builder().virtual_clock(true).build();
    /// let start = runner.clock().now();
    /// let outcome = runner.run(async {
    ///     looplet::timeout(Duration::from_secs(5), pending::<()>()).await
    /// });
    /// assert!(outcome.is_err()); // timed out after exactly 5 virtual seconds, at once
    /// assert_eq!(runner.clock().now() - start, Duration::from_secs(5));
    /// ```
    pub fn virtual_clock(mut self, enabled: bool) -> Builder {
        self.virtual_clock = Some(enabled);
        self
    }

    /// Print one line per loop event on stderr. Overrides `LOOPLET_TRACE=1`.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, Runner};
    ///
    /// let mut runner = Runner::builder().trace(true).virtual_clock(true).build();
    /// // stderr gets lines such as `poll     Task-1`; the tasks' behaviour is unchanged.
    /// let value = runner.run(async { create_task(async { 3 }).await.unwrap() });
    /// assert_eq!(value, 3);
    /// ```
    pub fn trace(mut self, enabled: bool) -> Builder {
        self.trace = Some(enabled);
        self
    }

    /// Also record the loop's events in the Chrome trace-event format, written to `path`
    /// when the runner closes; open it in <https://ui.perfetto.dev> or `chrome://tracing`.
    /// Same as `LOOPLET_TRACE=path.json`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let path = std::env::temp_dir().join("looplet-builder-doc.json");
    /// let mut runner = looplet::Runner::builder()
    ///     .virtual_clock(true)
    ///     .trace_file(&path)
    ///     .build();
    /// runner.run(async {
    ///     let task = looplet::create_task(async {
    ///         looplet::sleep(Duration::from_secs(1)).await;
    ///     });
    ///     task.await.unwrap();
    /// });
    /// drop(runner);
    /// let json = std::fs::read_to_string(&path).unwrap();
    /// assert!(json.starts_with("{\"traceEvents\""));
    /// assert!(json.contains("\"Task-1\""));
    /// ```
    pub fn trace_file(mut self, path: impl Into<PathBuf>) -> Builder {
        self.trace_file = Some(path.into());
        self
    }

    /// Debug mode (asyncio's): warn on stderr when one poll blocks the loop longer than
    /// the [slow-poll threshold](Builder::slow_poll_threshold), and when the runner closes
    /// with tasks still pending. Overrides `LOOPLET_DEBUG`.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, Runner};
    ///
    /// let mut runner = Runner::builder().debug(true).build();
    /// let task = runner.run(async { create_task(std::future::pending::<()>()) });
    /// // stderr: "looplet debug: runner closed with 1 task(s) pending, now cancelled: Task-1"
    /// runner.close();
    /// assert!(task.is_cancelled());
    /// ```
    pub fn debug(mut self, enabled: bool) -> Builder {
        self.debug = Some(enabled);
        self
    }

    /// How long one poll may take before debug mode warns; 100 ms unless set.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use looplet::Runner;
    ///
    /// let mut runner = Runner::builder()
    ///     .virtual_clock(true)
    ///     .debug(true)
    ///     .slow_poll_threshold(Duration::from_millis(10))
    ///     .build();
    /// let start = runner.clock().now();
    /// // Awaiting a sleep suspends the task rather than blocking the loop: no warning.
    /// runner.run(async { looplet::sleep(Duration::from_secs(60)).await });
    /// assert_eq!(runner.clock().now() - start, Duration::from_secs(60));
    /// ```
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.slow_poll_threshold = Some(threshold);
        self
    }

    /// Polls each tick's ready tasks in an order drawn from `seed` instead of FIFO, to
    /// find bugs that FIFO order hides (see the guide's "Find the bug FIFO hides"). The
    /// same seed gives the same order; on the virtual clock a single-threaded program is
    /// then a function of its seed, checked by [`LoopStats::schedule_fingerprint`].
    /// Overrides `LOOPLET_SEED`.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::{create_task, Runner};
    ///
    /// let order_with = |seed| {
    ///     let mut runner = Runner::builder().virtual_clock(true).seed(seed).build();
    ///     let order = runner.run(async {
    ///         let tasks: Vec<_> = (0..5).map(|i| create_task(async move { i })).collect();
    ///         let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    ///         for task in &tasks {
    ///             let order = order.clone();
    ///             task.add_done_callback(move |task| order.borrow_mut().push(task.id()));
    ///         }
    ///         for task in tasks {
    ///             task.await.unwrap();
    ///         }
    ///         looplet::yield_now().await;
    ///         order.take()
    ///     });
    ///     (order, runner.stats().schedule_fingerprint)
    /// };
    /// assert_eq!(order_with(7), order_with(7)); // replayable, bit for bit
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = Some(seed);
        self
    }

    /// Makes the runner.
    ///
    /// # Panics
    ///
    /// Panics when `LOOPLET_SEED` is set (and no [`seed`](Builder::seed) was given) but is
    /// not a number.
    ///
    /// # Examples
    ///
    /// ```
    /// use looplet::Runner;
    ///
    /// let mut runner = Runner::builder().virtual_clock(false).build();
    /// assert!(!runner.clock().is_virtual()); // the setting overrides `LOOPLET_CLOCK`
    /// assert_eq!(runner.run(async { 7 }), 7);
    /// ```
    pub fn build(self) -> Runner {
        let virtual_clock = self.virtual_clock.unwrap_or_else(|| {
            std::env::var("LOOPLET_CLOCK").is_ok_and(|clock| clock.eq_ignore_ascii_case("virtual"))
        });
        let clock = if virtual_clock {
            Clock::new_virtual()
        } else {
            Clock::new_real()
        };
        let seed = self.seed.or_else(seed_from_env);
        let mut settings = TraceSettings::from_env();
        if let Some(text) = self.trace {
            settings.text = text;
        }
        if let Some(path) = self.trace_file {
            settings.chrome_file = Some(path);
        }
        if let Some(debug) = self.debug {
            settings.debug = debug;
        }
        settings.slow_poll_threshold = self.slow_poll_threshold;
        Runner {
            core: Core::new(clock, Tracer::new(settings), seed),
        }
    }
}

/// `LOOPLET_SEED`, read like `LOOPLET_CLOCK`.
#[track_caller]
fn seed_from_env() -> Option<u64> {
    let value = std::env::var("LOOPLET_SEED").ok()?;
    match value.trim().parse() {
        Ok(seed) => Some(seed),
        Err(_) => panic!(
            "LOOPLET_SEED={value:?} is not a seed: set it to an unsigned number, such as \
             the one a failed seeded test printed, or unset it for FIFO order"
        ),
    }
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}
