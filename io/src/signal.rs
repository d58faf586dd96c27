//! Ctrl-C on the loop: [`ctrl_c`] waits for the next `SIGINT`, with no helper thread.
//!
//! A signal interrupts whatever the thread was doing, so its handler may do almost
//! nothing: here it writes one byte to a socket (signal-hook's self-pipe, whose handler
//! is async-signal-safe and chains with other libraries' handlers). The loop waits for the
//! socket's other end on its poller, like any socket, and the task that awaits `ctrl_c`
//! wakes.
//!
//! # Invariants
//!
//! * Each `ctrl_c()` future registers its own handler when first polled and removes it
//!   when it completes or is dropped, so it sees exactly the signals that arrive while
//!   it waits, and nothing stays registered after it.
//! * While at least one `ctrl_c()` waits, `SIGINT` no longer ends the process: the program
//!   decides. Once none waits, it ends the process again, as by default: signal-hook never
//!   uninstalls its handler, so a conditional default action (armed exactly when no
//!   `ctrl_c()` waits, counted in [`WAITING`]) stands in for the OS's.

use std::future::{poll_fn, Future};
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;

use signal_hook::consts::SIGINT;
use signal_hook::SigId;

use crate::Async;

/// Waits for the next Ctrl-C (`SIGINT`) to reach the process.
///
/// # Examples
///
/// ```
/// looplet::run(async {
///     let ctrl_c = looplet::create_task(looplet::signal::ctrl_c());
///     looplet::yield_now().await; // waiting now
///     signal_hook::low_level::raise(signal_hook::consts::SIGINT).unwrap(); // as if Ctrl-C
///     ctrl_c.await.unwrap().unwrap();
/// });
/// ```
///
/// # Cancellation
///
/// Dropping the future removes its handler; a Ctrl-C after that is not seen by it.
///
/// # Errors
///
/// The OS's, when the socket pair for the self-pipe cannot be made (out of fds).
pub async fn ctrl_c() -> io::Result<()> {
    let pipe = SignalPipe::new(SIGINT)?;
    let mut byte = [0; 16];
    // The handler writes a byte per signal; one is enough to return.
    pipe.read.read_with(|mut read| read.read(&mut byte)).await?;
    Ok(())
}

/// Runs `future` until it completes or Ctrl-C arrives, whichever is first; Ctrl-C
/// cancels it (drops it, running its destructors), as `asyncio.Runner` cancels the main
/// task on the first Ctrl-C. A second Ctrl-C, once this has returned, ends the process as
/// usual.
///
/// # Examples
///
/// ```
/// use looplet::signal::cancel_on_ctrl_c;
///
/// looplet::run(async {
///     looplet::create_task(async {
///         signal_hook::low_level::raise(signal_hook::consts::SIGINT).unwrap();
///     });
///     let forever = std::future::pending::<()>();
///     let error = cancel_on_ctrl_c(forever).await.unwrap_err();
///     assert_eq!(error.kind(), std::io::ErrorKind::Interrupted);
/// });
/// ```
///
/// # Errors
///
/// An error of kind [`Interrupted`](io::ErrorKind::Interrupted) when Ctrl-C cancelled the
/// future; the OS's when the self-pipe cannot be made.
pub async fn cancel_on_ctrl_c<F: Future>(future: F) -> io::Result<F::Output> {
    let pipe = SignalPipe::new(SIGINT)?;
    let mut byte = [0; 16];
    let mut signalled = pin!(pipe.read.read_with(|mut read| read.read(&mut byte)));
    let mut future = pin!(future);
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        signalled.as_mut().poll(cx).map(|read| {
            read.and_then(|_| {
                Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "interrupted by Ctrl-C (SIGINT): the future was cancelled",
                ))
            })
        })
    })
    .await
}

/// How many `ctrl_c()` futures wait, process-wide, and the flag that arms the default
/// action (ending the process) when none does.
struct Waiting {
    count: usize,
    /// Registered with signal-hook the first time a future waits; `true` = armed.
    default_armed: Option<Arc<AtomicBool>>,
}

static WAITING: Mutex<Waiting> = Mutex::new(Waiting {
    count: 0,
    default_armed: None,
});

/// One registration of signal-hook's self-pipe for `SIGINT`, removed on drop.
struct SignalPipe {
    read: Async<UnixStream>,
    id: SigId,
}

impl SignalPipe {
    fn new(signal: std::ffi::c_int) -> io::Result<SignalPipe> {
        let (read, write) = UnixStream::pair()?;
        let read = Async::new(read)?;
        let mut waiting = WAITING.lock().unwrap_or_else(PoisonError::into_inner);
        let armed = match &waiting.default_armed {
            Some(armed) => armed.clone(),
            None => {
                let armed = Arc::new(AtomicBool::new(false));
                signal_hook::flag::register_conditional_default(signal, armed.clone())?;
                waiting.default_armed.insert(armed).clone()
            }
        };
        // The write end moves into the handler's registration, made non-blocking by
        // signal-hook, so the handler never blocks.
        let id = signal_hook::low_level::pipe::register(signal, write)?;
        waiting.count += 1;
        armed.store(false, Ordering::SeqCst);
        Ok(SignalPipe { read, id })
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        let mut waiting = WAITING.lock().unwrap_or_else(PoisonError::into_inner);
        signal_hook::low_level::unregister(self.id);
        waiting.count -= 1;
        if waiting.count == 0 {
            if let Some(armed) = &waiting.default_armed {
                armed.store(true, Ordering::SeqCst);
            }
        }
    }
}
