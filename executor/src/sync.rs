//! The cross-thread primitives of the remote wake path and the waker count, in one place, so
//! that the model checker can swap them: std's and crossbeam's in every normal build, loom's
//! under `--cfg loom`.
//!
//! [`crate::remote`] and [`crate::refs`] take their atomics, their queue and their handle on
//! the loop's thread from here and from nowhere else; their loom models (in the same files)
//! then run the real code over every interleaving loom can reach. Nothing else in the crate
//! changes under loom, and a normal build never sees it.
//!
//! # What the loom build stands in for
//!
//! * **The queue.** loom cannot look inside crossbeam's `SegQueue`, so under loom it is a
//!   `Mutex<VecDeque>` with the same four methods. That queue is linearizable, and so is
//!   crossbeam's: its indices are moved and read with `SeqCst`, which the lost-wake argument
//!   in [`crate::remote`] relies on. The models check the protocol built on the queue, not
//!   the queue.
//! * **The loop's thread.** loom's threads are not std's, so a [`LoopThread`] made under
//!   loom is the model thread that makes it, whatever std handle it is given. The real loop
//!   makes its `Remote` on the thread that runs it, so the two agree.
//! * **Park and unpark.** loom's own `unpark` loses its token when it reaches a thread that
//!   is blocked on a mutex or yielding rather than parked (tokio-rs/loom#249), which would
//!   show up as a lost wake that std's cannot have. Under loom a [`LoopThread`] therefore
//!   carries std's semantics itself: a token under a mutex, and a condition variable to
//!   wait on, with the models parking through [`LoopThread::park`].

#[cfg(not(loom))]
pub(crate) use crossbeam_queue::SegQueue;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// The thread a loop runs on, as other threads need it: to unpark it, and to tell whether
/// they are on it.
#[cfg(not(loom))]
pub(crate) struct LoopThread {
    thread: std::thread::Thread,
}

#[cfg(not(loom))]
impl LoopThread {
    /// The loop thread `thread`.
    pub(crate) fn new(thread: std::thread::Thread) -> LoopThread {
        LoopThread { thread }
    }

    /// Makes the loop's `park` return (now, or at once when it next parks).
    pub(crate) fn unpark(&self) {
        self.thread.unpark();
    }

    /// Whether the calling thread is the loop's.
    pub(crate) fn is_current(&self) -> bool {
        self.thread.id() == std::thread::current().id()
    }
}

/// The loop's thread under loom: the model thread that made it, and a park token with std's
/// semantics (module docs).
#[cfg(loom)]
pub(crate) struct LoopThread {
    id: loom::thread::ThreadId,
    token: loom::sync::Mutex<bool>,
    unparked: loom::sync::Condvar,
}

#[cfg(loom)]
impl LoopThread {
    /// The calling model thread; `thread` is not used (module docs).
    pub(crate) fn new(thread: std::thread::Thread) -> LoopThread {
        let _ = thread;
        LoopThread {
            id: loom::thread::current().id(),
            token: loom::sync::Mutex::new(false),
            unparked: loom::sync::Condvar::new(),
        }
    }

    /// Makes the token available, ending a `park` under way or the next one.
    pub(crate) fn unpark(&self) {
        *self.token.lock().unwrap() = true;
        self.unparked.notify_one();
    }

    /// Whether the calling thread is the loop's.
    pub(crate) fn is_current(&self) -> bool {
        self.id == loom::thread::current().id()
    }

    /// `std::thread::park` for the loop's thread: waits for the token and takes it.
    #[cfg(test)]
    pub(crate) fn park(&self) {
        assert!(self.is_current(), "only the loop's thread parks");
        let mut token = self.token.lock().unwrap();
        while !*token {
            token = self.unparked.wait(token).unwrap();
        }
        *token = false;
    }
}

/// A stand-in for crossbeam's `SegQueue` that loom can model (module docs).
#[cfg(loom)]
pub(crate) struct SegQueue<T> {
    items: loom::sync::Mutex<std::collections::VecDeque<T>>,
}

#[cfg(loom)]
impl<T> SegQueue<T> {
    pub(crate) fn new() -> SegQueue<T> {
        SegQueue {
            items: loom::sync::Mutex::new(std::collections::VecDeque::new()),
        }
    }

    pub(crate) fn push(&self, item: T) {
        self.items.lock().unwrap().push_back(item);
    }

    pub(crate) fn pop(&self) -> Option<T> {
        self.items.lock().unwrap().pop_front()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.lock().unwrap().is_empty()
    }

    /// How many items are queued, for the models to check.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.lock().unwrap().len()
    }
}

/// Running a loom model, for the models beside the code they check.
#[cfg(all(test, loom))]
pub(crate) mod model {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Runs `model` over every interleaving loom reaches with at most `preemptions` forced
    /// switches between threads (`None`: no bound, every interleaving;
    /// `LOOM_MAX_PREEMPTIONS` overrides either), and prints how many interleavings that
    /// was, so that a run records what it checked.
    pub(crate) fn check(
        name: &str,
        preemptions: Option<usize>,
        model: impl Fn() + Sync + Send + 'static,
    ) {
        let mut builder = loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = preemptions;
        }
        let bound = match builder.preemption_bound {
            Some(bound) => format!("at most {bound} preemptions"),
            None => "no preemption bound".to_owned(),
        };
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&runs);
        builder.check(move || {
            counted.fetch_add(1, Ordering::Relaxed);
            model();
        });
        println!(
            "loom model `{name}`: {} interleavings, {bound}",
            runs.load(Ordering::Relaxed)
        );
    }
}
