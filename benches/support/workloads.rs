//! The workloads, written once for every [`Runtime`].
//!
//! Each function runs one whole workload inside `rt.block_on` and returns a checksum the
//! smoke test checks (see [`expected`]); the benches call them with the full sizes below,
//! the smoke test with tiny ones.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use super::{Runtime, YieldOnce};

/// `spawn_join`: tasks spawned, each returning its index.
pub const SPAWN_JOIN_TASKS: u64 = 100_000;
/// `yield_many`: tasks, each yielding [`YIELDS_PER_TASK`] times.
pub const YIELD_TASKS: u64 = 1_000;
/// `yield_many`: yields per task.
pub const YIELDS_PER_TASK: u64 = 1_000;
/// `ping_pong`: round trips between the two tasks.
pub const ROUND_TRIPS: u64 = 100_000;
/// `timers`: tasks, each sleeping once.
pub const TIMERS: u64 = 100_000;
/// `remote_wake`: messages sent from the other thread.
pub const REMOTE_MESSAGES: u64 = 100_000;
/// `taskgroup`: groups, run one after the other.
pub const GROUPS: u64 = 100;
/// `taskgroup`: children per group.
pub const CHILDREN_PER_GROUP: u64 = 1_000;
/// memory: tasks parked in a one-second sleep.
pub const IDLE_TASKS: u64 = 100_000;

/// Spawns `tasks` trivial tasks returning their index, awaits the handles in order, and
/// returns the sum of the outputs (`tasks * (tasks - 1) / 2`).
pub fn spawn_join<R: Runtime>(rt: &mut R, tasks: u64) -> u64 {
    rt.block_on(async move {
        let handles: Vec<_> = (0..tasks).map(|i| R::spawn(async move { i })).collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await;
        }
        sum
    })
}

/// Spawns `tasks` tasks that each await [`YieldOnce`] `yields` times, and returns the
/// number of yields done (`tasks * yields`).
pub fn yield_many<R: Runtime>(rt: &mut R, tasks: u64, yields: u64) -> u64 {
    rt.block_on(async move {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                R::spawn(async move {
                    for _ in 0..yields {
                        YieldOnce::new().await;
                    }
                    yields
                })
            })
            .collect();
        let mut total = 0;
        for handle in handles {
            total += handle.await;
        }
        total
    })
}

/// Two tasks bounce a counter `round_trips` times over two bounded(1) channels of
/// `async-unsync`, a single-threaded channel crate: what two tasks on one thread would use,
/// and cheap enough that the round trip measures the runtime's wakes and polls. Returns the
/// final counter (`round_trips`).
pub fn ping_pong<R: Runtime>(rt: &mut R, round_trips: u64) -> u64 {
    ping_pong_over::<R, SingleThreaded>(rt, round_trips)
}

/// [`ping_pong`] over two `futures::channel::mpsc::unbounded` instead: the thread-safe
/// channel of the `futures` crate, which much async code already depends on. A send never
/// waits, so each side waits only for the other's answer.
pub fn ping_pong_mpsc<R: Runtime>(rt: &mut R, round_trips: u64) -> u64 {
    ping_pong_over::<R, FuturesUnbounded>(rt, round_trips)
}

/// [`ping_pong`] over two `async_channel::bounded(1)` instead: a thread-safe channel whose
/// own synchronisation costs several times the runtime's share of a round trip.
pub fn ping_pong_async_channel<R: Runtime>(rt: &mut R, round_trips: u64) -> u64 {
    ping_pong_over::<R, ThreadSafe>(rt, round_trips)
}

/// A channel of `u64`s, as the ping-pong uses it: bounded(1), or unbounded.
trait PingPongChannel {
    type Sender: 'static;
    type Receiver: 'static;
    fn pair() -> (Self::Sender, Self::Receiver);
    fn send(sender: &Self::Sender, value: u64) -> impl Future<Output = ()>;
    /// `None` once the sender is gone.
    fn recv(receiver: &mut Self::Receiver) -> impl Future<Output = Option<u64>>;
}

/// `async-unsync`'s bounded channel.
struct SingleThreaded;

impl PingPongChannel for SingleThreaded {
    type Sender = async_unsync::bounded::Sender<u64>;
    type Receiver = async_unsync::bounded::Receiver<u64>;
    fn pair() -> (Self::Sender, Self::Receiver) {
        async_unsync::bounded::channel(1).into_split()
    }
    async fn send(sender: &Self::Sender, value: u64) {
        sender.send(value).await.expect("the other side is alive");
    }
    async fn recv(receiver: &mut Self::Receiver) -> Option<u64> {
        receiver.recv().await
    }
}

/// `async-channel`'s bounded channel.
struct ThreadSafe;

