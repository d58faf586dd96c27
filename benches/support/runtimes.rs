//! One adapter per runtime: the few operations the workloads need, and nothing else.
//!
//! Each adapter owns its runtime: [`Runtime::new`] builds a fresh one, and every workload
//! starts inside [`Runtime::block_on`]. The warm benches build it once and reuse it; the
//! cold ones build one per run. Spawning goes through a thread-local "current runtime" the
//! way each runtime's own users do it: looplet's `create_task`, tokio's `spawn_local`, and
//! for the two runtimes that have no such global a thread-local the adapter sets for the
//! length of its `block_on`.
//!
//! async-executor and futures' `LocalPool` have no timer of their own; they use
//! `async_io::Timer`, which is what smol users use. Under `async_io::block_on` (how smol
//! drives a `LocalExecutor`) the loop thread itself processes the timers while it waits;
//! under `LocalPool::run_until` they are processed by async-io's helper thread.

use std::cell::RefCell;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::LocalSpawnExt;

/// What a workload may ask of a runtime.
pub trait Runtime {
    /// The runtime's name in bench ids: `workload/NAME`.
    const NAME: &'static str;

    /// The future a spawned task's handle is: it resolves to the task's output.
    type Join<T: 'static>: Future<Output = T>;

    /// Builds the runtime (not measured).
    fn new() -> Self;

    /// Runs `root` to completion on this runtime, driving the tasks it spawns.
    fn block_on<F: Future>(&mut self, root: F) -> F::Output;

    /// Spawns a task on the runtime whose root future is running on this thread.
    fn spawn<F>(future: F) -> Self::Join<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static;

    /// Spawns a task nobody will join; it runs on its own.
    fn spawn_detached<F>(future: F)
    where
        F: Future<Output = ()> + 'static;

    /// Sleeps for `duration` on the runtime's timer.
    fn sleep(duration: Duration) -> impl Future<Output = ()>;

    /// Runs `children` as one group of tasks and sums their outputs once all are done.
    ///
    /// The default is the plain way: a `Vec` of task handles, awaited in order.
    fn group<I, F>(children: I) -> impl Future<Output = u64>
    where
        I: IntoIterator<Item = F>,
        F: Future<Output = u64> + 'static,
    {
        async move {
            let handles: Vec<_> = children.into_iter().map(Self::spawn).collect();
            let mut sum = 0;
            for handle in handles {
                sum += handle.await;
            }
            sum
        }
    }
}

/// A join handle whose output is a `Result`, unwrapped: a failed task is a broken bench.
#[derive(Debug)]
pub struct Unwrapped<H>(H);

impl<H, T, E> Future for Unwrapped<H>
where
    H: Future<Output = Result<T, E>> + Unpin,
    E: Debug,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|result| result.expect("a bench task failed"))
    }
}

/// looplet: a `Runner` on the real clock.
#[derive(Debug)]
pub struct Looplet {
    runner: looplet::Runner,
}

impl Runtime for Looplet {
    const NAME: &'static str = "looplet";

    type Join<T: 'static> = Unwrapped<looplet::Task<T>>;

    fn new() -> Looplet {
        // Real clock whatever `LOOPLET_CLOCK` says: a virtual clock would skip the sleeps.
        let runner = looplet::Runner::builder().virtual_clock(false).build();
        Looplet { runner }
    }

    fn block_on<F: Future>(&mut self, root: F) -> F::Output {
        self.runner.run(root)
    }

    fn spawn<F>(future: F) -> Self::Join<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        Unwrapped(looplet::create_task(future))
    }

    fn spawn_detached<F>(future: F)
    where
        F: Future<Output = ()> + 'static,
    {
        // Dropping a looplet `Task` detaches it; the loop keeps running it.
        drop(looplet::create_task(future));
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> {
        looplet::sleep(duration)
    }

    /// looplet's tool for a group: a `TaskGroup` scope, which waits for every child on
    /// exit; the children's values are read from their handles afterwards.
    async fn group<I, F>(children: I) -> u64
    where
        I: IntoIterator<Item = F>,
        F: Future<Output = u64> + 'static,
    {
        let scope = looplet::TaskGroup::scope(|tg| async move {
            let handles: Vec<_> = children
                .into_iter()
                .map(|child| tg.create_task(child))
                .collect();
            Ok(handles)
        });
        let handles = scope.await.expect("no child fails");
        handles
            .iter()
            .map(|child| child.result().expect("a bench child failed"))
            .sum()
    }
}

/// tokio: a current-thread runtime with the time driver, and a `LocalSet` for `!Send`
/// tasks (the setup closest to looplet's model).
#[derive(Debug)]
pub struct Tokio {
    // Declared first so it drops first: tasks left in the set drop while the runtime
    // (and its time driver) still exist.
    local: tokio::task::LocalSet,
    runtime: tokio::runtime::Runtime,
}

impl Runtime for Tokio {
    const NAME: &'static str = "tokio";

    type Join<T: 'static> = Unwrapped<tokio::task::JoinHandle<T>>;

    fn new() -> Tokio {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("tokio's current-thread runtime should build");
        let local = tokio::task::LocalSet::new();
        Tokio { local, runtime }
    }

    fn block_on<F: Future>(&mut self, root: F) -> F::Output {
        self.local.block_on(&self.runtime, root)
    }

