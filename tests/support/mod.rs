//! Helpers shared by the facade's integration tests: a virtual-clock runner, an event trace,
//! a deadline that fails a test instead of letting it hang CI, a size knob for slow runs,
//! and a panic hook that keeps deliberate panics out of the test output.

#![allow(dead_code)]

use std::cell::RefCell;
use std::panic::PanicHookInfo;
use std::rc::Rc;
use std::sync::{mpsc, Once};
use std::time::Duration;

use looplet::Runner;

/// A runner on the virtual clock: sleeps take no real time and elapsed time is exact.
pub fn virtual_runner() -> Runner {
    Runner::builder().virtual_clock(true).build()
}

/// An ordered log of events, cheap to clone into tasks.
#[derive(Clone, Default)]
pub struct Trace(Rc<RefCell<Vec<String>>>);

impl Trace {
    pub fn new() -> Trace {
        Trace::default()
    }

    pub fn push(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    pub fn events(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

/// How long any one test body may run before it counts as hung. Generous: a debug build on
/// two busy cores, or valgrind, is slow; a real hang is forever.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Runs `body` on its own thread and fails the test if it has not finished within
/// `limit`: a lost wake-up shows up as a failure, not as a CI job that never ends.
pub fn within<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = done.send(body());
    });
    // Under valgrind (the reduced run of `.ci/run`) everything is tens of times slower and
    // threads take turns, so the deadline stretches with it; it still catches a hang.
    let limit = if std::env::var_os("LOOPLET_TEST_REDUCED").is_some_and(|value| value == "1") {
        limit * 5
    } else {
        limit
    };
    match finished.recv_timeout(limit) {
        Ok(value) => {
            worker.join().expect("the test body's thread");
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the body sent nothing but returned"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("test body still running after {limit:?}: a hang")
        }
    }
}

/// `n` at full size, or `n / 100` (at least 1) when `LOOPLET_TEST_REDUCED=1` asks for a
/// reduced run (the valgrind pass of `.ci/run`). Sizes only: never a reason to skip a check.
pub fn scaled(n: usize) -> usize {
    let reduced = std::env::var_os("LOOPLET_TEST_REDUCED").is_some_and(|value| value == "1");
    if reduced {
        (n / 100).max(1)
    } else {
        n
    }
}

/// The marker that deliberate panics in these tests carry in their message.
pub const DELIBERATE: &str = "deliberate panic";

/// Keeps panics whose message contains [`DELIBERATE`] off stderr (a test that panics on
/// purpose thousands of times would bury real failures); every other panic is printed as
/// usual. Installed once per test binary.
pub fn hush_deliberate_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if !message.is_some_and(|message| message.contains(DELIBERATE)) {
                default(info);
            }
        }));
    });
}
