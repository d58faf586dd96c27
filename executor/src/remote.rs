//! The wake path from other threads: a lock-free queue, and an unpark collapsed by one flag.
//!
//! A waker used on a thread other than its loop's (or while its loop is not running)
//! cannot touch the loop's `RefCell`s. It pushes the task id here and unparks the loop's
//! thread. [`Handle`](crate::Handle) submissions travel the same way, as jobs.
//!
//! # Lost wake-ups
//!
//! `notified` collapses repeated unparks into one: a pusher unparks only when it flips the
//! flag from `false` to `true`. The loop clears the flag *before* it looks at the queues one
//! last time and parks. So either the pusher's item was in the queue when the loop looked
//! (the loop does not park), or the pusher flipped the flag after the loop cleared it (the
//! pusher unparks, and the park returns at once). All four operations are `SeqCst`, and
//! every write of the flag is a `swap`: the same `xchg` as a `SeqCst` store on x86, and
//! one that loom orders correctly against the other swaps (its plain stores can slip into
//! the middle of a concurrent swap, tokio-rs/loom#254, which shows up as a lost wake that
//! cannot happen).
//!
//! # At most once in the queue
//!
//! A task's id is in `woken` at most once, however many threads wake it and however often:
//! memory under a wake storm is bounded by the number of tasks. Each task has a word whose
//! [`REMOTE_QUEUED`] bit says its id is in the queue (the top bit of its waker target's
//! `refs`, see [`crate::waker`]); the future given to `run` has `main_queued` here.
//!
//! * A waker sets the bit (`fetch_or`) and pushes only if it was clear.
//! * The loop pops the id and clears the bit ([`left_queue`]) *before* it polls the task.
//!
//! No wake is lost. A waker that finds the bit set came before the loop's clear in the
//! word's order, so the clear (`AcqRel`) sees everything the waker did before waking, and
//! the poll that follows the clear sees it too. A waker that comes after the clear finds the
//! bit clear and pushes again. A task that is gone by the time its id is popped is skipped;
//! its bit stays set, which stops pushes for a cell that no longer matters.
//!
//! # Bounded drains
//!
//! Every push bumps a counter (`woken_pushed`, `jobs_pushed`) right after it lands. The
//! loop keeps how many it has taken, and each drain pops only up to the count it read when
//! it began: threads that keep pushing cannot hold the loop in it, and a tick with nothing
//! from other threads costs two loads that equal what was taken. A pushed item whose count
//! is not bumped yet is taken by a later drain; the bump, and the unpark after it, come
//! before the pusher returns.
//!
//! # Closing
//!
//! When the loop closes it sets `closed` and then drains `jobs`. A submitter pushes its job
//! and then reads `closed`; if it sees the loop closed it drains the jobs itself. Either way
//! every job is dropped by someone, and dropping a job tells its waiter the loop is gone. A
//! wake that sees `closed` does nothing; one already past that check may still push an id
//! after the loop's last drain, which is dropped with the queue (ids are plain numbers).
//!
//! # Checked by loom
//!
//! The atomics, the queues and the loop's thread come from [`crate::sync`], so the models in
//! `loom_tests` below run this file's code itself, with the loop's side of each exchange
//! written out as `Core` runs it (`drain_remote` and `park` in `event_loop.rs`: the loop
//! proper needs its thread-local context, its clock and std's `park`, which loom cannot
//! drive). Three models:
//!
//! * **wake vs park** — two threads wake one task while the loop drains, clears the task's
//!   bit, polls and parks, again and again: the loop always sees both wakers' writes and
//!   never parks for good (loom reports a park nobody ends as a deadlock), and the task's id
//!   is never in the queue twice;
//! * **wake and job vs park** — the same with a wake of the future given to `run` and a job;
//! * **submit vs close** — a job submitted as the loop closes is dropped exactly once, by
//!   the loop when the submit said `Ok`; wakes and submits after the close do nothing.
//!
//! loom treats `SeqCst` as `AcqRel` and its queue stand-in is a mutex (see [`crate::sync`]),
//! so the models check the order of the steps above, and the `AcqRel` orderings of the
//! queue bit; the `SeqCst` store-then-load between `notified` and the queues is argued in
//! "Lost wake-ups", not checked.

use std::sync::{Arc, OnceLock};

use crate::park::Unpark;
use crate::sync::{AtomicBool, AtomicU32, AtomicU64, LoopThread, Ordering, SegQueue};
use crate::task::{contain, TaskId};

/// The bit of a task's queue word that says its id is in `woken` (module docs, "At most
/// once in the queue"). The word's other bits belong to its owner.
pub(crate) const REMOTE_QUEUED: u32 = 1 << 31;

