//! I/O benches: TCP echo latency and throughput, and a paced remote wake, with each
//! runtime on its own native reactor.
//!
//! # The runtimes
//!
//! - `looplet`: a `Runner`, `looplet::net` (the loop parks in its own poller);
//! - `tokio`: a current-thread runtime with I/O and time enabled, and a `LocalSet`;
//! - `smol`: async-executor's `LocalExecutor` driven by `async_io::block_on` (the loop
//!   thread waits in async-io's poller), `async_io::Async<TcpStream>`;
//! - `local_pool`: futures' `LocalPool` + `async_io::Async<TcpStream>`: the pool parks its
//!   thread, so async-io's helper thread waits on the poller and wakes it (one thread hop
//!   per event).
//!
//! # What the numbers mean
//!
//! Sockets are on 127.0.0.1 and made once per runtime, outside the measurement; both ends
//! of every connection are tasks on the same runtime, on one thread.
//!
//! - `tcp_echo_latency/<runtime>`: one connection, 64-byte ping-pong, 1,000 round trips
//!   per iteration; time per element = one round trip.
//! - `tcp_echo_throughput/<runtime>`: 64 connections each echoing 100 64-byte messages,
//!   all at once; elements = messages, so "thrpt" is messages per second.
//! - `paced_remote_wake/<runtime>`: another thread sends 10,000 timestamps through an
//!   `async_channel`, one at a time: it waits until the loop has taken the previous one,
//!   then pauses 50 µs (spinning) so that the loop is parked, then sends. The measured
//!   time is the sum of send-to-receive delays, so time per element = how long a wake
//!   takes to reach the parked loop and run the task (no queueing behind slow wakes).
//!
//! Run: `cargo bench --bench io` (add `-- tcp_echo_latency` to pick one group).

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use futures::future::join_all;
use futures::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use futures::task::LocalSpawnExt;
// tokio's streams behind `futures-io`'s traits, as the other runtimes' streams are.
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

const MESSAGE: usize = 64;
const LATENCY_ROUND_TRIPS: usize = 1_000;
const THROUGHPUT_CONNECTIONS: usize = 64;
const THROUGHPUT_MESSAGES: usize = 100;
const PACED_WAKES: usize = 10_000;
const PACE: Duration = Duration::from_micros(50);

/// What the workloads need of a runtime: run a root future, spawn a detached task, and
/// its native TCP.
trait IoRuntime {
    const NAME: &'static str;
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;
    type Listener: 'static;

    fn new() -> Self;
    fn block_on<F: Future>(&mut self, root: F) -> F::Output;
    fn spawn(task: impl Future<Output = ()> + 'static);
    fn bind() -> impl Future<Output = (Self::Listener, SocketAddr)>;
    fn accept(listener: &Self::Listener) -> impl Future<Output = Self::Stream>;
    fn connect(addr: SocketAddr) -> impl Future<Output = Self::Stream>;
    /// Makes sure the runtime waits on its reactor when it parks (for the paced wake).
    fn with_reactor(&mut self) {}
}

struct Looplet(looplet::Runner);

impl IoRuntime for Looplet {
    const NAME: &'static str = "looplet";
    type Stream = looplet::net::TcpStream;
    type Listener = looplet::net::TcpListener;

    fn new() -> Self {
        Looplet(looplet::Runner::builder().virtual_clock(false).build())
    }
    fn block_on<F: Future>(&mut self, root: F) -> F::Output {
        self.0.run(root)
    }
    fn spawn(task: impl Future<Output = ()> + 'static) {
        drop(looplet::create_task(task));
    }
    async fn bind() -> (Self::Listener, SocketAddr) {
        let listener = looplet::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        (listener, addr)
    }
    async fn accept(listener: &Self::Listener) -> Self::Stream {
        let (stream, _) = listener.accept().await.unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }
    async fn connect(addr: SocketAddr) -> Self::Stream {
        let stream = looplet::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }
    fn with_reactor(&mut self) {
        // The first socket installs the reactor for the rest of the loop's life.
        let socket = self.0.run(looplet::net::UdpSocket::bind("127.0.0.1:0"));
        std::mem::forget(socket.unwrap());
    }
}

struct Tokio {
    runtime: tokio::runtime::Runtime,
    local: tokio::task::LocalSet,
}

impl IoRuntime for Tokio {
    const NAME: &'static str = "tokio";
    type Stream = Compat<tokio::net::TcpStream>;
    type Listener = tokio::net::TcpListener;

    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Tokio {
            runtime,
            local: tokio::task::LocalSet::new(),
        }
    }
    fn block_on<F: Future>(&mut self, root: F) -> F::Output {
        self.local.block_on(&self.runtime, root)
    }
    fn spawn(task: impl Future<Output = ()> + 'static) {
        drop(tokio::task::spawn_local(task));
    }
    async fn bind() -> (Self::Listener, SocketAddr) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (listener, addr)
    }
    async fn accept(listener: &Self::Listener) -> Self::Stream {
        let (stream, _) = listener.accept().await.unwrap();
        stream.set_nodelay(true).unwrap();
        stream.compat()
    }
    async fn connect(addr: SocketAddr) -> Self::Stream {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        stream.compat()
    }
}

