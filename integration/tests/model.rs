//! Model-based randomised test: proptest generates small programs of tasks that sleep,
//! yield, spawn, cancel, await and panic; each program runs on looplet and on a reference
//! model — a plain simulation of the loop's documented rules (FIFO ready queue, one batch per
//! tick, timers by (deadline, creation order), cancellation applied when the loop next owns
//! the task, virtual clock that jumps when idle). The two must agree on the exact event trace
//! (every step with its virtual time, every cancel's answer, every awaited outcome, every
//! task's outcome from its done callback) and on the loop's counters. Any difference is
//! shrunk by proptest to a minimal program.

mod support;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, VecDeque};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use looplet::{create_task, sleep, yield_now, Task, TaskError};
use proptest::prelude::*;
use support::{hush_deliberate_panics, virtual_runner, within, DELIBERATE, LIMIT};

/// One step of a task's program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// `sleep(ms)` on the loop's clock (0 yields once, like `Yield`).
    Sleep(u8),
    /// `yield_now()`.
    Yield,
    /// Start task `k` (if it has not been started yet).
    Spawn(usize),
    /// `cancel()` task `k` (if it has been started), recording the answer.
    Cancel(usize),
    /// Await task `k`'s handle: only a task with a higher index (so no cycle can hang),
    /// and only one awaiter per task (a handle has one owner).
    Await(usize),
    /// Add a done callback to task `k` (if started) that logs when it runs: at `k`'s end,
    /// after the callbacks added before it, or — if `k` is already done — at the end of the
    /// loop's current batch (never inline).
    Callback(usize),
    /// Panic.
    Panic,
}

/// Task `i` runs `tasks[i]`; the main future starts tasks `0..roots`, then waits until every
/// started task is done.
#[derive(Clone, Debug)]
struct Program {
    tasks: Vec<Vec<Step>>,
    roots: usize,
}

/// What a task returns when it runs to the end.
fn value_of(program: &Program, i: usize) -> u64 {
    1000 * i as u64 + program.tasks[i].len() as u64
}

/// The counters both sides report.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counters {
    spawned: u64,
    polls: u64,
    timers_set: u64,
    timers_fired: u64,
    timers_cancelled: u64,
    elapsed_ms: u64,
}

/// The result of running a program: the event trace and the counters.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    trace: Vec<String>,
    counters: Counters,
}

// ---------------------------------------------------------------------------------------
// The real thing: the program on looplet.
// ---------------------------------------------------------------------------------------

/// A task's handle, shared so that any task can cancel it and one can await it.
type SharedTask = Rc<RefCell<Task<u64>>>;

struct World {
    program: Program,
    start: Instant,
    trace: RefCell<Vec<String>>,
    /// Handles by task index, once started (shared so that any task can cancel any other).
    handles: RefCell<Vec<Option<SharedTask>>>,
    awaited: RefCell<Vec<bool>>,
    started: Cell<usize>,
    finished: Cell<usize>,
    main_waker: RefCell<Option<Waker>>,
}

impl World {
    fn log(&self, event: String) {
        self.trace.borrow_mut().push(event);
    }

    fn ms(&self) -> u64 {
        (looplet::now() - self.start).as_millis() as u64
    }

    fn start(self: &Rc<Self>, k: usize) -> bool {
        if self.handles.borrow()[k].is_some() {
            return false;
        }
        let task = create_task(run_task(self.clone(), k));
        let world = self.clone();
        task.add_done_callback(move |task| {
            world.log(format!("t{k} done: {} @{}", outcome_of(task), world.ms()));
            world.finished.set(world.finished.get() + 1);
            if let Some(waker) = world.main_waker.borrow().as_ref() {
                waker.wake_by_ref();
            }
        });
        self.handles.borrow_mut()[k] = Some(Rc::new(RefCell::new(task)));
        self.started.set(self.started.get() + 1);
        true
    }

    fn handle(&self, k: usize) -> Option<SharedTask> {
        self.handles.borrow()[k].clone()
    }
}