/// Marks the task whose queue word is `queued` as out of the remote queue, so that its next
/// wake queues it again; called by the loop for each id it pops, before it polls the task.
pub(crate) fn left_queue(queued: &AtomicU32) {
    queued.fetch_and(!REMOTE_QUEUED, Ordering::AcqRel);
}

/// Work submitted from another thread, run on the loop's thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

pub(crate) struct Remote {
    woken: SegQueue<TaskId>,
    jobs: SegQueue<Job>,
    /// The queue word of the future given to `run`, which has no cell.
    main_queued: AtomicU32,
    thread: LoopThread,
    /// `true` while the loop is awake or an unpark is already on its way; see module docs.
    notified: AtomicBool,
    /// How to end the loop's park once it waits on an I/O driver instead of parking its
    /// thread; read after `notified` is flipped (see `crate::park`, "Ground rules").
    driver_unpark: OnceLock<Arc<dyn Unpark>>,
    /// How many wakes and jobs have been pushed so far, counted after each push: the loop
    /// drains up to the count it read when the drain began (see "Bounded drains").
    woken_pushed: AtomicU64,
    jobs_pushed: AtomicU64,
    closed: AtomicBool,
}

impl Remote {
    pub(crate) fn new(thread: std::thread::Thread) -> Remote {
        Remote {
            woken: SegQueue::new(),
            jobs: SegQueue::new(),
            main_queued: AtomicU32::new(0),
            thread: LoopThread::new(thread),
            notified: AtomicBool::new(true),
            driver_unpark: OnceLock::new(),
            woken_pushed: AtomicU64::new(0),
            jobs_pushed: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Queues a wake of task `id`, whose queue word is `queued`, unless its id is in the
    /// queue already; a no-op once the loop has closed.
    pub(crate) fn wake(&self, id: TaskId, queued: &AtomicU32) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        if queued.fetch_or(REMOTE_QUEUED, Ordering::AcqRel) & REMOTE_QUEUED != 0 {
            return;
        }
        self.woken.push(id);
        self.woken_pushed.fetch_add(1, Ordering::SeqCst);
        self.notify();
    }

    /// Queues a job. `Err` means the loop has closed: the job has been dropped, by this call
    /// or by the close, unless the loop ran it just before closing.
    pub(crate) fn submit(&self, job: Job) -> Result<(), ()> {
        if self.is_closed() {
            drop(job);
            return Err(());
        }
        self.jobs.push(job);
        self.jobs_pushed.fetch_add(1, Ordering::SeqCst);
        if self.is_closed() {
            // The loop may have drained before our push landed: drop what is left ourselves.
            self.drain_jobs_dropping();
            return Err(());
        }
        self.notify();
        Ok(())
    }

    /// Queues a wake of the future given to `run`; see [`Remote::wake`].
    pub(crate) fn wake_main(&self) {
        self.wake(TaskId::MAIN, &self.main_queued);
    }

    /// Called by the loop for a popped [`TaskId::MAIN`], before it polls the main future.
    pub(crate) fn main_left_queue(&self) {
        left_queue(&self.main_queued);
    }

    pub(crate) fn notify(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) {
            match self.driver_unpark.get() {
                Some(driver) => driver.unpark(),
                None => self.thread.unpark(),
            }
        }
    }

    /// From now on, unparks go to the loop's I/O driver; called once, on the loop's thread
    /// while it runs (see `crate::park`).
    pub(crate) fn unpark_through(&self, driver: Arc<dyn Unpark>) {
        let _ = self.driver_unpark.set(driver);
    }

    pub(crate) fn pop_woken(&self) -> Option<TaskId> {
        self.woken.pop()
    }

    /// Wakes pushed so far. (Not `SegQueue::len`, which retries until no push is under
    /// way, and so spins for as long as other threads keep pushing.)
    pub(crate) fn woken_pushed(&self) -> u64 {
        self.woken_pushed.load(Ordering::SeqCst)
    }

    /// Jobs pushed so far; see [`Remote::woken_pushed`].
    pub(crate) fn jobs_pushed(&self) -> u64 {
        self.jobs_pushed.load(Ordering::SeqCst)
    }

    pub(crate) fn pop_job(&self) -> Option<Job> {
        self.jobs.pop()
    }

    /// Called by the loop right before it parks, with how many wakes and jobs it has taken;
    /// returns whether it may park (nothing was counted in since it last looked). See the
    /// module docs for why the order matters.
    ///
    /// It compares counts, not the queues: an item pushed but not counted yet is the
    /// pusher's to announce (it bumps the count and then notifies, which ends this park),
    /// so the loop parks instead of spinning until the count catches up.
    pub(crate) fn prepare_park(&self, woken_taken: u64, jobs_taken: u64) -> bool {
        self.notified.swap(false, Ordering::SeqCst);
        self.woken_pushed() == woken_taken && self.jobs_pushed() == jobs_taken
    }

