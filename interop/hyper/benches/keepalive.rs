//! hyper keep-alive requests per second on one loop: looplet vs tokio current-thread vs
//! smol (LocalExecutor + async-io), each on its own reactor, the same `HyperIo` adapter
//! over each runtime's TCP stream.
//!
//! # What the numbers mean
//!
//! One HTTP/1.1 connection on 127.0.0.1, made outside the measurement; hyper's server
//! and client connection futures are both tasks on the same runtime, on one thread. Each
//! iteration sends 1,000 `GET`s one after the other and reads each 13-byte body; elements
//! are requests, so "thrpt" is requests per second.
//!
//! Run: `cargo bench -p looplet-hyper-tests --bench keepalive`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use futures_io::{AsyncRead, AsyncWrite};
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use looplet_hyper_tests::HyperIo;

const REQUESTS: usize = 1_000;

/// The runtime pieces the bench needs.
trait Rt {
    const NAME: &'static str;
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;
    fn new() -> Self;
    fn block_on<F: Future>(&mut self, root: F) -> F::Output;
    fn spawn(task: impl Future<Output = ()> + 'static);
    /// A connected pair on 127.0.0.1: (client, server side).
    fn pair() -> impl Future<Output = (Self::Stream, Self::Stream)>;
}

struct Looplet(looplet::Runner);

impl Rt for Looplet {
    const NAME: &'static str = "looplet";
    type Stream = looplet::net::TcpStream;
    fn new() -> Self {
        Looplet(looplet::Runner::builder().virtual_clock(false).build())
    }
    fn block_on<F: Future>(&mut self, root: F) -> F::Output {
        self.0.run(root)
    }
    fn spawn(task: impl Future<Output = ()> + 'static) {
        drop(looplet::create_task(task));
    }
    async fn pair() -> (Self::Stream, Self::Stream) {
        let listener = looplet::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let client = looplet::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        client.set_nodelay(true).unwrap();
        server.set_nodelay(true).unwrap();
        (client, server)
    }
}

struct Tokio {
    runtime: tokio::runtime::Runtime,
    local: tokio::task::LocalSet,
}

impl Rt for Tokio {
    const NAME: &'static str = "tokio";
    type Stream = TokioStream;
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
    async fn pair() -> (Self::Stream, Self::Stream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        client.set_nodelay(true).unwrap();
        server.set_nodelay(true).unwrap();
        (TokioStream(client), TokioStream(server))
    }
}

/// tokio's stream behind `futures-io`'s traits (safe: reads go into initialized bytes).
struct TokioStream(tokio::net::TcpStream);

impl AsyncRead for TokioStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read = tokio::io::ReadBuf::new(buf);
        match tokio::io::AsyncRead::poll_read(Pin::new(&mut self.0), cx, &mut read) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(read.filled().len())),
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for TokioStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.0), cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write_vectored(Pin::new(&mut self.0), cx, bufs)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.0), cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.0), cx)
    }
}

thread_local! {
    static SMOL: async_executor::LocalExecutor<'static> = const { async_executor::LocalExecutor::new() };
}

struct Smol;

impl Rt for Smol {
    const NAME: &'static str = "smol";
    type Stream = async_io::Async<std::net::TcpStream>;
    fn new() -> Self {
        Smol
    }
    fn block_on<F: Future>(&mut self, root: F) -> F::Output {
        SMOL.with(|executor| async_io::block_on(executor.run(root)))
    }
    fn spawn(task: impl Future<Output = ()> + 'static) {
        SMOL.with(|executor| executor.spawn(task).detach());
    }
    async fn pair() -> (Self::Stream, Self::Stream) {
        let listener = async_io::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let addr: SocketAddr = listener.get_ref().local_addr().unwrap();
        let client = async_io::Async::<std::net::TcpStream>::connect(addr)
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        client.get_ref().set_nodelay(true).unwrap();
        server.get_ref().set_nodelay(true).unwrap();
        (client, server)
    }
}

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"hello, world!",
    ))))
}

/// Serves one connection with hyper and hands back the client's sender (not measured).
fn setup<R: Rt>(rt: &mut R) -> SendRequest<Empty<Bytes>> {
    rt.block_on(async {
        let (client, server) = R::pair().await;
        R::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(HyperIo::new(server), hyper::service::service_fn(hello))
                .await;
        });
        let (sender, connection) = hyper::client::conn::http1::handshake(HyperIo::new(client))
            .await
            .unwrap();
        R::spawn(async move {
            let _ = connection.await;
        });
        sender
    })
}

async fn requests(sender: &mut SendRequest<Empty<Bytes>>) -> usize {
    let mut bytes = 0;
    for _ in 0..REQUESTS {
        let request = Request::get("/").body(Empty::new()).unwrap();
        let response = sender.send_request(request).await.unwrap();
        bytes += response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .len();
    }
    bytes
}

fn bench<R: Rt>(c: &mut Criterion) {
    let mut rt = R::new();
    let mut sender = setup(&mut rt);
    let mut group = c.benchmark_group("hyper_keepalive");
    group.throughput(Throughput::Elements(REQUESTS as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function(R::NAME, |b| b.iter(|| rt.block_on(requests(&mut sender))));
    group.finish();
}

fn hyper_keepalive(c: &mut Criterion) {
    bench::<Looplet>(c);
    bench::<Tokio>(c);
    bench::<Smol>(c);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = hyper_keepalive
}
criterion_main!(benches);
