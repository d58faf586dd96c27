//! hyper 1.x on looplet: the three `hyper::rt` pieces a runtime provides, and nothing else.
//!
//! hyper does not bring its own runtime; it asks for one through small traits. looplet
//! provides them:
//!
//! * [`HyperIo`] turns a `futures-io` stream (a `looplet::net::TcpStream`) into
//!   `hyper::rt::Read` + `hyper::rt::Write`;
//! * [`LoopletExecutor`] spawns hyper's background futures with `looplet::create_task`;
//! * [`LoopletTimer`] gives hyper `looplet::sleep`s, on the loop's clock (virtual clock
//!   included, so hyper's timeouts can be tested in no real time).
//!
//! hyper's connection futures need not be `Send`: everything runs on the loop's thread.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use hyper::{Request, Response};
//! use looplet::net::{TcpListener, TcpStream};
//! use looplet_hyper_tests::{HyperIo, LoopletTimer};
//!
//! looplet::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     looplet::create_task(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let hello = |_: Request<hyper::body::Incoming>| async {
//!             Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hello from hyper"))))
//!         };
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(LoopletTimer)
//!             .serve_connection(HyperIo::new(stream), hyper::service::service_fn(hello))
//!             .await
//!             .unwrap();
//!     });
//!     let stream = TcpStream::connect(addr).await.unwrap();
//!     let (mut sender, connection) =
//!         hyper::client::conn::http1::handshake(HyperIo::new(stream)).await.unwrap();
//!     looplet::create_task(connection);
//!     let request = Request::get("/").body(Full::new(Bytes::new())).unwrap();
//!     let response = sender.send_request(request).await.unwrap();
//!     let body = response.into_body().collect().await.unwrap().to_bytes();
//!     assert_eq!(body, "hello from hyper");
//! });
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::{Executor, ReadBufCursor, Sleep, Timer};

/// A `futures-io` stream as hyper's `Read` + `Write`.
#[derive(Debug)]
pub struct HyperIo<T> {
    inner: T,
}

impl<T> HyperIo<T> {
    /// Wraps `inner` (a `looplet::net::TcpStream`, `UnixStream`, ...).
    pub fn new(inner: T) -> Self {
        HyperIo { inner }
    }

    /// The wrapped stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // Zeroes what hyper's buffer has never initialized (once per buffer, hyper keeps
        // count), so the stream reads into plain `&mut [u8]`.
        let unfilled = buf.initialize_unfilled();
        let n = match Pin::new(&mut self.inner).poll_read(cx, unfilled) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Pending => return Poll::Pending,
        };
        // SAFETY: `advance` needs the first `n` unfilled bytes initialized: all of them
        // are (`initialize_unfilled` above), and `n` is at most their number (a reader
        // returns at most the length it was given).
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true // sockets write vectors in one system call
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// hyper's `Executor`: its background futures become looplet tasks on the running loop.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoopletExecutor;

impl<F> Executor<F> for LoopletExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        // Detached: the loop keeps a task alive without its handle.
        drop(looplet::create_task(future));
    }
}

/// hyper's `Timer`: `looplet::sleep` on the running loop's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoopletTimer;

impl Timer for LoopletTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(LoopletSleep(looplet::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(LoopletSleep(looplet::sleep_until(deadline)))
    }

    fn now(&self) -> Instant {
        // hyper computes deadlines from this: the loop's clock, virtual or real.
        looplet::try_now().unwrap_or_else(Instant::now)
    }
}

/// A `looplet::Sleep` as hyper's `Sleep` (a `looplet::Sleep` is plain data: `Send + Sync`).
struct LoopletSleep(looplet::Sleep);

impl Future for LoopletSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl Sleep for LoopletSleep {}
