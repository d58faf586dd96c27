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

use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use signal_hook::consts::SIGINT;
use signal_hook::SigId;

use crate::Async;

/// Waits for the next Ctrl-C (`SIGINT`) to reach the process.
///
/// # Examples
///
/// ```
/// looplet_executor::run(async {
///     let ctrl_c = looplet_executor::create_task(looplet_io::signal::ctrl_c());
///     looplet_executor::yield_now().await; // waiting now
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