/// A done task's outcome, read without taking it (an awaiter may still take it).
fn outcome_of(task: &Task<u64>) -> &'static str {
    if task.is_cancelled() {
        "cancelled"
    } else if task.is_panicked() {
        "panicked"
    } else {
        "value"
    }
}

fn describe(result: Result<u64, TaskError>) -> String {
    match result {
        Ok(value) => format!("value {value}"),
        Err(error) if error.is_cancelled() => "cancelled".into(),
        Err(error) if error.is_panic() => "panicked".into(),
        Err(error) if error.is_taken() => "taken".into(),
        Err(error) => format!("unexpected error: {error}"),
    }
}

async fn run_task(world: Rc<World>, i: usize) -> u64 {
    let steps = world.program.tasks[i].clone();
    for (s, &step) in steps.iter().enumerate() {
        world.log(format!("t{i}#{s} {step:?} @{}", world.ms()));
        match step {
            Step::Sleep(ms) => sleep(Duration::from_millis(u64::from(ms))).await,
            Step::Yield => yield_now().await,
            Step::Spawn(k) => {
                if !world.start(k) {
                    world.log(format!("t{i} spawn t{k}: already started"));
                }
            }
            Step::Cancel(k) => match world.handle(k) {
                Some(handle) => {
                    let pending = handle.borrow().cancel();
                    world.log(format!("t{i} cancel t{k}: {pending}"));
                }
                None => world.log(format!("t{i} cancel t{k}: not started")),
            },
            Step::Await(k) => match world.handle(k) {
                _ if k <= i => world.log(format!("t{i} await t{k}: not allowed")),
                None => world.log(format!("t{i} await t{k}: not started")),
                Some(_) if world.awaited.borrow()[k] => {
                    world.log(format!("t{i} await t{k}: already awaited"))
                }
                Some(handle) => {
                    world.awaited.borrow_mut()[k] = true;
                    let result = poll_fn(|cx| Pin::new(&mut *handle.borrow_mut()).poll(cx)).await;
                    world.log(format!("t{i} awaited t{k}: {}", describe(result)));
                }
            },
            Step::Callback(k) => match world.handle(k) {
                Some(handle) => {
                    let observer = world.clone();
                    handle.borrow().add_done_callback(move |task| {
                        let at = observer.ms();
                        observer.log(format!("t{i} callback on t{k}: {} @{at}", outcome_of(task)));
                    });
                }
                None => world.log(format!("t{i} callback on t{k}: not started")),
            },
            Step::Panic => panic!("{DELIBERATE} in t{i}"),
        }
    }
    value_of(&world.program, i)
}

fn run_on_looplet(program: &Program) -> Run {
    let program = program.clone();
    within(LIMIT, move || {
        let mut runner = virtual_runner();
        let start = runner.clock().now();
        let n = program.tasks.len();
        let world = Rc::new(World {
            program,
            start,
            trace: RefCell::default(),
            handles: RefCell::new(vec![None; n]),
            awaited: RefCell::new(vec![false; n]),
            started: Cell::new(0),
            finished: Cell::new(0),
            main_waker: RefCell::default(),
        });
        let main_world = world.clone();
        runner.run(async move {
            let world = main_world;
            for root in 0..world.program.roots {
                world.start(root);
            }
            poll_fn(|cx| {
                if world.finished.get() == world.started.get() {
                    return Poll::Ready(());
                }
                *world.main_waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            })
            .await;
        });
        let stats = runner.stats();
        assert_eq!(stats.live_tasks, 0, "every task left the loop");
        assert_eq!(stats.timers.live, 0, "every timer left the heap");
        let counters = Counters {
            spawned: stats.spawned,
            polls: stats.polls,
            timers_set: stats.timers.set,
            timers_fired: stats.timers.fired,
            timers_cancelled: stats.timers.cancelled,
            elapsed_ms: (runner.clock().now() - start).as_millis() as u64,
        };
        // `run` returns the moment the main future is done, even mid-batch; callbacks the
        // batch had queued for its end run at the next `run` or, here, at close.
        runner.close();
        for k in 0..n {
            if let Some(handle) = world.handle(k) {
                let result = handle.borrow().result();
                world.log(format!("final t{k}: {}", describe(result)));
            }
        }
        let trace = world.trace.take();
        Run { trace, counters }
    })
}