    /// Called by the loop after it wakes up.
    pub(crate) fn unparked(&self) {
        self.notified.swap(true, Ordering::SeqCst);
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        while self.woken.pop().is_some() {}
        self.drain_jobs_dropping();
    }

    /// Whether the calling thread is the one this loop runs on.
    pub(crate) fn is_loop_thread(&self) -> bool {
        self.thread.is_current()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Drops every queued job. A job holds a submitted future, whose `Drop` is user code:
    /// a panic there is contained, so the other jobs are dropped too and closing goes on.
    fn drain_jobs_dropping(&self) {
        while let Some(job) = self.jobs.pop() {
            contain(
                || "dropping a job submitted through a Handle".to_owned(),
                || drop(job),
            );
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use std::cell::Cell;

    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;
    use loom::thread;

    use super::{left_queue, Remote, REMOTE_QUEUED};
    use crate::sync::model::check;
    use crate::sync::{AtomicBool, AtomicU32, Ordering};
    use crate::task::TaskId;

    /// How many forced switches between threads each model explores: every interleaving
    /// with up to this many (the three take about 25 s in a release build on two cores;
    /// each more takes about six times as long).
    const PREEMPTIONS: Option<usize> = Some(4);

    const TASK: TaskId = TaskId { slot: 0, number: 1 };
    const OTHER_TASK: TaskId = TaskId { slot: 1, number: 2 };

    /// A new loop's `Remote`, made on the calling model thread, which is then the loop's.
    fn new_remote() -> Arc<Remote> {
        Arc::new(Remote::new(std::thread::current()))
    }

    /// The loop's side of the exchange, step for step as `Core` takes it.
    struct LoopSide<'a> {
        remote: &'a Remote,
        taken_woken: Cell<u64>,
        taken_jobs: Cell<u64>,
    }

    impl LoopSide<'_> {
        fn new(remote: &Remote) -> LoopSide<'_> {
            LoopSide {
                remote,
                taken_woken: Cell::new(0),
                taken_jobs: Cell::new(0),
            }
        }

        /// `Core::drain_remote`: takes what was counted when it began, handing each popped
        /// id to `popped` (which clears the task's bit, as `Core::left_remote_queue` does)
        /// and running each job. Returns whether it took anything.
        fn drain(&self, mut popped: impl FnMut(TaskId)) -> bool {
            let remote = self.remote;
            if remote.woken_pushed() == self.taken_woken.get()
                && remote.jobs_pushed() == self.taken_jobs.get()
            {
                return false;
            }
            let mut took = false;
            let woken_target = remote.woken_pushed();
            while self.taken_woken.get() < woken_target {
                let Some(id) = remote.pop_woken() else {
                    break;
                };
                self.taken_woken.set(self.taken_woken.get() + 1);
                popped(id);
                took = true;
            }
            let jobs_target = remote.jobs_pushed();
            while self.taken_jobs.get() < jobs_target {
                let Some(job) = remote.pop_job() else {
                    break;
                };
                self.taken_jobs.set(self.taken_jobs.get() + 1);
                job();
                took = true;
            }
            took
        }

        /// `Core::park` with no timer pending.
        fn park(&self) {
            if !self
                .remote
                .prepare_park(self.taken_woken.get(), self.taken_jobs.get())
            {
                // Something was counted in: the loop goes round its tick again at once.
                self.remote.unparked();
                return;
            }
            self.remote.thread.park();
            self.remote.unparked();
        }

        /// Ticks (drain, then park if nothing came) until a drain takes something.
        fn wait_for_work(&self, mut popped: impl FnMut(TaskId)) {
            while !self.drain(&mut popped) {
                self.park();
            }
        }
    }

    /// A task as its wakers see it: its queue word, and what they tell it before waking it.
    struct Task {
        queued: AtomicU32,
        sent: [AtomicBool; 2],
    }

    #[test]
    fn loom_two_threads_waking_one_task_lose_no_wake_and_never_queue_it_twice() {
        check("remote: two wakers vs park", PREEMPTIONS, || {
            let remote = new_remote();
            let task = Arc::new(Task {
                queued: AtomicU32::new(0),
                sent: [AtomicBool::new(false), AtomicBool::new(false)],
            });
            let wakers: Vec<_> = (0..2)
                .map(|k| {
                    let remote = Arc::clone(&remote);
                    let task = Arc::clone(&task);
                    thread::spawn(move || {
                        // `Relaxed`: what a wake publishes must reach the poll through the
                        // wake itself.
                        task.sent[k].store(true, Ordering::Relaxed);
                        remote.wake(TASK, &task.queued);
                    })
                })
                .collect();
            let side = LoopSide::new(&remote);
            // Poll the task until it has seen both writes; between polls, wait for a wake.
            // A lost wake leaves the loop parked with nobody to unpark it: loom reports it.
            while !task.sent.iter().all(|sent| sent.load(Ordering::Relaxed)) {
                side.wait_for_work(|id| {
                    assert_eq!(id, TASK);
                    // Until the bit is cleared below, no waker may push the id again.
                    assert!(remote.woken.is_empty(), "the task's id was queued twice");
                    left_queue(&task.queued);
                });
            }
            for waker in wakers {
                waker.join().unwrap();
            }
        });
    }

