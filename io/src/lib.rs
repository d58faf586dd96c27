//! looplet's reactor: the loop waits on the OS poller, and sockets wake exactly their tasks.
//!
//! A looplet loop parks in one place. Without I/O it parks its thread until the next
//! timer; once a socket exists it parks in this crate's reactor instead, waiting in the OS
//! poller (epoll, kqueue, event ports, via [`polling`]) with the next timer's deadline as
//! the timeout. Other threads end the wait through the poller's `notify`. There is no
//! helper thread: the loop's own thread waits, then wakes the tasks whose sockets are
//! ready, and only those.
//!
//! 1. The first I/O object made on a loop installs the reactor as the loop's
//!    [`Driver`](looplet_executor::Driver) (`looplet_executor::install_driver`); the loop
//!    keeps it for the rest of its life.
//! 2. [`Async<T>`] registers a non-blocking fd with it, once, for both directions.
//! 3. An operation is tried first. Only `WouldBlock` makes the task wait, on one direction
//!    of one fd; the next readiness event for that direction wakes it, and it tries again.
//! 4. [`net`] builds TCP, UDP and Unix sockets on `Async`, with `futures-io`'s
//!    `AsyncRead`/`AsyncWrite` on the streams.
//!
//! ```
//! use futures_util::{AsyncReadExt, AsyncWriteExt};
//! use looplet::net::{TcpListener, TcpStream};
//!
//! looplet::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = looplet::create_task(async move {
//!         let (mut stream, _) = listener.accept().await?;
//!         stream.write_all(b"hello from the server").await?;
//!         std::io::Result::Ok(())
//!     });
//!     let mut client = TcpStream::connect(addr).await?;
//!     let mut reply = String::new();
//!     client.read_to_string(&mut reply).await?; // until the server's stream is dropped
//!     assert_eq!(reply, "hello from the server");
//!     server.await.unwrap()?;
//!     assert!(looplet::stats().io_events > 0); // the loop waited on the poller
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
//!
//! # Timeouts and cancellation
//!
//! Every I/O future is an ordinary future: `looplet::timeout` around it, or
//! cancelling its task, drops it, and dropping it removes its interest from the reactor.
//!
//! # Sockets and the virtual clock
//!
//! On a virtual clock the loop never blocks while a timer is pending. Before it jumps the
//! clock to the next deadline it asks the poller, without waiting, for I/O that is ready
//! *now*, and serves that first. So in a test that mixes sockets and sleeps:
//!
//! * sockets whose both ends are on the loop behave as on the real clock: what one task
//!   writes is (on loopback, in practice) readable by the time the write returns, so it is
//!   served before the clock moves;
//! * I/O that is not ready yet does not hold virtual time back: a `timeout` around a read
//!   whose data would come from another thread or process fires at once, in virtual time;
//! * with no timer pending, the loop waits on the poller as on the real clock.
//!
//! Test a peer outside the loop on the real clock, or with no timer pending meanwhile.
//!
//! # Platforms
//!
//! Unix (Linux, macOS, the BSDs): the types are built on `std::os::fd`.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod async_fd;
pub mod net;
mod reactor;
pub mod signal;

pub use async_fd::{Async, Ready};
