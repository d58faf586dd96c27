//! Unix-domain sockets: streams (with a listener) and datagrams, addressed by path.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use rustix::net::{AddressFamily, SocketAddrUnix, SocketType};

use crate::Async;

/// A Unix-domain socket listening for connections on a path.
///
/// # Examples
///
/// ```
/// use futures_util::{AsyncReadExt, AsyncWriteExt};
/// use looplet::net::{UnixListener, UnixStream};
///
/// let path = std::env::temp_dir().join(format!("looplet-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// looplet::run(async {
///     let listener = UnixListener::bind(&path)?;
///     let mut client = UnixStream::connect(&path).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0; 2];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    inner: Async<net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` and listens (binding never blocks). The socket file stays after the
    /// listener is dropped; remove it yourself.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_std(net::UnixListener::bind(path)?)
    }

    /// Wraps a listener made elsewhere, putting it in non-blocking mode.
    pub fn from_std(listener: net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            inner: Async::new(listener)?,
        })
    }

    /// Waits for the next connection; cancel-safe like [`TcpListener::accept`].
    ///
    /// [`TcpListener::accept`]: crate::net::TcpListener::accept
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, peer) = self.inner.read_with(|listener| listener.accept()).await?;
        Ok((UnixStream::from_std(stream)?, peer))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The `std` listener, still registered with the loop.
    pub fn get_ref(&self) -> &net::UnixListener {
        self.inner.get_ref()
    }
}

/// A Unix-domain stream: `AsyncRead` + `AsyncWrite`, like [`TcpStream`](crate::net::TcpStream).
pub struct UnixStream {
    inner: Async<net::UnixStream>,
}

impl UnixStream {
    /// Connects to the listener at `path`.
    ///
    /// # Errors
    ///
    /// The OS's: no such socket, refused, or `WouldBlock` when the listener's backlog is
    /// full (a Unix socket does not queue the attempt; try again later).
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = SocketAddrUnix::new(path.as_ref())?;
        let socket = super::start_connect(AddressFamily::UNIX, SocketType::STREAM, &addr)?;
        let stream = Async::new_nonblocking(net::UnixStream::from(socket))?;
        stream.writable().await?;
        super::connect_result(stream.as_fd())?;
        Ok(UnixStream { inner: stream })
    }

    /// Two streams connected to each other.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Wraps a connected stream made elsewhere, putting it in non-blocking mode.
    pub fn from_std(stream: net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            inner: Async::new(stream)?,
        })
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Shuts down the reading half, the writing half, or both. Never blocks.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The `std` stream, still registered with the loop.
    pub fn get_ref(&self) -> &net::UnixStream {
        self.inner.get_ref()
    }

    /// The underlying [`Async`].
    pub fn as_async(&self) -> &Async<net::UnixStream> {
        &self.inner
    }
}

impl_stream_io!(UnixStream);

/// A Unix-domain datagram socket.
///
/// # Examples
///
/// ```
/// use looplet::net::UnixDatagram;
///
/// looplet::run(async {
///     let (a, b) = UnixDatagram::pair()?;
///     a.send(b"one datagram").await?;
///     let mut buf = [0; 32];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one datagram");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct UnixDatagram {
    inner: Async<net::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds to `path`.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no path (it can send, and receive once connected).
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(net::UnixDatagram::unbound()?)
    }

    /// Two sockets connected to each other.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Wraps a socket made elsewhere, putting it in non-blocking mode.
    pub fn from_std(socket: net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            inner: Async::new(socket)?,
        })
    }

    /// Sets the default destination of [`send`](UnixDatagram::send); never blocks.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.inner.get_ref().connect(path)
    }

    /// Sends `buf` as one datagram to the socket at `path`.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.inner
            .write_with(|socket| socket.send_to(buf, path))
            .await
    }

    /// Receives one datagram; returns its length and its sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|socket| socket.recv_from(buf)).await
    }

    /// Sends `buf` to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|socket| socket.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|socket| socket.recv(buf)).await
    }

    /// This socket's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Shuts down reading, writing, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The `std` socket, still registered with the loop.
    pub fn get_ref(&self) -> &net::UnixDatagram {
        self.inner.get_ref()
    }
}

macro_rules! impl_fd {
    ($($ty:ty),*) => {$(
        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.inner.as_fd()
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.inner.as_raw_fd()
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.inner.get_ref().fmt(f)
            }
        }
    )*};
}

impl_fd!(UnixListener, UnixStream, UnixDatagram);