thread_local! {
    static SMOL: async_executor::LocalExecutor<'static> = const { async_executor::LocalExecutor::new() };
    static POOL_SPAWNER: std::cell::RefCell<Option<futures::executor::LocalSpawner>> =
        const { std::cell::RefCell::new(None) };
}

/// async-io's TCP, shared by the two runtimes that use async-io.
async fn async_io_bind() -> (async_io::Async<std::net::TcpListener>, SocketAddr) {
    let listener = async_io::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
    let addr = listener.get_ref().local_addr().unwrap();
    (listener, addr)
}

async fn async_io_accept(
    listener: &async_io::Async<std::net::TcpListener>,
) -> async_io::Async<std::net::TcpStream> {
    let (stream, _) = listener.accept().await.unwrap();
    stream.get_ref().set_nodelay(true).unwrap();
    stream
}

async fn async_io_connect(addr: SocketAddr) -> async_io::Async<std::net::TcpStream> {
    let stream = async_io::Async::<std::net::TcpStream>::connect(addr)
        .await
        .unwrap();
    stream.get_ref().set_nodelay(true).unwrap();
    stream
}

struct Smol;

impl IoRuntime for Smol {
    const NAME: &'static str = "smol";
    type Stream = async_io::Async<std::net::TcpStream>;
    type Listener = async_io::Async<std::net::TcpListener>;

    fn new() -> Self {
        Smol
    }
    fn block_on<F: Future>(&mut self, root: F) -> F::Output {
        SMOL.with(|executor| async_io::block_on(executor.run(root)))
    }
    fn spawn(task: impl Future<Output = ()> + 'static) {
        SMOL.with(|executor| executor.spawn(task).detach());
    }
    async fn bind() -> (Self::Listener, SocketAddr) {
        async_io_bind().await
    }
    async fn accept(listener: &Self::Listener) -> Self::Stream {
        async_io_accept(listener).await
    }
    async fn connect(addr: SocketAddr) -> Self::Stream {
        async_io_connect(addr).await
    }
}

struct LocalPool(futures::executor::LocalPool);

impl IoRuntime for LocalPool {
    const NAME: &'static str = "local_pool";
    type Stream = async_io::Async<std::net::TcpStream>;
    type Listener = async_io::Async<std::net::TcpListener>;

    fn new() -> Self {
        let pool = futures::executor::LocalPool::new();
        POOL_SPAWNER.with(|spawner| *spawner.borrow_mut() = Some(pool.spawner()));
        LocalPool(pool)
    }
    fn block_on<F: Future>(&mut self, root: F) -> F::Output {
        self.0.run_until(root)
    }
    fn spawn(task: impl Future<Output = ()> + 'static) {
        POOL_SPAWNER.with(|spawner| {
            let spawner = spawner.borrow();
            spawner.as_ref().unwrap().spawn_local(task).unwrap();
        });
    }
    async fn bind() -> (Self::Listener, SocketAddr) {
        async_io_bind().await
    }
    async fn accept(listener: &Self::Listener) -> Self::Stream {
        async_io_accept(listener).await
    }
    async fn connect(addr: SocketAddr) -> Self::Stream {
        async_io_connect(addr).await
    }
}

