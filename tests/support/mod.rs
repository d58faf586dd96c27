//! Helpers shared by the facade's integration tests: a virtual-clock runner, an event trace,
//! a deadline that fails a test instead of letting it hang CI, a size knob for slow runs,
//! and a panic hook that keeps deliberate panics out of the test output.

#![allow(dead_code)]

use std::panic::PanicHookInfo;
use std::sync::Once;
use std::time::Duration;

// The executor's test helpers, shared rather than copied: `virtual_runner`, `Trace`,
// `within` (a deadline that fails a test instead of hanging CI) and `scaled` (the size knob
// for the valgrind run). `looplet::Runner` is the executor's `Runner`, re-exported.
#[path = "../../executor/tests/support/mod.rs"]
mod executor_support;

#[allow(unused_imports)] // each test binary uses its own subset
pub use executor_support::{scaled, virtual_runner, within, Trace};

/// How long any one test body may run before it counts as hung. Generous: a debug build on
/// two busy cores, or valgrind, is slow; a real hang is forever.
pub const LIMIT: Duration = Duration::from_secs(60);

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
