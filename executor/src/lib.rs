//! looplet's event loop: a single-threaded executor with asyncio's working model.
//!
//! # The life of a task, in five steps
//!
//! 1. **Created.** [`create_task`] allocates one cell holding the task's header and future,
//!    puts it in the loop's task table under a [`TaskId`] (slot + never-reused number), and
//!    pushes it onto the FIFO ready queue (an [eager](TaskBuilder::eager) task is polled at
//!    once instead). The caller gets a [`Task<T>`] handle to the same cell.
//! 2. **Polled.** Each tick polls only the tasks that were ready when the tick began (in
//!    FIFO order, or in an order drawn from a [seed](Builder::seed)), with a borrowed waker
//!    that points at the task's cell. No loop state is borrowed during the poll.
//! 3. **Woken.** The waker is `Send + Sync`. On the loop's own thread it pushes the task onto
//!    the ready queue directly; from any other thread it goes through a lock-free queue and
//!    unparks the loop. A task is in each queue at most once however often, and from however
//!    many threads, it is woken.
//! 4. **Idle.** With nothing ready the loop runs queued callbacks, fires due timers, drains
//!    the remote queue, gives back what a burst left behind, and parks until the next timer
//!    deadline, a remote wake or (with an I/O [`Driver`]) an I/O event; on a virtual clock
//!    it jumps to the deadline instead.
//! 5. **Done.** A finished, panicked or cancelled task leaves the table; whoever awaits its
//!    handle is woken and its done callbacks run, in order, from the loop. A panic in any
//!    user code the loop runs or drops on its own behalf is contained and reported.
//!
//! ```
//! use std::time::Duration;
//! use looplet::{create_task, Runner};
//!
//! let mut runner = Runner::builder().virtual_clock(true).build();
//! let start = runner.clock().now();
//! let sum = runner.run(async {
//!     let slow = create_task(async {
//!         looplet::sleep(Duration::from_secs(2)).await;
//!         2
//!     });
//!     let fast = create_task(async {
//!         looplet::sleep(Duration::from_secs(1)).await;
//!         1
//!     });
//!     slow.await.unwrap() + fast.await.unwrap()
//! });
//! assert_eq!(sum, 3);
//! assert_eq!(runner.clock().now() - start, Duration::from_secs(2)); // concurrent, not 3 s
//! ```
//!
//! # Misuse
//!
//! Nested `run` calls, `create_task` with no loop, a closed runner: each is a panic whose
//! message names the fix. A task's panic never escapes the loop: it is caught and handed
//! to whoever awaits the task, or reported on stderr if nobody can.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod cancel;
mod context;
mod event_loop;
mod handle;
mod park;
mod prefetch;
mod refs;
mod remote;
mod run;
mod schedule;
mod spawn;
mod stats;
mod sync;
mod table;
mod task;
mod trace;
mod waker;

pub use cancel::CancelHandle;
pub use handle::{handle, Handle, RemoteTask};
pub use park::{install_driver, Driver, Unpark};
pub use run::{run, Builder, Runner};
pub use spawn::{
    create_task, current_task_id, current_task_name, spawner, stats, yield_now, LocalSpawner,
    TaskBuilder, YieldNow,
};
pub use stats::{LoopStats, TimerStats};
pub use task::{DoneCallbackId, Task, TaskError, TaskId};

/// A `Task` belongs to its loop's thread, so it is not `Send`:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// looplet::run(async {
///     send(looplet::create_task(async {}));
/// });
/// ```
///
/// and neither is a `Runner`:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(looplet::Runner::new());
/// ```
///
/// while futures given to `create_task` need not be `Send` at all:
///
/// ```
/// use std::rc::Rc;
/// looplet::run(async {
///     let not_send = Rc::new(5);
///     let task = looplet::create_task(async move { *not_send });
///     assert_eq!(task.await.unwrap(), 5);
/// });
/// ```
#[cfg(doctest)]
pub struct SendSyncClaims;

/// Compile-time checks of the `Send`/`Sync` claims in the docs.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    const fn send<T: Send>() {}
    send_sync::<Handle>();
    send_sync::<CancelHandle>();
    send_sync::<TaskError>();
    send::<RemoteTask<u8>>();
};