    #[test]
    fn loom_a_wake_of_the_main_future_and_a_job_from_two_threads_both_reach_the_loop() {
        check("remote: main wake and job vs park", PREEMPTIONS, || {
            let remote = new_remote();
            let sent = Arc::new(AtomicBool::new(false));
            let waker = {
                let remote = Arc::clone(&remote);
                let sent = Arc::clone(&sent);
                thread::spawn(move || {
                    sent.store(true, Ordering::Relaxed);
                    remote.wake_main();
                })
            };
            let ran = Arc::new(AtomicBool::new(false));
            let submitter = {
                let remote = Arc::clone(&remote);
                let ran = Arc::clone(&ran);
                thread::spawn(move || {
                    let job = Box::new(move || ran.store(true, Ordering::Relaxed));
                    assert!(remote.submit(job).is_ok(), "the loop is open");
                })
            };
            let side = LoopSide::new(&remote);
            while !(sent.load(Ordering::Relaxed) && ran.load(Ordering::Relaxed)) {
                side.wait_for_work(|id| {
                    assert_eq!(id, TaskId::MAIN);
                    remote.main_left_queue();
                });
            }
            waker.join().unwrap();
            submitter.join().unwrap();
        });
    }

    /// Counts its drops, and whether the last was on the loop's thread.
    struct Guard {
        drops: Arc<AtomicUsize>,
        on_loop_thread: Arc<AtomicBool>,
        loop_thread: thread::ThreadId,
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::Relaxed);
            let here = thread::current().id() == self.loop_thread;
            self.on_loop_thread.store(here, Ordering::Relaxed);
        }
    }

    #[test]
    fn loom_a_job_submitted_as_the_loop_closes_is_dropped_exactly_once() {
        check("remote: submit and wake vs close", PREEMPTIONS, || {
            let remote = new_remote();
            let drops = Arc::new(AtomicUsize::new(0));
            let on_loop_thread = Arc::new(AtomicBool::new(false));
            let guard = Guard {
                drops: Arc::clone(&drops),
                on_loop_thread: Arc::clone(&on_loop_thread),
                loop_thread: thread::current().id(),
            };
            let submitter = {
                let remote = Arc::clone(&remote);
                thread::spawn(move || remote.submit(Box::new(move || drop(guard))))
            };
            let queued = Arc::new(AtomicU32::new(0));
            let waker = {
                let remote = Arc::clone(&remote);
                let queued = Arc::clone(&queued);
                thread::spawn(move || remote.wake(TASK, &queued))
            };
            // The loop's last tick, then its close.
            LoopSide::new(&remote).drain(|id| {
                assert_eq!(id, TASK);
                left_queue(&queued);
            });
            remote.close();
            let submitted = submitter.join().unwrap();
            waker.join().unwrap();
            assert_eq!(
                drops.load(Ordering::Relaxed),
                1,
                "the job is dropped exactly once"
            );
            if submitted.is_ok() {
                assert!(
                    on_loop_thread.load(Ordering::Relaxed),
                    "a job the submit handed over is the loop's to run or drop"
                );
            }
            assert!(remote.jobs.is_empty());
            // A wake racing the close may leave its one id behind; nothing more.
            assert!(remote.woken.len() <= 1);

            // After the close: a wake does nothing, a submit drops its job at once.
            let left = remote.woken.len();
            let other = AtomicU32::new(0);
            remote.wake(OTHER_TASK, &other);
            assert_eq!(other.load(Ordering::Relaxed) & REMOTE_QUEUED, 0);
            assert_eq!(
                remote.woken.len(),
                left,
                "a wake after the close queues nothing"
            );
            let late_drops = Arc::new(AtomicUsize::new(0));
            let late = Guard {
                drops: Arc::clone(&late_drops),
                on_loop_thread: Arc::new(AtomicBool::new(false)),
                loop_thread: thread::current().id(),
            };
            assert!(remote.submit(Box::new(move || drop(late))).is_err());
            assert_eq!(late_drops.load(Ordering::Relaxed), 1);
        });
    }
}
