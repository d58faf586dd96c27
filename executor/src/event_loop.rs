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
//! deadline or a remote wake; on a virtual clock it jumps the clock to the deadline instead.

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
use std::time::Duration;

use looplet_timer::{Clock, TimerQueue};

use crate::park::{Installed, Unpark};
use crate::remote::Remote;
use crate::schedule::{Fingerprint, Shuffler};
use crate::stats::LoopStats;
use crate::table::TaskTable;
use crate::task::{
    header_of, new_task, CellCache, Completion, PollOutcome, Task, TaskId, TaskRef, TaskState,
    PREFIX_BYTES, RETAINED_BYTES,
};
use crate::waker::{MainWaker, WakerTarget};
use crate::{context, prefetch, trace};

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

/// The loop's task bookkeeping: who is live, and who is ready.
struct Scheduler {
    tasks: TaskTable,
    ready: VecDeque<ReadyEntry>,
}

/// A ready-queue entry: a thin pointer to a task's cell that holds one loop-side reference
/// (taken at the push, given back at the pop), so popping needs no table lookup and an entry
/// can never dangle. 8 bytes: a burst of spawns puts one entry per task in the queue.
/// [`ReadyEntry::MAIN`] stands for the future given to `run`, which has no cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ReadyEntry(NonNull<WakerTarget>);

impl ReadyEntry {
    /// Never a cell's address: cells are real allocations, this is the dangling pointer.
    const MAIN: ReadyEntry = ReadyEntry(NonNull::dangling());

    fn holding(task: TaskRef) -> ReadyEntry {
        ReadyEntry(task.into_raw())
    }

    /// The reference this entry holds, given back; `None` for [`ReadyEntry::MAIN`].
    ///
    /// # Safety
    ///
    /// Called once per entry, for an entry made by [`ReadyEntry::holding`] or `MAIN`.
    unsafe fn into_task(self) -> Option<TaskRef> {
        // SAFETY: the entry holds the reference `holding` gave up, taken back once.
        (self != ReadyEntry::MAIN).then(|| unsafe { TaskRef::from_raw(self.0) })
    }
}

impl Drop for Scheduler {
    /// Entries still queued when the loop goes give back their references.
    fn drop(&mut self) {
        for entry in self.ready.drain(..) {
            // SAFETY: each entry leaves the queue once, here.
            drop(unsafe { entry.into_task() });
        }
    }
}

