//! Test helpers shared, by `#[path]`, by the timer queue's unit tests (`src/queue.rs`, which
//! need its private state) and `tests/faults.rs`: a waker that logs its name when woken, and
//! firing a queue by hand as the executor does once per tick. The including module must have
//! `TimerQueue` in scope.

#![allow(dead_code)] // each including module uses its own subset

use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use super::TimerQueue;

/// A waker that records, in a shared log, the order in which wakers are woken.
struct Recorder {
    name: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl Wake for Recorder {
    fn wake(self: Arc<Self>) {
        self.log.lock().unwrap().push(self.name);
    }
}

/// A [`Recorder`] waker that logs `name` into `log`.
pub fn recorder(name: usize, log: &Arc<Mutex<Vec<usize>>>) -> Waker {
    Waker::from(Arc::new(Recorder {
        name,
        log: Arc::clone(log),
    }))
}

/// Fires what is due now and wakes it, as the executor does once per tick.
pub fn fire(queue: &TimerQueue) -> usize {
    let mut due = Vec::new();
    let fired = queue.fire_due(&mut due);
    due.into_iter().for_each(Waker::wake);
    fired
}
