//! The loop itself: one tick is ready batch → callbacks → due timers → remote queue → park.
//!
//! # Ground rules
//!
//! * `Core` is shared through `Rc` by the running `block_on`, the thread-local context,
//!   and (weakly) every task header. Its fields sit in `Cell`s and `RefCell`s that are
//!   borrowed only for the few lines that read or write them — never across a `poll`, a
//!   `Drop` of user data, a waker call or a callback, because user code may spawn, wake,
//!   cancel or drop anything from there.
//! * A task is in the ready queue at most once: its header's `queued` flag is set before
//!   the push and cleared at the pop, and neither wake path pushes while it is set.
//! * Ids are checked on every table lookup (slot *and* number), so a stale id — from a late
//!   remote wake, or a cancel — is skipped. Ready-queue entries are not ids but references
//!   to the task's cell, so they cannot go stale; a task that finished while queued is
//!   skipped when its entry comes up.
//! * A `ReadyEntry` holds a loop-side reference from its push to its pop; every path that
//!   empties the queue (`pop_ready`, `close`, dropping the scheduler) gives it back once.
//!
//! # Fairness
//!
//! Each batch in [`Core::block_on`] polls only the tasks that were ready when it began:
//! anything woken during the batch, including a task that wakes itself, waits for the next
//! tick. Timers and remote wakes are looked at between batches, so a task that yields
//! forever delays them by one batch at most and cannot starve them.
//!
//! # Parking
//!
//! [`Core::park`] is the one place the thread blocks. It sleeps until the next timer's
//! deadline or a remote wake (or waits on the I/O driver, see `crate::park`); on a virtual
//! clock it jumps the clock to the deadline instead.
//!
//! # Where each part lives
//!
//! This file holds the loop's state, task creation, the wake paths and the tick itself
//! ([`Core::block_on`], [`Core::run_task`]). `ready` holds the ready queue and its entries,
//! `between_batches` the steps between two batches (callbacks, timers, remote queue, park,
//! giving memory back), and `close` the end of a loop's life.

use std::alloc::Layout;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use looplet_timer::{Clock, TimerQueue};

use crate::park::{Installed, Unpark};
use crate::remote::Remote;
use crate::schedule::{Fingerprint, Shuffler};
use crate::stats::LoopStats;
use crate::table::TaskTable;
use crate::task::{
    header_of, new_task, CellCache, Completion, PollOutcome, Task, TaskId, TaskRef, TaskState,
};
use crate::waker::{MainWaker, WakerTarget};
use crate::{context, trace};

mod between_batches;
mod close;
mod ready;

use ready::{Next, ReadyEntry, Scheduler};

/// What [`Core::enqueue`] did, so each wake path can count and trace its own wakes.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Enqueued {
    /// The task went into the ready queue.
    Queued,
    /// Nothing to do: the task was already queued, or is gone (a stale id).
    Nothing,
    /// The loop's state is borrowed right now; take the remote path instead.
    Busy,
}

/// Where a loop is in its life: `Open` → (`close`) `Closing` → `Closed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Runs futures and accepts tasks.
    Open,
    /// Cancelling what is left; tasks created now (by `Drop` code or callbacks) are
    /// cancelled in the next round without being polled.
    Closing,
    /// Refuses `run` and `create_task` with a message naming the fix.
    Closed,
}

/// The loop's own counters, one `Cell` each so that counting is a single add.
#[derive(Default)]
struct Counters {
    spawned: Cell<u64>,
    polls: Cell<u64>,
    local_wakes: Cell<u64>,
    remote_wakes: Cell<u64>,
    parks: Cell<u64>,
    io_events: Cell<u64>,
}

/// How much the loop has taken from each remote queue; see [`Core::drain_remote`].
#[derive(Default)]
struct RemoteTaken {
    woken: Cell<u64>,
    jobs: Cell<u64>,
}

#[inline]
fn bump(counter: &Cell<u64>) {
    counter.set(counter.get() + 1);
}