    fn spawn<F>(future: F) -> Self::Join<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        Unwrapped(tokio::task::spawn_local(future))
    }

    fn spawn_detached<F>(future: F)
    where
        F: Future<Output = ()> + 'static,
    {
        // Dropping a tokio `JoinHandle` detaches the task.
        drop(tokio::task::spawn_local(future));
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(duration)
    }

    /// tokio's tool for a group of tasks: a `JoinSet`, drained as tasks finish.
    async fn group<I, F>(children: I) -> u64
    where
        I: IntoIterator<Item = F>,
        F: Future<Output = u64> + 'static,
    {
        let mut set = tokio::task::JoinSet::new();
        for child in children {
            set.spawn_local(child);
        }
        let mut sum = 0;
        while let Some(output) = set.join_next().await {
            sum += output.expect("a bench task failed");
        }
        sum
    }
}

thread_local! {
    /// The `LocalExecutor` whose `AsyncExecutor::block_on` is running on this thread.
    static CURRENT_EXECUTOR: RefCell<Option<Rc<async_executor::LocalExecutor<'static>>>> =
        const { RefCell::new(None) };
}

/// async-executor: a `LocalExecutor` of its own, driven by `async_io::block_on` as
/// `smol::block_on(ex.run(..))` does.
#[derive(Debug)]
pub struct AsyncExecutor {
    executor: Rc<async_executor::LocalExecutor<'static>>,
}

/// Puts back the thread's previous current executor when an `AsyncExecutor::block_on` ends.
struct RestoreExecutor(Option<Rc<async_executor::LocalExecutor<'static>>>);

impl Drop for RestoreExecutor {
    fn drop(&mut self) {
        CURRENT_EXECUTOR.set(self.0.take());
    }
}

impl AsyncExecutor {
    fn with_executor<R>(f: impl FnOnce(&async_executor::LocalExecutor<'static>) -> R) -> R {
        CURRENT_EXECUTOR.with_borrow(|executor| {
            f(executor
                .as_ref()
                .expect("AsyncExecutor::spawn is only called inside AsyncExecutor::block_on"))
        })
    }
}

impl Runtime for AsyncExecutor {
    const NAME: &'static str = "async-executor";

    type Join<T: 'static> = async_executor::Task<T>;

    fn new() -> AsyncExecutor {
        AsyncExecutor {
            executor: Rc::new(async_executor::LocalExecutor::new()),
        }
    }

    fn block_on<F: Future>(&mut self, root: F) -> F::Output {
        let _restore = RestoreExecutor(CURRENT_EXECUTOR.replace(Some(self.executor.clone())));
        async_io::block_on(self.executor.run(root))
    }

    fn spawn<F>(future: F) -> Self::Join<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        AsyncExecutor::with_executor(|executor| executor.spawn(future))
    }

    fn spawn_detached<F>(future: F)
    where
        F: Future<Output = ()> + 'static,
    {
        // Dropping an async-executor `Task` would cancel it; `detach` lets it run.
        AsyncExecutor::with_executor(|executor| executor.spawn(future).detach());
    }

    async fn sleep(duration: Duration) {
        async_io::Timer::after(duration).await;
    }
}

thread_local! {
    /// The spawner of the `LocalPool` whose `run_until` is running on this thread.
    static POOL_SPAWNER: RefCell<Option<futures::executor::LocalSpawner>> =
        const { RefCell::new(None) };
}

/// futures' `LocalPool`, run with `run_until`; tasks are joined through `RemoteHandle`s
/// (`spawn_local_with_handle`), futures' own join handle.
#[derive(Debug)]
pub struct LocalPool {
    pool: futures::executor::LocalPool,
}

/// Puts back the thread's previous pool spawner when a `LocalPool::block_on` ends.
struct RestoreSpawner(Option<futures::executor::LocalSpawner>);

impl Drop for RestoreSpawner {
    fn drop(&mut self) {
        POOL_SPAWNER.set(self.0.take());
    }
}

impl LocalPool {
    fn with_spawner<R>(f: impl FnOnce(&futures::executor::LocalSpawner) -> R) -> R {
        POOL_SPAWNER.with_borrow(|spawner| {
            f(spawner
                .as_ref()
                .expect("LocalPool::spawn is only called inside LocalPool::block_on"))
        })
    }
}

impl Runtime for LocalPool {
    const NAME: &'static str = "localpool";

    type Join<T: 'static> = futures::future::RemoteHandle<T>;

    fn new() -> LocalPool {
        LocalPool {
            pool: futures::executor::LocalPool::new(),
        }
    }

    fn block_on<F: Future>(&mut self, root: F) -> F::Output {
        let _restore = RestoreSpawner(POOL_SPAWNER.replace(Some(self.pool.spawner())));
        self.pool.run_until(root)
    }

    fn spawn<F>(future: F) -> Self::Join<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        LocalPool::with_spawner(|spawner| {
            spawner
                .spawn_local_with_handle(future)
                .expect("the pool is running")
        })
    }

    fn spawn_detached<F>(future: F)
    where
        F: Future<Output = ()> + 'static,
    {
        LocalPool::with_spawner(|spawner| {
            spawner.spawn_local(future).expect("the pool is running")
        });
    }

    async fn sleep(duration: Duration) {
        async_io::Timer::after(duration).await;
    }
}
