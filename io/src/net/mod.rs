//! Sockets on the loop's reactor: TCP, UDP, and on Unix, Unix-domain streams and datagrams.
//!
//! Each type wraps its `std` counterpart in an [`Async`](crate::Async), in non-blocking
//! mode, with the shapes of `async-net` and tokio: `bind(..).await`, `accept().await`,
//! `connect(..).await`, and `futures-io`'s `AsyncRead`/`AsyncWrite` on the streams (also on
//! `&TcpStream`, so one task can read while another writes).
//!
//! Name lookup (`"localhost:80"` rather than an IP address) runs on the loop's thread,
//! like every part of looplet: there is no helper thread. It is fast for names in
//! `/etc/hosts`; give a [`SocketAddr`](std::net::SocketAddr) to skip it.
//!
//! `connect` is a non-blocking `connect(2)`: the loop keeps running while the handshake
//! is under way, and a `timeout` around it cancels it like any other future.

/// `AsyncRead` + `AsyncWrite` for a stream type and its shared reference, through its
/// `inner: Async<_>`; closing shuts the writing half down, so the peer reads end of stream.
macro_rules! impl_stream_io {
    ($ty:ty) => {
        impl_stream_io!(@impl $ty);
        impl_stream_io!(@impl &$ty);
    };
    (@impl $ty:ty) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &self.inner).poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &self.inner).poll_read_vectored(cx, bufs)
            }
        }

        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &self.inner).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut &self.inner).poll_write_vectored(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(())) // a socket buffers nothing in user space
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.inner.get_ref().shutdown(Shutdown::Write))
            }
        }
    };
}

mod tcp;
mod udp;
mod unix;

pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::OwnedFd;

use rustix::net::addr::SocketAddrArg;
use rustix::net::{AddressFamily, SocketType};

/// Tries `each` on every address `addrs` resolves to, in order; the first success wins,
/// else the last error.
async fn each_addr<A: ToSocketAddrs, R, F: std::future::Future<Output = io::Result<R>>>(
    addrs: A,
    mut each: impl FnMut(SocketAddr) -> F,
) -> io::Result<R> {
    let mut last = None;
    for addr in addrs.to_socket_addrs()? {
        match each(addr).await {
            Ok(done) => return Ok(done),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to no socket address",
        )
    }))
}

/// A new non-blocking, close-on-exec socket with a `connect(2)` under way to `addr`.
fn start_connect(
    family: AddressFamily,
    kind: SocketType,
    addr: &impl SocketAddrArg,
) -> io::Result<OwnedFd> {
    let socket = rustix::net::socket(family, kind, None)?;
    rustix::io::fcntl_setfd(&socket, rustix::io::FdFlags::CLOEXEC)?;
    crate::async_fd::set_nonblocking(std::os::fd::AsFd::as_fd(&socket))?;
    match rustix::net::connect(&socket, addr) {
        // Under way (TCP's handshake): writability says when it is done.
        Ok(()) | Err(rustix::io::Errno::INPROGRESS) => Ok(socket),
        Err(error) => Err(error.into()),
    }
}

/// What a finished non-blocking `connect` left in `SO_ERROR`.
fn connect_result(socket: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
    match rustix::net::sockopt::socket_error(socket)? {
        Ok(()) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
