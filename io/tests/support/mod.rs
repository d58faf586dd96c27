//! Helpers shared by the I/O tests: a waker that counts its wakes, and a future that counts
//! its polls.

#![allow(dead_code)] // each test file uses a part

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts how often it is woken.
#[derive(Default)]
pub struct CountingWaker {
    pub wakes: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

impl CountingWaker {
    pub fn new() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(counter.clone());
        (counter, waker)
    }
}

/// Polls `future` once with `waker`.
pub fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// Wraps a future and counts its polls in a shared cell.
pub struct CountPolls<F> {
    pub future: Pin<Box<F>>,
    pub polls: Rc<Cell<usize>>,
}

pub fn count_polls<F: Future>(future: F) -> (CountPolls<F>, Rc<Cell<usize>>) {
    let polls = Rc::new(Cell::new(0));
    let wrapped = CountPolls {
        future: Box::pin(future),
        polls: polls.clone(),
    };
    (wrapped, polls)
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.future.as_mut().poll(cx)
    }
}
