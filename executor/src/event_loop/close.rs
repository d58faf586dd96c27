//! The end of a loop's life: `close` cancels every task left and refuses further work, and
//! dropping the loop forgets it on its thread.
//!
//! Closing runs user code — futures' `Drop`s, done callbacks — that may create tasks or
//! callbacks of its own; those are cancelled in the next round, up to a bound, so a close
//! always ends.

use std::rc::Rc;

use super::{Core, Phase, ReadyEntry};
use crate::context;
use crate::task::TaskRef;

impl Core {
    /// Cancels every task left, in creation order, running their done callbacks; repeats
    /// while callbacks or `Drop`s create more. Then refuses all further work.
    pub(crate) fn close(self: &Rc<Self>) {
        if self.phase.get() != Phase::Open {
            return;
        }
        self.phase.set(Phase::Closing);
        // Enter the loop so `Drop` code can still reach timers and `create_task`; if another
        // loop runs on this thread (a Runner dropped inside a task) do without.
        let entered = context::try_enter(self);
        if self.trace.is_debug() {
            let mut pending: Vec<_> = self
                .sched
                .borrow()
                .tasks
                .iter()
                .map(|task| (task.waker_target().id().number, task.name()))
                .collect();
            pending.sort();
            let names: Vec<String> = pending.into_iter().map(|(_, name)| name).collect();
            self.trace.closing_with_pending(&names);
        }
        for _round in 0..1_000 {
            let (queued, mut left): (Vec<ReadyEntry>, Vec<TaskRef>) = {
                let mut sched = self.sched.borrow_mut();
                let queued = sched.ready.drain(..).collect();
                (queued, sched.tasks.take_all())
            };
            for entry in queued {
                // SAFETY: each entry left the queue once, above.
                drop(unsafe { entry.into_task() });
            }
            if left.is_empty() && self.soon.borrow().is_empty() {
                break;
            }
            left.sort_by_key(|task| task.waker_target().id().number);
            for task in left {
                if !task.header().is_done() {
                    self.finish_cancelled(task);
                }
            }
            let callbacks: Vec<_> = self.soon.borrow_mut().drain(..).collect();
            for callback in callbacks {
                callback();
            }
        }
        let leaked = self.sched.borrow().tasks.len();
        if leaked > 0 {
            eprintln!(
                "looplet: {leaked} tasks were still being created by done callbacks after 1000 \
                 rounds of cancellation at close; they are dropped without running"
            );
        }
        self.phase.set(Phase::Closed);
        self.remote.close();
        self.trace.finish();
        drop(entered);
        // A closed loop builds no more tasks: nothing kept for them is needed.
        self.release_burst_memory();
        self.cell_cache.borrow_mut().release_all();
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        context::prune_dead_loops();
    }
}
