//! `TaskCell<F>`: the one allocation behind a task, seen by the loop as `dyn RawTask` and by
//! handles as `dyn JoinCell<T>`.
//!
//! # Safety
//!
//! The only `unsafe` here pins the future in place: the future lives in `stage` inside an
//! `Rc` allocation that never moves, and it leaves `Stage::Running` only by being overwritten
//! (which drops it in place) — never by `mem::replace`, `take` or any other move. That is the
//! whole pinning invariant; every write to `stage` in this file keeps it.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use super::error::panic_message;
use super::{Completion, Task, TaskError, TaskId, TaskState};
use crate::event_loop::Core;

/// What the loop needs from a task, whatever its future's type.
pub(crate) trait RawTask {
    fn header(&self) -> &Header;

    /// Polls the future once, catching a panic. On `Finished` the outcome is stored and the
    /// future has been dropped; the caller then calls [`RawTask::complete`].
    fn poll_future(&self, cx: &mut Context<'_>) -> PollOutcome;

    /// Drops the future in place and stores `Cancelled`; the caller then calls `complete`.
    fn drop_future_cancelled(&self);

    /// Marks the task done, wakes whoever awaits it, and runs its done callbacks.
    fn complete(self: Rc<Self>, completion: Completion);
}

/// What a handle needs from a task: the outcome, typed.
pub(crate) trait JoinCell<T> {
    fn header(&self) -> &Header;
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>>;
    fn take_outcome(&self) -> Result<T, TaskError>;
    fn add_done_callback(self: Rc<Self>, callback: DoneCallback<T>);
}

pub(crate) type DoneCallback<T> = Box<dyn FnOnce(&Task<T>)>;

#[must_use]
pub(crate) enum PollOutcome {
    /// The future is still pending; the task goes back to `Idle`.
    Pending,
    /// The future finished (or panicked); complete the task with this.
    Finished(Completion),
}

/// The part of a task that does not depend on its future's type.
pub(crate) struct Header {
    pub(crate) id: TaskId,
    name: Option<Box<str>>,
    pub(crate) state: Cell<TaskState>,
    /// Set by `cancel()`; applied by the loop the next time it owns the task.
    pub(crate) cancel_requested: Cell<bool>,
    /// Whether anyone took the outcome or had a callback to look at it; an unobserved panic
    /// is reported on stderr when the task is freed.
    observed: Cell<bool>,
    /// The task's owned waker, made on the first clone of its poll waker (`crate::waker`).
    pub(crate) owned_waker: Cell<Option<Waker>>,
    /// The waker of whoever awaits the handle; taken (never borrowed) to read it.
    join_waker: Cell<Option<Waker>>,
    pub(crate) core: Weak<Core>,
}

impl Header {
    pub(crate) fn name(&self) -> Cow<'_, str> {
        match &self.name {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(self.id.to_string()),
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        matches!(self.state.get(), TaskState::Done(_))
    }
}

enum Stage<F: Future> {
    Running(F),
    Done(Result<F::Output, TaskError>),
    Taken,
}

struct TaskCell<F: Future> {
    header: Header,
    stage: RefCell<Stage<F>>,
    /// Done callbacks in registration order; taken (never borrowed) to read or extend.
    callbacks: Cell<Vec<DoneCallback<F::Output>>>,
}

/// Allocates a task. The loop stores the first `Rc`, the handle gets the second.
pub(crate) fn new_task<F>(
    id: TaskId,
    name: Option<Box<str>>,
    core: Weak<Core>,
    future: F,
) -> (Rc<dyn RawTask>, Rc<dyn JoinCell<F::Output>>)
where
    F: Future + 'static,
{
    let cell = Rc::new(TaskCell {
        header: Header {
            id,
            name,
            state: Cell::new(TaskState::Idle),
            cancel_requested: Cell::new(false),
            observed: Cell::new(false),
            owned_waker: Cell::new(None),
            join_waker: Cell::new(None),
            core,
        },
        stage: RefCell::new(Stage::Running(future)),
        callbacks: Cell::new(Vec::new()),
    });
    (cell.clone(), cell)
}

impl<F: Future + 'static> RawTask for TaskCell<F> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn poll_future(&self, cx: &mut Context<'_>) -> PollOutcome {
        let mut stage = self.stage.borrow_mut();
        let Stage::Running(future) = &mut *stage else {
            // Only `Idle` tasks are polled, and an `Idle` task's stage is `Running`.
            return PollOutcome::Finished(Completion::Cancelled);
        };
        // SAFETY: the future sits inside the `Rc` allocation and is never moved out of it;
        // it leaves `Stage::Running` only by being dropped in place (module docs).
        let future = unsafe { Pin::new_unchecked(future) };
        let (outcome, completion) = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => return PollOutcome::Pending,
            Ok(Poll::Ready(value)) => (Ok(value), Completion::Value),
            Err(payload) => (
                Err(TaskError::panicked(
                    self.header.name().into_owned(),
                    payload,
                )),
                Completion::Panicked,
            ),
        };
        // Overwriting drops the future in place; a panic in its `Drop` is caught and
        // reported, as asyncio reports errors raised while closing a coroutine. The outcome
        // is stored either way: an assignment writes the new value even when dropping the
        // old one unwinds.
        let replaced = catch_unwind(AssertUnwindSafe(|| *stage = Stage::Done(outcome)));
        if let Err(payload) = replaced {
            report_drop_panic(&self.header, payload.as_ref());
        }
        PollOutcome::Finished(completion)
    }

    fn drop_future_cancelled(&self) {
        let cancelled = Stage::Done(Err(TaskError::cancelled(self.header.name().into_owned())));
        let mut stage = self.stage.borrow_mut();
        // As in `poll_future`: the new stage is written even if the drop unwinds.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| *stage = cancelled)) {
            report_drop_panic(&self.header, payload.as_ref());
        }
    }

    fn complete(self: Rc<Self>, completion: Completion) {
        self.header.state.set(TaskState::Done(completion));
        if let Some(waker) = self.header.join_waker.take() {
            waker.wake();
        }
        let callbacks = self.callbacks.take();
        if callbacks.is_empty() {
            return;
        }
        self.header.observed.set(true);
        let handle = Task::from_cell(self.clone());
        for callback in callbacks {
            run_callback(&handle, callback);
        }
    }
}