/// One event loop's state.
pub(crate) struct Core {
    remote: Arc<Remote>,
    /// Task table and ready queue, under one `RefCell` so a wake or a poll borrows once.
    sched: RefCell<Scheduler>,
    /// Callbacks to run at the next tick (done callbacks added to finished tasks).
    soon: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    timers: Rc<TimerQueue>,
    next_number: Cell<u64>,
    main_queued: Cell<bool>,
    /// The task being polled right now, if any (`None` while the main future runs).
    current_task: Cell<Option<TaskId>>,
    phase: Cell<Phase>,
    counters: Counters,
    /// Wakes and jobs taken from the remote queues so far, against their push counts.
    remote_taken: RemoteTaken,
    /// Wakers of due timers, kept between ticks so firing allocates nothing.
    due_scratch: RefCell<Vec<Waker>>,
    /// Memory of freed task cells, for the next tasks (see `task::cache`).
    cell_cache: RefCell<CellCache>,
    /// What the loop waits on when it parks, once an I/O object installed it (see
    /// `crate::park`); the thread parks itself until then.
    driver: OnceCell<Installed>,
    /// The seed of a seeded schedule, and the generator it started (see `crate::schedule`).
    seed: Option<u64>,
    shuffler: Option<Shuffler>,
    /// The hash of the sequence of polls so far.
    fingerprint: Fingerprint,
    pub(crate) trace: trace::Tracer,
}

impl Core {
    pub(crate) fn new(clock: Clock, tracer: trace::Tracer, seed: Option<u64>) -> Rc<Core> {
        let core = Rc::new(Core {
            seed,
            shuffler: seed.map(Shuffler::new),
            fingerprint: Fingerprint::new(),
            remote: Arc::new(Remote::new(std::thread::current())),
            sched: RefCell::new(Scheduler {
                tasks: TaskTable::default(),
                ready: VecDeque::new(),
            }),
            soon: RefCell::new(VecDeque::new()),
            timers: TimerQueue::new(clock),
            next_number: Cell::new(1),
            main_queued: Cell::new(false),
            current_task: Cell::new(None),
            phase: Cell::new(Phase::Open),
            counters: Counters::default(),
            remote_taken: RemoteTaken::default(),
            due_scratch: RefCell::new(Vec::new()),
            cell_cache: RefCell::new(CellCache::default()),
            driver: OnceCell::new(),
            trace: tracer,
        });
        context::register(&core);
        core
    }

    pub(crate) fn timers(&self) -> &Rc<TimerQueue> {
        &self.timers
    }

    pub(crate) fn remote(&self) -> &Arc<Remote> {
        &self.remote
    }

    pub(crate) fn is_same_loop(&self, remote: &Arc<Remote>) -> bool {
        Arc::ptr_eq(&self.remote, remote)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.phase.get() == Phase::Closed
    }

    /// The seed of a seeded schedule; `None` for FIFO.
    pub(crate) fn seed(&self) -> Option<u64> {
        self.seed
    }

    pub(crate) fn stats(&self) -> LoopStats {
        let sched = self.sched.borrow();
        LoopStats {
            live_tasks: sched.tasks.len(),
            slab_capacity: sched.tasks.capacity(),
            ready_len: sched.ready.len(),
            ready_capacity: sched.ready.capacity(),
            timers: self.timers.stats(),
            spawned: self.counters.spawned.get(),
            polls: self.counters.polls.get(),
            local_wakes: self.counters.local_wakes.get(),
            remote_wakes: self.counters.remote_wakes.get(),
            remote_queue_len: self
                .remote
                .woken_pushed()
                .saturating_sub(self.remote_taken.woken.get()),
            parks: self.counters.parks.get(),
            io_events: self.counters.io_events.get(),
            schedule_fingerprint: self.fingerprint.get(),
            cached_cells: self.cell_cache.borrow().len(),
            cached_cell_bytes: self.cell_cache.borrow().bytes(),
        }
    }

    /// Lets a unit test look at the task table.
    #[cfg(test)]
    pub(crate) fn with_table<R>(&self, f: impl FnOnce(&TaskTable) -> R) -> R {
        f(&self.sched.borrow().tasks)
    }

    /// Lets a unit test change the task table.
    #[cfg(test)]
    pub(crate) fn with_table_mut<R>(&self, f: impl FnOnce(&mut TaskTable) -> R) -> R {
        f(&mut self.sched.borrow_mut().tasks)
    }

