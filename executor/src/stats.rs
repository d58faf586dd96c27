//! `LoopStats`: plain counters a loop keeps about its own work.

pub use looplet_timer::TimerStats;

/// Counters kept by a loop, read with [`Runner::stats`](crate::Runner::stats) or
/// [`stats`](fn@crate::stats) from inside a running loop. Tests assert on them (memory
/// follows live tasks); benches read them to explain their numbers.
///
/// # Examples
///
/// ```
/// use looplet::{create_task, Runner};
///
/// let mut runner = Runner::new();
/// runner.run(async {
///     for _ in 0..3 {
///         create_task(async {}).await.unwrap();
///     }
/// });
/// let stats = runner.stats();
/// assert_eq!(stats.spawned, 3);
/// assert_eq!(stats.live_tasks, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopStats {
    /// Tasks alive in the loop right now (created and not yet done).
    pub live_tasks: usize,
    /// Tasks created since the loop was made.
    pub spawned: u64,
    /// Polls of tasks (not counting the future given to `run`).
    pub polls: u64,
    /// Wakes that took the fast path on the loop's own thread and queued a task (or the
    /// future given to `run`). Wakes of a task already queued are not counted.
    pub local_wakes: u64,
    /// Wakes that arrived through the thread-safe queue and queued a task (or the future
    /// given to `run`).
    pub remote_wakes: u64,
    /// Wakes waiting in the thread-safe queue right now. A task is there at most once, so
    /// this never exceeds the live tasks plus one (the future given to `run`), however
    /// many wakes other threads send.
    pub remote_queue_len: u64,
    /// Times the loop blocked its thread waiting for work.
    pub parks: u64,
    /// I/O readiness events its I/O driver delivered (0 without one).
    pub io_events: u64,
    /// A hash of the sequence of polls so far (which task, in which order): equal in two
    /// runs that polled the same tasks in the same order. With a seed on the virtual
    /// clock, a single-threaded program's fingerprint is a function of its seed.
    pub schedule_fingerprint: u64,
    /// Slots the loop's task table has room for (its memory follows this; the name is
    /// from when the table was a `slab::Slab`).
    pub slab_capacity: usize,
    /// Task ids waiting in the ready queue right now.
    pub ready_len: usize,
    /// Task ids the ready queue has room for (given back when the loop parks with nothing
    /// to do).
    pub ready_capacity: usize,
    /// Freed task cells whose memory the loop keeps for its next tasks (trimmed to 256 KiB
    /// when it parks with nothing to do and when a `run` returns).
    pub cached_cells: usize,
    /// The bytes of those cells together.
    pub cached_cell_bytes: usize,
    /// The timer queue's counters.
    pub timers: TimerStats,
}