impl<F: Future + 'static> JoinCell<F::Output> for TaskCell<F> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, TaskError>> {
        if self.header.is_done() {
            return Poll::Ready(self.take_outcome());
        }
        let waker = match self.header.join_waker.take() {
            Some(waker) if waker.will_wake(cx.waker()) => waker,
            _ => cx.waker().clone(),
        };
        self.header.join_waker.set(Some(waker));
        Poll::Pending
    }

    fn take_outcome(&self) -> Result<F::Output, TaskError> {
        if !self.header.is_done() {
            return Err(TaskError::not_done(self.header.name().into_owned()));
        }
        self.header.observed.set(true);
        match std::mem::replace(&mut *self.stage.borrow_mut(), Stage::Taken) {
            Stage::Done(outcome) => outcome,
            // `Running` cannot be seen once `Done`; put nothing back either way.
            Stage::Running(_) | Stage::Taken => {
                Err(TaskError::taken(self.header.name().into_owned()))
            }
        }
    }

    fn add_done_callback(self: Rc<Self>, callback: DoneCallback<F::Output>) {
        if !self.header.is_done() {
            let mut callbacks = self.callbacks.take();
            callbacks.push(callback);
            self.callbacks.set(callbacks);
            return;
        }
        // Already done: never run inline. The loop runs it soon; with the loop gone there is
        // nobody left to run it later, so run it now rather than lose it.
        self.header.observed.set(true);
        let handle = Task::from_cell(self.clone());
        match self.header.core.upgrade() {
            Some(core) if !core.is_closed() => {
                core.call_soon(Box::new(move || run_callback(&handle, callback)))
            }
            _ => run_callback(&handle, callback),
        }
    }
}

impl<F: Future> Drop for TaskCell<F> {
    fn drop(&mut self) {
        if self.header.observed.get() {
            return;
        }
        if let Stage::Done(Err(error)) = &*self.stage.borrow() {
            if error.is_panic() {
                eprintln!(
                    "looplet: {error}, and nobody retrieved the outcome (the task handle was \
                     dropped with no done callback); await the task or keep its handle to \
                     observe it"
                );
            }
        }
    }
}

fn run_callback<T>(handle: &Task<T>, callback: DoneCallback<T>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(handle))) {
        let message = panic_message(payload.as_ref()).unwrap_or("a non-string payload");
        eprintln!(
            "looplet: a done callback of {} panicked: {message}; the loop goes on",
            handle.name()
        );
    }
}

fn report_drop_panic(header: &Header, payload: &(dyn std::any::Any + Send)) {
    let message = panic_message(payload).unwrap_or("a non-string payload");
    eprintln!(
        "looplet: dropping the future of {} panicked: {message}; the loop goes on",
        header.name()
    );
}
