//! Containing panics from user code that the loop runs or drops on its own behalf.
//!
//! The loop calls user code in places where nobody is there to catch a panic: a done
//! callback, the `Drop` of a future it cancels or finishes, the `Drop` of an output or a
//! callback nobody will use. A panic there must not unwind through the loop's bookkeeping
//! (a task would stay half-finished) or out of `run`.
//!
//! # Rules
//!
//! * [`contain`] runs one such piece of user code, catches its panic and reports it on
//!   stderr, naming what was running; the caller then goes on with its bookkeeping.
//! * A caught panic's payload is user data too, and its own `Drop` may panic again.
//!   [`drop_payload`] drops it under a second catch; a payload that panics *again* (a third
//!   time) is reported and leaked rather than dropped, since every further attempt could do
//!   the same. Nothing here ever panics or aborts.
//! * Code that runs while the thread is already unwinding cannot be protected: a `Drop`
//!   that panics then aborts the process, by Rust's rules, whatever the executor does.

use std::any::Any;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::panic_message;

/// Runs `user_code`, containing a panic: it is reported as "`what()` panicked" and the
/// loop goes on. `what` is called only if there is something to report. Returns whether
/// `user_code` finished without panicking.
#[inline]
pub(crate) fn contain(what: impl FnOnce() -> String, user_code: impl FnOnce()) -> bool {
    match catch_unwind(AssertUnwindSafe(user_code)) {
        Ok(()) => true,
        Err(payload) => {
            report(&what(), payload.as_ref());
            drop_payload(payload);
            false
        }
    }
}

/// Reports a caught panic of `what` on stderr.
pub(crate) fn report(what: &dyn fmt::Display, payload: &(dyn Any + Send)) {
    let message = panic_message(payload).unwrap_or("a non-string payload");
    eprintln!("looplet: {what} panicked: {message}; the loop goes on");
}

/// Drops a caught panic's payload, containing a panic of its own `Drop` (module docs).
pub(crate) fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        report(&"dropping a panic's payload", again.as_ref());
        if let Err(third) = catch_unwind(AssertUnwindSafe(|| drop(again))) {
            eprintln!("looplet: and so did that panic's payload; it is leaked, not dropped");
            std::mem::forget(third);
        }
    }
}