// ---------------------------------------------------------------------------------------
// The model: the loop's rules, simulated directly.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Value,
    Panicked,
    Cancelled,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Value => "value",
            Outcome::Panicked => "panicked",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// Where a suspended task will resume.
#[derive(Clone, Copy, Debug)]
enum Suspended {
    Sleep,
    Yield,
    Await(usize),
}

#[derive(Clone, Debug, Default)]
struct ModelTask {
    started: bool,
    done: Option<Outcome>,
    /// Index of the next step to run.
    pc: usize,
    suspended: Option<Suspended>,
    queued: bool,
    cancel_requested: bool,
    /// Its pending timer: (deadline, sequence).
    timer: Option<(u64, u64)>,
    /// The task waiting on this one's handle.
    awaiter: Option<usize>,
    awaited: bool,
    /// An awaiter took the outcome.
    taken: bool,
    /// Done callbacks added by tasks (after the main future's own): who added them.
    callbacks: Vec<usize>,
}

struct Model<'p> {
    program: &'p Program,
    now: u64,
    sequence: u64,
    tasks: Vec<ModelTask>,
    ready: VecDeque<usize>,
    timers: BTreeSet<(u64, u64, usize)>,
    /// Callbacks added to tasks already done, run at the end of the batch: (adder, task).
    soon: Vec<(usize, usize)>,
    trace: Vec<String>,
    counters: Counters,
}

