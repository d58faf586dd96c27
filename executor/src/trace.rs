//! Trace mode: one line per loop event on stderr, stamped with the loop's clock.
//!
//! Switched on by [`Builder::trace`](crate::Builder::trace) or by the environment variable
//! `LOOPLET_TRACE=1`. When it is off every hook is one branch on an `Option`, which the
//! `trace_off` bench shows is within noise.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::event_loop::Core;
use crate::task::{Completion, TaskId};

/// Writes trace lines when enabled; does nothing (one branch) otherwise.
pub(crate) struct Tracer {
    /// The loop clock's reading when tracing began; `None` when tracing is off.
    origin: Cell<Option<Instant>>,
    enabled: bool,
}

impl Tracer {
    pub(crate) fn new(enabled: bool) -> Tracer {
        Tracer {
            origin: Cell::new(None),
            enabled,
        }
    }

    /// Whether `LOOPLET_TRACE` asks for tracing.
    pub(crate) fn from_env() -> bool {
        std::env::var_os("LOOPLET_TRACE").is_some_and(|value| value != "0" && !value.is_empty())
    }

    #[inline]
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled
    }

    #[inline]
    fn emit(&self, core: &Core, event: std::fmt::Arguments<'_>) {
        let now = core.timers().now();
        let origin = match self.origin.get() {
            Some(origin) => origin,
            None => {
                self.origin.set(Some(now));
                now
            }
        };
        let elapsed = now.saturating_duration_since(origin);
        eprintln!("[looplet {:>10.6}s] {event}", elapsed.as_secs_f64());
    }

    #[inline]
    pub(crate) fn task_created(&self, core: &Core, id: TaskId, name: &str) {
        if self.enabled {
            self.emit(core, format_args!("created  {id} ({name})"));
        }
    }

    #[inline]
    pub(crate) fn poll_started(&self, core: &Core, id: TaskId) {
        if self.enabled {
            self.emit(core, format_args!("poll     {id}"));
        }
    }

    #[inline]
    pub(crate) fn poll_ended(&self, _core: &Core, _id: TaskId) {}

    #[inline]
    pub(crate) fn task_woken(&self, core: &Core, id: TaskId, remote: bool) {
        if self.enabled {
            let path = if remote { "remote" } else { "local" };
            self.emit(core, format_args!("woken    {id} ({path})"));
        }
    }

    #[inline]
    pub(crate) fn task_finished(&self, core: &Core, id: TaskId, completion: Completion) {
        if self.enabled {
            let how = match completion {
                Completion::Value => "value",
                Completion::Panicked => "panicked",
                Completion::Cancelled => "cancelled",
            };
            self.emit(core, format_args!("finished {id} ({how})"));
        }
    }

    #[inline]
    pub(crate) fn timers_fired(&self, core: &Core, count: usize) {
        if self.enabled {
            self.emit(core, format_args!("timers   {count} fired"));
        }
    }

    #[inline]
    pub(crate) fn parked(&self, core: &Core, duration: Duration) {
        if self.enabled {
            let kind = if core.timers().clock().is_virtual() {
                "virtual clock jumps"
            } else {
                "parked for"
            };
            self.emit(core, format_args!("idle     {kind} {duration:?}"));
        }
    }

    #[inline]
    pub(crate) fn parked_forever(&self, core: &Core) {
        if self.enabled {
            self.emit(core, format_args!("idle     parked until a remote wake"));
        }
    }
}