/// What [`Core::pop_ready`] found at the front of the ready queue.
enum Next {
    /// A live task: poll it.
    Task(TaskId, TaskRef),
    /// The future given to `run`: `block_on` polls it.
    Main,
    /// A task that finished after it was queued (it woke itself, then completed): skip it,
    /// releasing the reference the entry held.
    Finished(TaskRef),
    /// The queue is empty.
    Empty,
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
        if !eager {
            ready.push_back(ReadyEntry::holding(raw.clone()));
        }
        let first_poll = eager.then(|| raw.clone());
        let slot = tasks.insert(raw);
        debug_assert_eq!(slot, id.slot);
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
    fn enqueue(&self, id: TaskId) -> Enqueued {
        if id == TaskId::MAIN {
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
        match tasks.get(id.slot) {
            Some(task) if task.waker_target().id() == id && !task.header().queued.get() => {
                task.header().queued.set(true);
                ready.push_back(ReadyEntry::holding(task.clone()));
                Enqueued::Queued
            }
            _ => Enqueued::Nothing,
        }
    }

    /// The local wake path: queues task `id` if it is live and not queued yet. Returns
    /// `false` only when the loop's state is borrowed right now (the caller then takes the
    /// remote path).
    pub(crate) fn schedule_local(&self, id: TaskId) -> bool {
        match self.enqueue(id) {
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
        let _ = self.enqueue(TaskId::MAIN);
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

    /// Takes the next entry off the ready queue: the future given to `run`, or a task with
    /// the reference its entry held.
    fn pop_ready(&self) -> Next {
        let mut sched = self.sched.borrow_mut();
        let Some(entry) = sched.ready.pop_front() else {
            return Next::Empty;
        };
        // A long queue (a burst of timers, thousands of spawns) is polled in an order
        // unrelated to where the cells are: start loading the one due a few pops on.
        if let Some(coming) = sched.ready.get(prefetch::DISTANCE - 1) {
            prefetch::prefetch(coming.0.as_ptr().cast(), prefetch::CELL_BYTES);
        }
        // SAFETY: the entry just left the queue; this is its one `into_task`.
        let Some(task) = (unsafe { entry.into_task() }) else {
            return Next::Main;
        };
        task.header().queued.set(false);
        if task.header().is_done() {
            return Next::Finished(task);
        }
        let id = task.waker_target().id();
        // A task that finishes in this poll leaves the table, whose slots such a burst
        // visits in no order either: start loading this one's while the poll runs.
        sched.tasks.prefetch(id.slot);
        Next::Task(id, task)
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

    // The three steps between batches are checked inline, and their work kept out of line:
    // most ticks of a busy loop have no callback, timer or remote work to do, and then the
    // checks are a few loads instead of three calls (measured: 75 → 20 instructions a tick).

    #[inline]
    fn run_soon_callbacks(&self) {
        if !self.soon.borrow().is_empty() {
            self.run_soon_callbacks_now();
        }
    }

    #[inline(never)]
    fn run_soon_callbacks_now(&self) {
        let count = self.soon.borrow().len();
        for _ in 0..count {
            let Some(callback) = self.soon.borrow_mut().pop_front() else {
                break;
            };
            callback();
        }
    }

    #[inline]
    fn fire_timers(&self) {
        if self.timers.has_entries() {
            self.fire_timers_now();
        }
    }

    #[inline(never)]
    fn fire_timers_now(&self) {
        let mut due = std::mem::take(&mut *self.due_scratch.borrow_mut());
        if self.timers.fire_due(&mut due) > 0 {
            self.trace.timers_fired(self, due.len());
            let mut wakers = due.drain(..);
            while let Some(waker) = wakers.next() {
                // Due timers come in deadline order, their tasks' cells anywhere in memory. A
                // task waker's data is its cell, whose prefix the wake writes.
                if let Some(coming) = wakers.as_slice().get(prefetch::DISTANCE - 1) {
                    prefetch::prefetch(coming.data().cast(), PREFIX_BYTES);
                }
                waker.wake();
            }
        }
        *self.due_scratch.borrow_mut() = due;
    }

    /// Takes in what other threads sent: wakes, then submitted jobs. Only what was queued
    /// when the drain began is taken, as with the ready batch, so threads that keep sending
    /// cannot hold the loop here and starve the ready tasks and timers.
    #[inline]
    fn drain_remote(&self) {
        if self.remote.woken_pushed() != self.remote_taken.woken.get()
            || self.remote.jobs_pushed() != self.remote_taken.jobs.get()
        {
            self.drain_remote_now();
        }
    }

    #[inline(never)]
    fn drain_remote_now(&self) {
        let woken_target = self.remote.woken_pushed();
        while self.remote_taken.woken.get() < woken_target {
            let Some(id) = self.remote.pop_woken() else {
                break;
            };
            bump(&self.remote_taken.woken);
            self.left_remote_queue(id);
            // Nothing is borrowed between ticks, so `Busy` cannot happen here.
            if self.enqueue(id) == Enqueued::Queued {
                bump(&self.counters.remote_wakes);
                self.trace.task_woken(self, id, true);
            }
        }
        let jobs_target = self.remote.jobs_pushed();
        while self.remote_taken.jobs.get() < jobs_target {
            let Some(job) = self.remote.pop_job() else {
                break;
            };
            bump(&self.remote_taken.jobs);
            job();
        }
    }

    /// Clears the remote-queued flag of task `id`, just popped from the remote queue, so
    /// that its next remote wake queues it again (see [`crate::remote`]). A task that is
    /// gone has no flag that matters.
    fn left_remote_queue(&self, id: TaskId) {
        if id == TaskId::MAIN {
            self.remote.main_left_queue();
            return;
        }
        let sched = self.sched.borrow();
        if let Some(task) = sched.tasks.get(id.slot) {
            if task.waker_target().id() == id {
                task.waker_target().left_remote_queue();
            }
        }
    }

    fn is_idle(&self) -> bool {
        self.sched.borrow().ready.is_empty() && self.soon.borrow().is_empty()
    }

    /// Blocks until there is work: the next timer deadline, a remote wake, or (with an I/O
    /// driver) an I/O event. On a virtual clock a pending deadline is reached at once by
    /// moving the clock, after a look at the I/O that is ready now.
    fn park(&self) {
        self.release_burst_memory();
        let deadline = self.timers.next_deadline();
        let clock = self.timers.clock();
        if clock.is_virtual() {
            if let Some(deadline) = deadline {
                // Ready I/O comes before virtual time moves: a test's sockets are served
                // at the instant they become ready, not after the next sleep ends.
                if self.wait_on_driver(Some(Duration::ZERO)) && !self.is_idle() {
                    return;
                }
                self.trace.parked(self, Some(deadline - clock.now()));
                clock.advance_to(deadline);
                return;
            }
        }
        if !self.remote.prepare_park() {
            self.remote.unparked();
            return;
        }
        bump(&self.counters.parks);
        let timeout = deadline.map(|deadline| deadline.saturating_duration_since(clock.now()));
        if timeout != Some(Duration::ZERO) {
            self.trace.parked(self, timeout);
        }
        if !self.wait_on_driver(timeout) {
            match timeout {
                Some(timeout) if timeout.is_zero() => {}
                Some(timeout) => std::thread::park_timeout(timeout),
                None => std::thread::park(),
            }
        }
        self.remote.unparked();
    }

    /// Parks on the I/O driver, if the loop has one, counting and tracing the events it
    /// delivers; returns whether there was a driver.
    fn wait_on_driver(&self, timeout: Option<Duration>) -> bool {
        let Some(installed) = self.driver.get() else {
            return false;
        };
        let events = installed.driver.park(timeout);
        self.counters
            .io_events
            .set(self.counters.io_events.get() + events as u64);
        self.trace.io_events(self, events);
        true
    }

    /// Out of work, or a `run` returned: memory kept for a burst goes back — cached task
    /// cells beyond [`RETAINED_BYTES`], and the room a burst left in the task table, the
    /// ready queue, the callback queue and the due-timer scratch list. What the loop keeps
    /// beyond its live tasks and timers is then bounded: 256 KiB of cells, and room for
    /// 64 entries in each list. Growing them again costs amortised O(1) per push.
    fn release_burst_memory(&self) {
        /// Room kept anyway, so a quiet loop does not reallocate on every tick.
        const KEEP: usize = 64;
        self.cell_cache.borrow_mut().trim_to(RETAINED_BYTES);
        let mut sched = self.sched.borrow_mut();
        sched.ready.shrink_to(KEEP);
        sched.tasks.shrink(KEEP);
        drop(sched);
        self.soon.borrow_mut().shrink_to(KEEP);
        self.due_scratch.borrow_mut().shrink_to(KEEP);
    }

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
