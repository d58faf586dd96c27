//! [`Async<T>`]: any pollable fd, registered with the loop's reactor, with async operations.
//!
//! # Invariants
//!
//! * An `Async` owns its `T` and registers `T`'s fd when it is made; it deregisters it in
//!   [`Drop`] (or [`into_inner`](Async::into_inner)) before `T` is dropped or handed back.
//!   It gives out `&T` only, never `&mut T`, so safe code cannot close or swap the fd while
//!   it is registered: that is what `Poller::add`'s safety contract needs.
//! * Operations are tried first and wait only on `WouldBlock` (see `crate::reactor`).
//! * The futures that wait ([`Ready`], `read_with`, `write_with`) borrow the `Async`, so
//!   none outlives the registration; dropping one removes its waiter at once.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::reactor::{Direction, Reactor, Source};

/// A non-blocking fd registered with the running loop's reactor.
///
/// The sockets in [`net`](crate::net) are built on it; use it directly for any other
/// pollable fd (a pipe, a tty, an eventfd, a socket type `net` does not cover).
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use looplet::io::Async;
///
/// looplet::run(async {
///     let (a, b) = UnixStream::pair()?;
///     let (a, b) = (Async::new(a)?, Async::new(b)?);
///     b.write_with(|mut b| b.write(b"ping")).await?;
///     let mut buf = [0; 4];
///     let n = a.read_with(|mut a| a.read(&mut buf)).await?;
///     assert_eq!(&buf[..n], b"ping");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct Async<T: AsFd> {
    /// `Some` until `into_inner`; `Drop` deregisters only then.
    io: Option<T>,
    source: Rc<Source>,
    reactor: Rc<Reactor>,
}

impl<T: AsFd> Async<T> {
    /// Puts `io` in non-blocking mode and registers it with the running loop's reactor
    /// (installing the reactor, the first time on a loop).
    ///
    /// # Errors
    ///
    /// The OS's, when the fd cannot be made non-blocking or polled (a regular file, for
    /// example: `epoll` refuses those).
    ///
    /// # Panics
    ///
    /// Panics when no looplet loop runs on this thread.
    #[track_caller]
    pub fn new(io: T) -> io::Result<Async<T>> {
        set_nonblocking(io.as_fd())?;
        Async::new_nonblocking(io)
    }

    /// [`Async::new`] for an fd already in non-blocking mode.
    #[track_caller]
    pub(crate) fn new_nonblocking(io: T) -> io::Result<Async<T>> {
        let reactor = Reactor::current();
        // SAFETY: `Async` owns `io`, hands out only `&T`, and deregisters the fd before it
        // drops or returns `io` (module docs), so the fd stays open while registered.
        let source = unsafe { reactor.register(io.as_fd())? };
        Ok(Async {
            io: Some(io),
            source,
            reactor,
        })
    }

    /// The wrapped I/O object. Reading or writing through it directly is fine (it is
    /// non-blocking); a `WouldBlock` from it is yours to handle, or use
    /// [`read_with`](Async::read_with) and [`write_with`](Async::write_with).
    pub fn get_ref(&self) -> &T {
        self.io
            .as_ref()
            .expect("an Async holds its I/O object until into_inner")
    }

    /// Deregisters the fd and gives the I/O object back (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for platforms where deregistering can fail.
    pub fn into_inner(mut self) -> io::Result<T> {
        self.reactor.deregister(&self.source);
        Ok(self.io.take().expect("into_inner runs once"))
    }

    /// Waits until the fd is readable: a read would not block (it may still fail, or
    /// return 0 at end of stream). A level check: it completes at once, after one trip
    /// through the poller, if the fd is readable already.
    ///
    /// # Cancellation
    ///
    /// Dropping the future removes its interest; nothing is lost.
    pub fn readable(&self) -> Ready<'_, T> {
        Ready::new(self, Direction::Read, true)
    }

    /// Waits until the fd is writable; see [`readable`](Async::readable).
    pub fn writable(&self) -> Ready<'_, T> {
        Ready::new(self, Direction::Write, true)
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for the fd to become
    /// readable in between; returns what `op` returned.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe as long as `op` is: dropping the future between tries loses nothing.
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        loop {
            match op(self.get_ref()) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                done => return done,
            }
            Ready::new(self, Direction::Read, false).await?;
        }
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for the fd to become
    /// writable in between; see [`read_with`](Async::read_with).
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        loop {
            match op(self.get_ref()) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                done => return done,
            }
            Ready::new(self, Direction::Write, false).await?;
        }
    }

    /// The poll-based form of `read_with`/`write_with`, for `AsyncRead`/`AsyncWrite`: one
    /// try; on `WouldBlock`, `cx`'s waker is stored for the next event in `dir`.
    pub(crate) fn poll_with<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        op: impl FnOnce(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        match op(self.get_ref()) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                self.reactor.wait_poll(&self.source, dir, cx.waker())?;
                Poll::Pending
            }
            done => Poll::Ready(done),
        }
    }

    /// How many wakers wait on this fd for reading and for writing; tests use it to see
    /// that a dropped future left nothing behind.
    #[doc(hidden)]
    pub fn waiting_wakers(&self) -> (usize, usize) {
        (
            self.source.waker_count(Direction::Read),
            self.source.waker_count(Direction::Write),
        )
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        if self.io.is_some() {
            self.reactor.deregister(&self.source);
        }
    }
}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_fd().as_raw_fd()
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