/// Starts an echo server on `rt` and connects `clients` to it (not measured).
fn echo_setup<R: IoRuntime>(rt: &mut R, clients: usize) -> Vec<R::Stream> {
    rt.block_on(async {
        let (listener, addr) = R::bind().await;
        R::spawn(async move {
            loop {
                let mut stream = R::accept(&listener).await;
                R::spawn(async move {
                    let mut buf = [0; MESSAGE];
                    while stream.read_exact(&mut buf).await.is_ok() {
                        if stream.write_all(&buf).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let mut streams = Vec::new();
        for _ in 0..clients {
            streams.push(R::connect(addr).await);
        }
        streams
    })
}

/// `rounds` 64-byte round trips on `stream`; returns a checksum.
async fn ping_pong<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, rounds: usize) -> u64 {
    let mut message = [0u8; MESSAGE];
    let mut sum = 0;
    for round in 0..rounds {
        message[0] = round as u8;
        stream.write_all(&message).await.unwrap();
        stream.read_exact(&mut message).await.unwrap();
        sum += u64::from(message[0]);
    }
    sum
}

fn bench_echo_latency<R: IoRuntime>(c: &mut Criterion) {
    let mut rt = R::new();
    let mut streams = echo_setup(&mut rt, 1);
    let mut group = c.benchmark_group("tcp_echo_latency");
    group.throughput(Throughput::Elements(LATENCY_ROUND_TRIPS as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(R::NAME, |b| {
        b.iter(|| rt.block_on(ping_pong(&mut streams[0], LATENCY_ROUND_TRIPS)))
    });
    group.finish();
}

fn bench_echo_throughput<R: IoRuntime>(c: &mut Criterion) {
    let mut rt = R::new();
    let mut streams = echo_setup(&mut rt, THROUGHPUT_CONNECTIONS);
    let mut group = c.benchmark_group("tcp_echo_throughput");
    group.throughput(Throughput::Elements(
        (THROUGHPUT_CONNECTIONS * THROUGHPUT_MESSAGES) as u64,
    ));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(R::NAME, |b| {
        b.iter(|| {
            rt.block_on(join_all(
                streams
                    .iter_mut()
                    .map(|stream| ping_pong(stream, THROUGHPUT_MESSAGES)),
            ))
        })
    });
    group.finish();
}

/// Sum of send-to-receive delays of `PACED_WAKES` paced messages from another thread.
fn paced_wakes<R: IoRuntime>(rt: &mut R) -> Duration {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (tx, rx) = async_channel::unbounded::<Instant>();
    let received = std::sync::Arc::new(AtomicUsize::new(0));
    let taken = received.clone();
    let sender = std::thread::spawn(move || {
        for sent in 0..PACED_WAKES {
            while taken.load(Ordering::Acquire) < sent {
                std::hint::spin_loop();
            }
            let start = Instant::now();
            while start.elapsed() < PACE {
                std::hint::spin_loop();
            }
            tx.send_blocking(Instant::now()).unwrap();
        }
    });
    let total = rt.block_on(async move {
        let mut total = Duration::ZERO;
        while let Ok(sent) = rx.recv().await {
            total += sent.elapsed();
            received.fetch_add(1, Ordering::Release);
        }
        total
    });
    sender.join().unwrap();
    total
}

fn bench_paced_remote_wake<R: IoRuntime>(c: &mut Criterion) {
    let mut rt = R::new();
    rt.with_reactor();
    let mut group = c.benchmark_group("paced_remote_wake");
    group.throughput(Throughput::Elements(PACED_WAKES as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(R::NAME, |b| {
        b.iter_custom(|iterations| (0..iterations).map(|_| paced_wakes(&mut rt)).sum())
    });
    group.finish();
}

fn tcp_echo_latency(c: &mut Criterion) {
    bench_echo_latency::<Looplet>(c);
    bench_echo_latency::<Tokio>(c);
    bench_echo_latency::<Smol>(c);
    bench_echo_latency::<LocalPool>(c);
}

fn tcp_echo_throughput(c: &mut Criterion) {
    bench_echo_throughput::<Looplet>(c);
    bench_echo_throughput::<Tokio>(c);
    bench_echo_throughput::<Smol>(c);
    bench_echo_throughput::<LocalPool>(c);
}

fn paced_remote_wake(c: &mut Criterion) {
    bench_paced_remote_wake::<Looplet>(c);
    bench_paced_remote_wake::<Tokio>(c);
    bench_paced_remote_wake::<Smol>(c);
    bench_paced_remote_wake::<LocalPool>(c);
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = tcp_echo_latency, tcp_echo_throughput, paced_remote_wake
}
criterion_main!(benches);