impl<'p> Model<'p> {
    fn new(program: &'p Program) -> Model<'p> {
        Model {
            program,
            now: 0,
            sequence: 0,
            tasks: vec![ModelTask::default(); program.tasks.len()],
            ready: VecDeque::new(),
            timers: BTreeSet::new(),
            soon: Vec::new(),
            trace: Vec::new(),
            counters: Counters::default(),
        }
    }

    fn log(&mut self, event: String) {
        self.trace.push(event);
    }

    /// `create_task`: a new task goes to the back of the ready queue.
    fn start(&mut self, k: usize) -> bool {
        if self.tasks[k].started {
            return false;
        }
        self.tasks[k].started = true;
        self.tasks[k].queued = true;
        self.ready.push_back(k);
        self.counters.spawned += 1;
        true
    }

    /// A wake: queue the task if it is live and not queued yet.
    fn wake(&mut self, k: usize) {
        let task = &mut self.tasks[k];
        if task.done.is_none() && !task.queued {
            task.queued = true;
            self.ready.push_back(k);
        }
    }

    /// The task ends: its pending timer (if any) goes with its future, whoever awaits it is
    /// woken, then its done callback logs the outcome.
    fn finish(&mut self, k: usize, outcome: Outcome) {
        if let Some((deadline, sequence)) = self.tasks[k].timer.take() {
            self.timers.remove(&(deadline, sequence, k));
            self.counters.timers_cancelled += 1;
        }
        self.tasks[k].done = Some(outcome);
        if let Some(awaiter) = self.tasks[k].awaiter {
            self.wake(awaiter);
        }
        self.log(format!("t{k} done: {} @{}", outcome.name(), self.now));
        for adder in std::mem::take(&mut self.tasks[k].callbacks) {
            self.log_callback(adder, k);
        }
    }

    fn log_callback(&mut self, adder: usize, k: usize) {
        let outcome = self.tasks[k].done.expect("callbacks run once done").name();
        self.log(format!(
            "t{adder} callback on t{k}: {outcome} @{}",
            self.now
        ));
    }

    fn describe(&self, k: usize) -> String {
        match self.tasks[k].done {
            Some(Outcome::Value) => format!("value {}", value_of(self.program, k)),
            Some(outcome) => outcome.name().to_string(),
            None => unreachable!("only done tasks are described"),
        }
    }

    /// One poll of task `i`: resume where it suspended, then run steps until it suspends,
    /// finishes or panics.
    fn poll(&mut self, i: usize) {
        self.counters.polls += 1;
        if let Some(suspended) = self.tasks[i].suspended.take() {
            match suspended {
                Suspended::Sleep => {
                    assert!(
                        self.tasks[i].timer.is_none(),
                        "resumed before its timer fired"
                    );
                }
                Suspended::Yield => {}
                Suspended::Await(k) => {
                    assert!(self.tasks[k].done.is_some(), "resumed before t{k} was done");
                    let seen = self.describe(k);
                    self.tasks[k].taken = true;
                    self.log(format!("t{i} awaited t{k}: {seen}"));
                }
            }
            self.tasks[i].pc += 1;
        }
        let steps = &self.program.tasks[i];
        loop {
            let pc = self.tasks[i].pc;
            let Some(&step) = steps.get(pc) else {
                // A task that cancelled itself and then returned ends cancelled, its value
                // discarded (asyncio's rule).
                let outcome = if self.tasks[i].cancel_requested {
                    Outcome::Cancelled
                } else {
                    Outcome::Value
                };
                self.finish(i, outcome);
                return;
            };
            self.log(format!("t{i}#{pc} {step:?} @{}", self.now));
            match step {
                Step::Sleep(ms) => {
                    self.sequence += 1;
                    if ms > 0 {
                        let timer = (self.now + u64::from(ms), self.sequence);
                        self.tasks[i].timer = Some(timer);
                        self.timers.insert((timer.0, timer.1, i));
                        self.counters.timers_set += 1;
                        self.tasks[i].suspended = Some(Suspended::Sleep);
                        break;
                    }
                    self.wake(i);
                    self.tasks[i].suspended = Some(Suspended::Yield);
                    break;
                }
                Step::Yield => {
                    self.wake(i);
                    self.tasks[i].suspended = Some(Suspended::Yield);
                    break;
                }
                Step::Spawn(k) => {
                    if !self.start(k) {
                        self.log(format!("t{i} spawn t{k}: already started"));
                    }
                }
                Step::Cancel(k) => {
                    if !self.tasks[k].started {
                        self.log(format!("t{i} cancel t{k}: not started"));
                    } else {
                        let pending = self.tasks[k].done.is_none();
                        if pending && !self.tasks[k].cancel_requested {
                            self.tasks[k].cancel_requested = true;
                            self.wake(k);
                        }
                        self.log(format!("t{i} cancel t{k}: {pending}"));
                    }
                }
                Step::Await(k) => {
                    if k <= i {
                        self.log(format!("t{i} await t{k}: not allowed"));
                    } else if !self.tasks[k].started {
                        self.log(format!("t{i} await t{k}: not started"));
                    } else if self.tasks[k].awaited {
                        self.log(format!("t{i} await t{k}: already awaited"));
                    } else {
                        self.tasks[k].awaited = true;
                        if self.tasks[k].done.is_some() {
                            let seen = self.describe(k);
                            self.tasks[k].taken = true;
                            self.log(format!("t{i} awaited t{k}: {seen}"));
                        } else {
                            self.tasks[k].awaiter = Some(i);
                            self.tasks[i].suspended = Some(Suspended::Await(k));
                            break;
                        }
                    }
                }
                Step::Callback(k) => {
                    if !self.tasks[k].started {
                        self.log(format!("t{i} callback on t{k}: not started"));
                    } else if self.tasks[k].done.is_some() {
                        self.soon.push((i, k));
                    } else {
                        self.tasks[k].callbacks.push(i);
                    }
                }
                Step::Panic => {
                    self.finish(i, Outcome::Panicked);
                    return;
                }
            }
            self.tasks[i].pc += 1;
        }
        // Suspended. A task that cancelled itself during this poll stops here.
        if self.tasks[i].cancel_requested {
            self.finish(i, Outcome::Cancelled);
        }
    }

    fn run(mut self) -> Run {
        for root in 0..self.program.roots {
            self.start(root);
        }
        loop {
            // One batch: only what was ready when it began.
            for _ in 0..self.ready.len() {
                let i = self.ready.pop_front().expect("counted");
                if self.tasks[i].done.is_some() {
                    continue; // a stale entry of a task cancelled meanwhile
                }
                self.tasks[i].queued = false;
                if self.tasks[i].cancel_requested {
                    self.finish(i, Outcome::Cancelled);
                } else {
                    self.poll(i);
                }
            }
            // Callbacks added to finished tasks during the batch.
            for (adder, k) in std::mem::take(&mut self.soon) {
                self.log_callback(adder, k);
            }
            // Due timers, in (deadline, sequence) order.
            while let Some(&(deadline, sequence, i)) = self.timers.first() {
                if deadline > self.now {
                    break;
                }
                self.timers.remove(&(deadline, sequence, i));
                self.tasks[i].timer = None;
                self.counters.timers_fired += 1;
                self.wake(i);
            }
            if self.ready.is_empty() {
                match self.timers.first() {
                    Some(&(deadline, _, _)) => self.now = deadline,
                    None => break,
                }
            }
        }
        for k in 0..self.tasks.len() {
            if self.tasks[k].started {
                let last = if self.tasks[k].taken {
                    "taken".to_string()
                } else {
                    self.describe(k)
                };
                self.log(format!("final t{k}: {last}"));
            }
        }
        self.counters.elapsed_ms = self.now;
        Run {
            trace: self.trace,
            counters: self.counters,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Programs, and the property.
// ---------------------------------------------------------------------------------------

fn step(tasks: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u8..5).prop_map(Step::Sleep),
        2 => Just(Step::Yield),
        2 => (0..tasks).prop_map(Step::Spawn),
        2 => (0..tasks).prop_map(Step::Cancel),
        2 => (0..tasks).prop_map(Step::Await),
        1 => (0..tasks).prop_map(Step::Callback),
        1 => Just(Step::Panic),
    ]
}

fn program() -> impl Strategy<Value = Program> {
    (1usize..=8)
        .prop_flat_map(|tasks| {
            (
                prop::collection::vec(prop::collection::vec(step(tasks), 0..7), tasks),
                1..=tasks,
            )
        })
        .prop_map(|(tasks, roots)| Program { tasks, roots })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_programs_of_tasks_run_exactly_as_the_reference_model_says(program in program()) {
        hush_deliberate_panics();
        let expected = Model::new(&program).run();
        let actual = run_on_looplet(&program);
        prop_assert_eq!(actual, expected);
    }
}

#[test]
fn the_model_agrees_on_a_hand_written_program_with_every_kind_of_step() {
    hush_deliberate_panics();
    use Step::*;
    let program = Program {
        tasks: vec![
            vec![
                Spawn(1),
                Spawn(2),
                Await(1),
                Callback(1),
                Sleep(3),
                Cancel(2),
                Yield,
            ],
            vec![Sleep(2), Yield, Spawn(3)],
            vec![Sleep(10), Panic],
            vec![Cancel(3), Yield, Sleep(1)],
            vec![Panic],
        ],
        roots: 1,
    };
    let expected = Model::new(&program).run();
    // Spot-check the model itself against the rules, then looplet against the model.
    assert!(expected
        .trace
        .contains(&"t0 awaited t1: value 1003".to_string()));
    assert!(expected
        .trace
        .contains(&"t0 callback on t1: value @2".to_string()));
    assert!(expected
        .trace
        .contains(&"t2 done: cancelled @5".to_string()));
    assert!(expected
        .trace
        .contains(&"t3 done: cancelled @2".to_string()));
    assert_eq!(expected.counters.elapsed_ms, 5);
    assert_eq!(run_on_looplet(&program), expected);
}
