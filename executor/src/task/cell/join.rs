//! What a `Task` handle asks of its cell ([`JoinCell`]): the outcome, by waiting or at
//! once, and done callbacks, added and removed. The loop's own side is the parent module.

use std::borrow::Cow;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use super::{JoinCell, Outcome, TaskCell};
use crate::context;
use crate::task::contain::contain;
use crate::task::extras::{DoneCallback, DoneCallbackId, Extras};
use crate::task::{Task, TaskError};
use crate::waker::WakerTarget;

impl<F: Future + 'static> JoinCell<F::Output> for TaskCell<F> {
    fn name(&self) -> Cow<'_, str> {
        TaskCell::name(self)
    }

    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, TaskError>> {
        if self.prefix.header.is_done() {
            return Poll::Ready(self.take_outcome());
        }
        // The waiter already registered: nothing has changed since its first poll.
        let header = &self.prefix.header;
        let registered = header.join_waker.take();
        let same_waiter = registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()));
        header.join_waker.set(registered);
        if same_waiter {
            return Poll::Pending;
        }
        // A new waiter. A wait that could never end is an error at once, not a hang: the
        // task's loop must be the one running, and the waiter must not be the task itself.
        let target = &self.prefix.target;
        let waiter = context::with_current(|core| {
            core.is_same_loop(target.remote())
                .then(|| core.current_task())
        });
        match waiter.flatten() {
            None => return Poll::Ready(Err(TaskError::loop_not_running(self.name().into_owned()))),
            Some(Some(current)) if current == target.id() => {
                return Poll::Ready(Err(TaskError::awaited_itself(self.name().into_owned())))
            }
            Some(_) => {}
        }
        header.join_waker.set(Some(cx.waker().clone()));
        Poll::Pending
    }

    fn take_outcome(&self) -> Result<F::Output, TaskError> {
        let header = &self.prefix.header;
        if !header.is_done() {
            return Err(TaskError::not_done(self.name().into_owned()));
        }
        if header.outcome.replace(Outcome::Taken) == Outcome::Taken {
            return Err(TaskError::taken(self.name().into_owned()));
        }
        // SAFETY: the task is done and the outcome was not taken, so the body holds it; the
        // loop no longer touches a done task's body, and `Taken` (recorded above) makes this
        // the one move out (module docs, "Safety").
        unsafe { ManuallyDrop::take(&mut (*self.body.get()).outcome) }
    }

    fn add_done_callback(
        &self,
        base: NonNull<WakerTarget>,
        callback: DoneCallback<F::Output>,
    ) -> DoneCallbackId {
        if !self.prefix.header.is_done() {
            let extras = self.extras.get_or_init(|| Extras::new(None));
            return extras.push_callback(callback);
        }
        // Already done: never run inline. The loop runs it soon; with the loop gone there is
        // nobody left to run it later, so run it now rather than lose it.
        self.prefix.header.mark_observed();
        let handle = self.handle(base);
        match context::loop_owning(self.prefix.target.remote()) {
            Some(core) if !core.is_closed() => {
                core.call_soon(Box::new(move || run_callback(&handle, callback)))
            }
            _ => run_callback(&handle, callback),
        }
        DoneCallbackId::QUEUED
    }

    fn remove_done_callback(&self, id: DoneCallbackId) -> bool {
        let removed = self
            .extras
            .get()
            .and_then(|extras| extras.remove_callback(id));
        let found = removed.is_some();
        contain(
            || format!("dropping a removed done callback of {}", self.name()),
            || drop(removed),
        );
        found
    }
}

pub(super) fn run_callback<T>(handle: &Task<T>, callback: DoneCallback<T>) {
    contain(
        || format!("a done callback of {}", handle.name()),
        || callback(handle),
    );
}