/// Waits until an [`Async`]'s fd is ready in one direction: returned by
/// [`readable`](Async::readable) and [`writable`](Async::writable).
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Ready<'a, T: AsFd> {
    io: &'a Async<T>,
    dir: Direction,
    /// Re-arm the fd on registration, so its current state counts (a level check).
    level: bool,
    /// The waiter slot, once registered.
    slot: Option<usize>,
}

impl<'a, T: AsFd> Ready<'a, T> {
    fn new(io: &'a Async<T>, dir: Direction, level: bool) -> Self {
        Ready {
            io,
            dir,
            level,
            slot: None,
        }
    }
}

impl<T: AsFd> Future for Ready<'_, T> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Async {
            source, reactor, ..
        } = self.io;
        match self.slot {
            None => {
                let slot = reactor.add_waiter(source, self.dir, cx.waker(), self.level)?;
                self.slot = Some(slot);
                Poll::Pending
            }
            Some(slot) => {
                if source.poll_waiter(self.dir, slot, cx.waker()) {
                    source.remove_waiter(self.dir, slot);
                    self.slot = None;
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<T: AsFd> Drop for Ready<'_, T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            self.io.source.remove_waiter(self.dir, slot);
        }
    }
}

impl<T: AsFd> fmt::Debug for Ready<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready").field("dir", &self.dir).finish()
    }
}

/// Reads through `&T` with the poll-based path; shared by `Async<T>` and `&Async<T>`.
fn poll_read<T: AsFd>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>>
where
    for<'a> &'a T: Read,
{
    io.poll_with(Direction::Read, cx, |mut inner| inner.read(buf))
}

fn poll_read_vectored<T: AsFd>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    bufs: &mut [IoSliceMut<'_>],
) -> Poll<io::Result<usize>>
where
    for<'a> &'a T: Read,
{
    io.poll_with(Direction::Read, cx, |mut inner| inner.read_vectored(bufs))
}

fn poll_write<T: AsFd>(io: &Async<T>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>
where
    for<'a> &'a T: Write,
{
    io.poll_with(Direction::Write, cx, |mut inner| inner.write(buf))
}

fn poll_write_vectored<T: AsFd>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>>
where
    for<'a> &'a T: Write,
{
    io.poll_with(Direction::Write, cx, |mut inner| inner.write_vectored(bufs))
}

fn poll_flush<T: AsFd>(io: &Async<T>, cx: &mut Context<'_>) -> Poll<io::Result<()>>
where
    for<'a> &'a T: Write,
{
    io.poll_with(Direction::Write, cx, |mut inner| inner.flush())
}

/// `AsyncRead` and `AsyncWrite` for `Async<T>` and `&Async<T>`: one reader and one writer
/// at a time each (the traits wake the most recent poller only); `readable()` and
/// `read_with` serve any number of waiters.
macro_rules! impl_async_rw {
    ($($ty:ty),*) => {$(
        impl<T: AsFd> AsyncRead for $ty
        where
            for<'a> &'a T: Read,
        {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                poll_read(&self, cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                poll_read_vectored(&self, cx, bufs)
            }
        }

        impl<T: AsFd> AsyncWrite for $ty
        where
            for<'a> &'a T: Write,
        {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                poll_write(&self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                poll_write_vectored(&self, cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                poll_flush(&self, cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                poll_flush(&self, cx)
            }
        }
    )*};
}

impl_async_rw!(Async<T>, &Async<T>);

/// Sets `O_NONBLOCK` (the one flag an fd needs before the poller can serve it).
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    if !flags.contains(rustix::fs::OFlags::NONBLOCK) {
        rustix::fs::fcntl_setfl(fd, flags | rustix::fs::OFlags::NONBLOCK)?;
    }
    Ok(())
}
