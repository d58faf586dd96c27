//! TCP: a listener that accepts without blocking the loop, and a stream with
//! `AsyncRead`/`AsyncWrite`.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{self, Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use rustix::net::{AddressFamily, SocketType};

use crate::Async;

/// A TCP socket listening for connections.
///
/// # Examples
///
/// ```
/// use futures_util::{AsyncReadExt, AsyncWriteExt};
/// use looplet::net::{TcpListener, TcpStream};
///
/// looplet::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let server = looplet::create_task(async move {
///         let (mut stream, _peer) = listener.accept().await?;
///         let mut buf = [0; 5];
///         stream.read_exact(&mut buf).await?;
///         stream.write_all(&buf).await?; // echo
///         std::io::Result::Ok(())
///     });
///     let mut client = TcpStream::connect(addr).await?;
///     client.write_all(b"hello").await?;
///     let mut echoed = [0; 5];
///     client.read_exact(&mut echoed).await?;
///     assert_eq!(&echoed, b"hello");
///     server.await.unwrap()
/// })
/// .unwrap();
/// ```
pub struct TcpListener {
    inner: Async<net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (the first of its addresses that binds) and listens. Port 0 asks the
    /// OS for a free port: [`local_addr`](TcpListener::local_addr) tells which.
    ///
    /// # Errors
    ///
    /// The OS's: the address is in use, not local, or not resolvable.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let listener =
            super::each_addr(addr, |addr| async move { net::TcpListener::bind(addr) }).await?;
        TcpListener::from_std(listener)
    }

    /// Wraps a listener made elsewhere (for example with socket options `bind` does not
    /// set, such as `SO_REUSEPORT`), putting it in non-blocking mode.
    pub fn from_std(listener: net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: Async::new(listener)?,
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Waits for the next connection; returns it and the peer's address.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: a connection not yet returned stays in the backlog for the next call.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.inner.read_with(|listener| listener.accept()).await?;
        Ok((TcpStream::from_std(stream)?, peer))
    }

    /// The `std` listener, still registered with the loop.
    pub fn get_ref(&self) -> &net::TcpListener {
        self.inner.get_ref()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

/// A TCP connection: `AsyncRead` + `AsyncWrite`, on `TcpStream` and on `&TcpStream`.
///
/// Closing the writing half (`close().await`, or [`shutdown`](TcpStream::shutdown)) sends
/// the peer an end of stream; dropping the stream closes the socket. A peer that closed
/// reads as `Ok(0)`; one that reset the connection gives an error, never a hang.
///
/// # Examples
///
/// See [`TcpListener`].
pub struct TcpStream {
    inner: Async<net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each of its addresses in turn; the loop keeps running
    /// during the handshake.
    ///
    /// # Errors
    ///
    /// The OS's for the last address tried: refused, unreachable, ...
    ///
    /// # Cancellation
    ///
    /// Dropping the future (for example in a `timeout`) abandons the attempt and closes
    /// its socket.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        super::each_addr(addr, TcpStream::connect_addr).await
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let family = match addr {
            SocketAddr::V4(_) => AddressFamily::INET,
            SocketAddr::V6(_) => AddressFamily::INET6,
        };
        let socket = super::start_connect(family, SocketType::STREAM, &addr)?;
        let stream = Async::new_nonblocking(net::TcpStream::from(socket))?;
        stream.writable().await?;
        super::connect_result(stream.as_fd())?;
        Ok(TcpStream { inner: stream })
    }

    /// Wraps a connected stream made elsewhere, putting it in non-blocking mode.
    pub fn from_std(stream: net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: Async::new(stream)?,
        })
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Shuts down the reading half, the writing half (the peer reads end of stream), or
    /// both. Never blocks.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Sets `TCP_NODELAY`: small writes go out at once instead of waiting to be coalesced
    /// (Nagle's algorithm). Request/response protocols usually want it.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// Reads into `buf` without removing the data from the socket.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|stream| stream.peek(buf)).await
    }

    /// The `std` stream, still registered with the loop.
    pub fn get_ref(&self) -> &net::TcpStream {
        self.inner.get_ref()
    }

    /// The underlying [`Async`]: `readable()`, `writable()`, `read_with`, `write_with`.
    pub fn as_async(&self) -> &Async<net::TcpStream> {
        &self.inner
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl_stream_io!(TcpStream);