    /// Creates a task and queues it for its first poll; an `eager` one is polled right here
    /// instead, up to its first suspension (see [`TaskBuilder::eager`](crate::TaskBuilder)).
    pub(crate) fn spawn<F>(
        self: &Rc<Self>,
        name: Option<Box<str>>,
        eager: bool,
        future: F,
    ) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        // A closing loop cancels new tasks unpolled: none runs eagerly then.
        let eager = eager && self.phase.get() == Phase::Open;
        assert!(
            !self.is_closed(),
            "create_task on a closed looplet loop: its Runner was closed; create a new Runner"
        );
        let number = self.next_number.get();
        self.next_number.set(number + 1);
        let mut sched = self.sched.borrow_mut();
        let Scheduler { tasks, ready } = &mut *sched;
        let id = TaskId {
            slot: tasks.next_slot(),
            number,
        };
        let (raw, task) = new_task(self, id, name, !eager, future);
        // The table keeps one reference; the other goes to the ready queue, or to the
        // eager first poll below.
        let second = raw.clone();
        let slot = tasks.insert(raw);
        debug_assert_eq!(slot, id.slot);
        let first_poll = if eager {
            Some(second)
        } else {
            ready.push_back(ReadyEntry::holding(second));
            None
        };
        drop(sched);
        bump(&self.counters.spawned);
        if self.trace.is_enabled() {
            self.trace.task_created(self, id, &task.name());
        }
        if let Some(first_poll) = first_poll {
            // Nothing is borrowed here, and `run_task` saves and restores the task being
            // polled, so this nests inside the spawner's own poll like a function call.
            self.run_task(id, first_poll);
        }
        task
    }

    /// Puts task `id` in the ready queue if it is live and not queued yet, and says what
    /// happened; the callers count and trace the wake, each for its own path.
    ///
    /// `from_remote` says the id was just popped from the remote queue: its task's
    /// remote-queued flag is cleared in the same lookup (see [`crate::remote`]), before the
    /// task is polled again, so that its next remote wake queues it again.
    fn enqueue(&self, id: TaskId, from_remote: bool) -> Enqueued {
        if id == TaskId::MAIN {
            if from_remote {
                self.remote.main_left_queue();
            }
            if self.main_queued.get() {
                return Enqueued::Nothing;
            }
            let Ok(mut sched) = self.sched.try_borrow_mut() else {
                return Enqueued::Busy;
            };
            sched.ready.push_back(ReadyEntry::MAIN);
            self.main_queued.set(true);
            return Enqueued::Queued;
        }
        let Ok(mut sched) = self.sched.try_borrow_mut() else {
            return Enqueued::Busy;
        };
        let Scheduler { tasks, ready } = &mut *sched;
        // A task that is gone (a stale id) has no flag that matters.
        let Some(task) = tasks
            .get(id.slot)
            .filter(|task| task.waker_target().id() == id)
        else {
            return Enqueued::Nothing;
        };
        if from_remote {
            task.waker_target().left_remote_queue();
        }
        if task.header().queued.get() {
            return Enqueued::Nothing;
        }
        task.header().queued.set(true);
        ready.push_back(ReadyEntry::holding(task.clone()));
        Enqueued::Queued
    }

    /// The local wake path: queues task `id` if it is live and not queued yet. Returns
    /// `false` only when the loop's state is borrowed right now (the caller then takes the
    /// remote path).
    pub(crate) fn schedule_local(&self, id: TaskId) -> bool {
        match self.enqueue(id, false) {
            Enqueued::Queued => {
                bump(&self.counters.local_wakes);
                self.trace.task_woken(self, id, false);
                true
            }
            Enqueued::Nothing => true,
            Enqueued::Busy => false,
        }
    }

    /// The local wake path of a task's own waker, which reaches the task's cell directly
    /// (no table lookup). Returns `false` only when the loop's state is borrowed right now
    /// (the caller then takes the remote path).
    ///
    /// # Safety
    ///
    /// `base` is the base of a cell of this loop, and the caller, on this loop's thread,
    /// holds a unit of its `refs` (a waker) for the call.
    pub(crate) unsafe fn schedule_woken(&self, base: NonNull<WakerTarget>) -> bool {
        // SAFETY: the caller's guarantees.
        let header = unsafe { header_of(base) };
        // A done task has left the table; a queued one is queued once.
        if header.queued.get() || header.is_done() {
            return true;
        }
        let Ok(mut sched) = self.sched.try_borrow_mut() else {
            return false;
        };
        // SAFETY: as above.
        let Some(task) = (unsafe { TaskRef::from_waker(base) }) else {
            // No loop-side reference is left (a loop that gave up on tasks at close).
            return true;
        };
        let id = task.waker_target().id();
        header.queued.set(true);
        sched.ready.push_back(ReadyEntry::holding(task));
        drop(sched);
        bump(&self.counters.local_wakes);
        self.trace.task_woken(self, id, false);
        true
    }

    /// Queues the task whose waker target is `target`, from the loop's own thread, running
    /// or not.
    pub(crate) fn schedule(&self, target: &WakerTarget) {
        if !self.schedule_local(target.id()) {
            target.wake_remotely();
        }
    }

    /// Asks for task `id` to be cancelled, as [`Task::cancel`](crate::Task::cancel) does:
    /// marks it and queues it, so the loop applies the request the next time it would poll
    /// it. A task that is gone is left alone. Returns `false` only when the loop's state is
    /// borrowed right now (the caller then sends the request through the remote queue).
    pub(crate) fn request_cancel(&self, id: TaskId) -> bool {
        let Ok(sched) = self.sched.try_borrow() else {
            return false;
        };
        let live = sched
            .tasks
            .get(id.slot)
            .filter(|task| task.waker_target().id() == id && !task.header().is_done());
        if let Some(task) = live {
            task.header().cancel_requested.set(true);
        }
        let found = live.is_some();
        drop(sched);
        !found || self.schedule_local(id)
    }

    /// Memory for a new task cell of `layout`, if the cache has one.
    pub(crate) fn take_cell_memory(&self, layout: Layout) -> Option<NonNull<u8>> {
        self.cell_cache.try_borrow_mut().ok()?.take(layout)
    }

    /// Keeps the memory of a freed cell for the next tasks, or hands it back.
    ///
    /// # Safety
    ///
    /// As for [`CellCache::keep`].
    pub(crate) unsafe fn keep_cell_memory(
        &self,
        layout: Layout,
        memory: NonNull<u8>,
    ) -> Result<(), NonNull<u8>> {
        match self.cell_cache.try_borrow_mut() {
            // SAFETY: the caller's guarantees, passed on.
            Ok(mut cache) => unsafe { cache.keep(layout, memory) },
            Err(_) => Err(memory),
        }
    }

    /// The name of live task `id`.
    pub(crate) fn task_name(&self, id: TaskId) -> Option<String> {
        let task = {
            let sched = self.sched.borrow();
            let task = sched.tasks.get(id.slot)?;
            (task.waker_target().id() == id).then(|| task.clone())?
        };
        Some(task.name())
    }

    /// The loop's I/O driver, installing the one `make` builds if there is none yet (see
    /// `crate::park`, "Ground rules"). `make` runs with nothing borrowed.
    pub(crate) fn driver_or_install(
        &self,
        make: impl FnOnce() -> (Installed, Arc<dyn Unpark>),
    ) -> &Installed {
        if self.driver.get().is_none() {
            let (installed, unpark) = make();
            if self.driver.set(installed).is_ok() {
                self.remote.unpark_through(unpark);
            }
        }
        self.driver.get().expect("set just above")
    }

    /// The task being polled right now; `None` in the future given to `run`.
    pub(crate) fn current_task(&self) -> Option<TaskId> {
        self.current_task.get()
    }

    pub(crate) fn call_soon(&self, callback: Box<dyn FnOnce()>) {
        self.soon.borrow_mut().push_back(callback);
    }

    /// Runs `future` to completion on this loop, driving every task meanwhile. Tasks still
    /// live when it returns stay in the loop for the next call. `caller` names the public
    /// function that was called (`looplet::run` or `Runner::run`) in misuse messages, which
    /// point at the caller's line.
    #[track_caller]
    pub(crate) fn block_on<F: Future>(self: &Rc<Self>, caller: &str, future: F) -> F::Output {
        assert!(
            self.phase.get() == Phase::Open,
            "{caller} on a closed Runner: close() was already called; create a new Runner"
        );
        let _entered = context::enter(self, caller);
        let mut future = pin!(future);
        let main_waker = MainWaker::new_waker(&self.remote);
        self.drain_remote();
        let _ = self.enqueue(TaskId::MAIN, false);
        loop {
            // One batch: only what was ready when it began (see "Fairness" above). The main
            // future takes its turn in the batch like any task, but only `block_on` owns it.
            // A seeded loop polls the batch in an order drawn from its seed.
            let batch = self.sched.borrow().ready.len();
            if let Some(shuffler) = &self.shuffler {
                shuffler.shuffle_front(&mut self.sched.borrow_mut().ready, batch);
            }
            for _ in 0..batch {
                match self.pop_ready() {
                    Next::Task(id, task) => {
                        self.run_task(id, task);
                        continue;
                    }
                    Next::Finished(task) => {
                        // The entry's reference may be the task's last: its output's `Drop`
                        // runs here, contained like any other (see `task::contain`).
                        drop(task);
                        continue;
                    }
                    Next::Empty => break,
                    Next::Main => {}
                }
                self.main_queued.set(false);
                self.fingerprint.record(TaskId::MAIN.number);
                self.trace.poll_started(self, TaskId::MAIN);
                let mut cx = Context::from_waker(&main_waker);
                let polled = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)));
                self.trace
                    .poll_ended(self, TaskId::MAIN, || "main".to_owned());
                match polled {
                    Ok(Poll::Pending) => {}
                    Ok(Poll::Ready(output)) => {
                        // Between runs the loop holds only what its live tasks need.
                        self.release_burst_memory();
                        return output;
                    }
                    Err(payload) => {
                        self.release_burst_memory();
                        resume_unwind(payload)
                    }
                }
            }
            self.run_soon_callbacks();
            self.fire_timers();
            self.drain_remote();
            if self.is_idle() {
                self.park();
            }
        }
    }

    fn run_task(&self, id: TaskId, task: TaskRef) {
        let header = task.header();
        if header.cancel_requested.get() {
            self.cancel_now(id, task);
            return;
        }
        header.state.set(TaskState::Running);
        bump(&self.counters.polls);
        self.fingerprint.record(id.number);
        self.trace.poll_started(self, id);
        let outer = self.current_task.replace(Some(id));
        let outcome = task.with_waker(|waker| task.poll_future(&mut Context::from_waker(waker)));
        self.current_task.set(outer);
        self.trace.poll_ended(self, id, || task.name());
        match outcome {
            PollOutcome::Pending => {
                header.state.set(TaskState::Idle);
                if header.cancel_requested.get() {
                    // It cancelled itself during this poll: stop it at this suspension.
                    self.cancel_now(id, task);
                }
            }
            PollOutcome::Finished(completion) => {
                self.remove(id);
                self.trace.task_finished(self, id, completion);
                task.complete(completion);
                drop(task);
            }
        }
    }

    /// Applies a cancellation: the task leaves the loop, its future is dropped, its
    /// callbacks run.
    fn cancel_now(&self, id: TaskId, task: TaskRef) {
        self.remove(id);
        self.finish_cancelled(task);
    }

    /// Drops the future of a task already out of the table, and completes it as cancelled.
    fn finish_cancelled(&self, task: TaskRef) {
        task.header().state.set(TaskState::Running);
        task.drop_future_cancelled();
        self.trace
            .task_finished(self, task.waker_target().id(), Completion::Cancelled);
        task.complete(Completion::Cancelled);
        drop(task);
    }

    /// Takes task `id` out of the table, if it is still there. The table's reference is
    /// dropped after the borrow ends (the caller holds another one anyway).
    fn remove(&self, id: TaskId) {
        let removed = {
            let mut sched = self.sched.borrow_mut();
            let ours = sched
                .tasks
                .get(id.slot)
                .is_some_and(|task| task.waker_target().id() == id);
            ours.then(|| sched.tasks.remove(id.slot))
        };
        drop(removed);
    }
}