impl PingPongChannel for ThreadSafe {
    type Sender = async_channel::Sender<u64>;
    type Receiver = async_channel::Receiver<u64>;
    fn pair() -> (Self::Sender, Self::Receiver) {
        async_channel::bounded(1)
    }
    async fn send(sender: &Self::Sender, value: u64) {
        sender.send(value).await.expect("the other side is alive");
    }
    async fn recv(receiver: &mut Self::Receiver) -> Option<u64> {
        receiver.recv().await.ok()
    }
}

/// `futures`' unbounded mpsc channel.
struct FuturesUnbounded;

impl PingPongChannel for FuturesUnbounded {
    type Sender = futures::channel::mpsc::UnboundedSender<u64>;
    type Receiver = futures::channel::mpsc::UnboundedReceiver<u64>;
    fn pair() -> (Self::Sender, Self::Receiver) {
        futures::channel::mpsc::unbounded()
    }
    async fn send(sender: &Self::Sender, value: u64) {
        sender
            .unbounded_send(value)
            .expect("the other side is alive");
    }
    async fn recv(receiver: &mut Self::Receiver) -> Option<u64> {
        futures::StreamExt::next(receiver).await
    }
}

fn ping_pong_over<R: Runtime, C: PingPongChannel>(rt: &mut R, round_trips: u64) -> u64 {
    rt.block_on(async move {
        let (to_pong, mut from_ping) = C::pair();
        let (to_ping, mut from_pong) = C::pair();
        let pong = R::spawn(async move {
            // Ends when `ping` drops its sender.
            while let Some(counter) = C::recv(&mut from_ping).await {
                C::send(&to_ping, counter + 1).await;
            }
        });
        let ping = R::spawn(async move {
            let mut counter = 0;
            for _ in 0..round_trips {
                C::send(&to_pong, counter).await;
                counter = C::recv(&mut from_pong).await.expect("pong answers");
            }
            counter
        });
        let counter = ping.await;
        pong.await;
        counter
    })
}

/// A deterministic pseudo-random sleep between 1 and 10 ms for task `i` (splitmix64), at
/// microsecond resolution so that most deadlines differ.
pub fn sleep_duration(i: u64) -> Duration {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    Duration::from_micros(1_000 + z % 9_001)
}

/// Spawns `timers` tasks that each sleep [`sleep_duration`] on the runtime's own timer;
/// returns how many woke up (`timers`).
pub fn timers<R: Runtime>(rt: &mut R, timers: u64) -> u64 {
    rt.block_on(async move {
        let handles: Vec<_> = (0..timers)
            .map(|i| {
                R::spawn(async move {
                    R::sleep(sleep_duration(i)).await;
                    1
                })
            })
            .collect();
        let mut woken = 0;
        for handle in handles {
            woken += handle.await;
        }
        woken
    })
}

/// Another OS thread sends `0..messages` through an unbounded `async_channel` to a task on
/// the loop, which sums them (`messages * (messages - 1) / 2`).
///
/// Unbounded, so the sending thread never waits for the loop: what is measured is the
/// loop being woken from another thread whenever it has drained the channel and parked.
pub fn remote_wake<R: Runtime>(rt: &mut R, messages: u64) -> u64 {
    rt.block_on(async move {
        let (sender, receiver) = async_channel::unbounded::<u64>();
        let summer = R::spawn(async move {
            let mut sum = 0;
            while let Ok(message) = receiver.recv().await {
                sum += message;
            }
            sum
        });
        let thread = thread::spawn(move || {
            for message in 0..messages {
                sender.send_blocking(message).expect("the summer is alive");
            }
        });
        let sum = summer.await;
        thread.join().expect("the sending thread does not panic");
        sum
    })
}

/// Runs `groups` groups one after the other, each of `children` trivial children returning
/// their index, with the runtime's [`Runtime::group`]; returns the sum of all outputs.
pub fn taskgroup<R: Runtime>(rt: &mut R, groups: u64, children: u64) -> u64 {
    rt.block_on(async move {
        let mut sum = 0;
        for _ in 0..groups {
            sum += R::group((0..children).map(|i| async move { i })).await;
        }
        sum
    })
}

/// Spawns `tasks` detached tasks that each park in a one-second sleep, waits until every
/// one of them has been polled (so its timer is registered), then returns `measure()`
/// taken in that state. The tasks are left sleeping: the caller exits or drops the runtime.
pub fn idle_tasks<R: Runtime, M>(rt: &mut R, tasks: u64, measure: impl FnOnce() -> M) -> M {
    rt.block_on(async move {
        let parked = Rc::new(Cell::new(0));
        for _ in 0..tasks {
            let parked = parked.clone();
            R::spawn_detached(async move {
                // Counted in the same poll that registers the sleep.
                parked.set(parked.get() + 1);
                R::sleep(Duration::from_secs(1)).await;
            });
        }
        while parked.get() < tasks {
            YieldOnce::new().await;
        }
        measure()
    })
}

/// The checksums of the workloads, for the smoke test.
pub mod expected {
    /// Sum of `0..n`.
    pub fn sum_below(n: u64) -> u64 {
        n * n.saturating_sub(1) / 2
    }
}
