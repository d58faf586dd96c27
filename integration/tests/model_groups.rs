//! Model-based randomised test of `TaskGroup` with failures: proptest generates groups whose
//! children sleep, then succeed, fail or panic (some first start a child of their own in the
//! group), around a body that sleeps and then succeeds, fails or panics. A reference model
//! applies asyncio's rules — the first failure cancels every child not yet done at the end of
//! that loop batch, and the body; errors come back in the order they happened, the body's
//! last; a panic wins and is resumed in the awaiting task — and must agree with looplet on
//! which children ran to their end (and when), which were cancelled, and the scope's result.
//! Any difference is shrunk to a minimal group.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use looplet::{create_task, sleep, BoxError, TaskGroup};
use proptest::prelude::*;
use support::{hush_deliberate_panics, virtual_runner, within, DELIBERATE, LIMIT};

/// How a child or the body ends once its sleep is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Ok,
    Fail,
    Panic,
}

#[derive(Clone, Debug)]
struct ChildSpec {
    /// Whole milliseconds (0 does not suspend).
    sleep_ms: u64,
    end: End,
    /// A child this one starts in the group just before it ends.
    sub: Option<Box<ChildSpec>>,
}

#[derive(Clone, Debug)]
struct GroupSpec {
    children: Vec<ChildSpec>,
    /// The body sleeps this many milliseconds *and a half*, so it never ends at the same
    /// instant as a child.
    body_ms: u64,
    body_end: End,
}

/// What both sides report: the log of children (and the body) reaching their end, with the
/// virtual time in microseconds; how many children were started; the scope's result.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    log: Vec<String>,
    children_started: usize,
    result: String,
}

// ---------------------------------------------------------------------------------------
// The real thing.
// ---------------------------------------------------------------------------------------

struct Shared {
    start: std::time::Instant,
    log: RefCell<Vec<String>>,
    started: Cell<usize>,
    dropped: Cell<usize>,
    roots: usize,
}

/// Counts a child future's drop: every child must be gone when the scope returns.
struct Dropped(Rc<Shared>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.dropped.set(self.0.dropped.get() + 1);
    }
}

impl Shared {
    fn log(&self, what: String) {
        let micros = (looplet::now() - self.start).as_micros();
        self.log.borrow_mut().push(format!("{what} @{micros}"));
    }
}

fn start_child(tg: &TaskGroup, shared: &Rc<Shared>, index: usize, spec: ChildSpec) {
    shared.started.set(shared.started.get() + 1);
    let (group, shared) = (tg.clone(), shared.clone());
    // Made outside the future and moved in: counted even if the child never runs.
    let dropped = Dropped(shared.clone());
    let _child = tg.create_fallible(async move {
        let _dropped = dropped;
        if spec.sleep_ms > 0 {
            sleep(Duration::from_millis(spec.sleep_ms)).await;
        }
        shared.log(format!("c{index} {:?}", spec.end));
        if let Some(sub) = spec.sub {
            start_child(&group, &shared, shared.roots + index, *sub);
        }
        match spec.end {
            End::Ok => Ok(index),
            End::Fail => Err::<usize, BoxError>(format!("c{index} failed").into()),
            End::Panic => panic!("{DELIBERATE}: c{index}"),
        }
    });
}

fn run_on_looplet(spec: &GroupSpec) -> Outcome {
    let spec = spec.clone();
    within(LIMIT, move || {
        let mut runner = virtual_runner();
        let shared = Rc::new(Shared {
            start: runner.clock().now(),
            log: RefCell::default(),
            started: Cell::new(0),
            dropped: Cell::new(0),
            roots: spec.children.len(),
        });
        let body_shared = shared.clone();
        let result = runner.run(async move {
            let scope = TaskGroup::scope(move |tg| async move {
                for (index, child) in spec.children.into_iter().enumerate() {
                    start_child(&tg, &body_shared, index, child);
                }
                sleep(Duration::from_micros(spec.body_ms * 1000 + 500)).await;
                body_shared.log(format!("body {:?}", spec.body_end));
                match spec.body_end {
                    End::Ok => Ok(spec.body_ms),
                    End::Fail => Err("body failed".into()),
                    End::Panic => panic!("{DELIBERATE}: body"),
                }
            });
            // Awaited in a task of its own, so that a resumed panic ends up in its handle.
            match create_task(scope).await {
                Ok(Ok(value)) => format!("ok {value}"),
                Ok(Err(group)) if group.is_cancelled() => "stopped on purpose".to_string(),
                Ok(Err(group)) => {
                    let errors: Vec<String> = group.iter().map(ToString::to_string).collect();
                    format!("errors {errors:?}")
                }
                Err(error) if error.is_panic() => {
                    format!("panic {}", error.panic_message().unwrap_or("?"))
                }
                Err(error) => format!("unexpected: {error}"),
            }
        });
        assert_eq!(
            shared.dropped.get(),
            shared.started.get(),
            "a child outlived its group"
        );
        assert_eq!(runner.stats().live_tasks, 0);
        Outcome {
            log: shared.log.take(),
            children_started: shared.started.get(),
            result,
        }
    })
}

// ---------------------------------------------------------------------------------------
// The model.
// ---------------------------------------------------------------------------------------

/// When something ends: the virtual time in microseconds, then which of the loop's batches
/// at that instant (1 = the batch that runs what the timers woke; the body's first poll is
/// batch 1 of instant 0, so children it starts get their first poll in batch 2).
type Batch = (u64, u32);

struct Live {
    index: usize,
    ends_in: Batch,
    /// Creation order: children ending in one batch were queued, and run, in this order
    /// (their sleeps were created at their first polls, in creation order).
    created: usize,
    spec: ChildSpec,
}

/// The batch in which a child created during batch `now` ends.
fn ends_in(now: Batch, spec: &ChildSpec) -> Batch {
    if spec.sleep_ms == 0 {
        (now.0, now.1 + 1)
    } else {
        (now.0 + spec.sleep_ms * 1000, 1)
    }
}

fn model(spec: &GroupSpec) -> Outcome {
    let roots = spec.children.len();
    let mut live: Vec<Live> = spec
        .children
        .iter()
        .enumerate()
        .map(|(index, child)| Live {
            index,
            ends_in: ends_in((0, 1), child),
            created: index,
            spec: child.clone(),
        })
        .collect();
    let mut created = roots;
    let body_ends: Batch = (spec.body_ms * 1000 + 500, 1);
    let mut body_pending = true;
    let mut body_value = None;
    let mut body_error = false;
    let mut errors: Vec<String> = Vec::new();
    let mut panic: Option<String> = None;
    let mut log = Vec::new();

    loop {
        let next_child = live.iter().map(|child| child.ends_in).min();
        let body_next = body_pending.then_some(body_ends);
        let next = match (next_child, body_next) {
            (None, None) => break,
            (Some(child), Some(body)) => child.min(body),
            (Some(child), None) => child,
            (None, Some(body)) => body,
        };
        if body_next == Some(next) {
            body_pending = false;
            log.push(format!("body {:?} @{}", spec.body_end, next.0));
            match spec.body_end {
                End::Ok => body_value = Some(spec.body_ms),
                End::Fail => body_error = true,
                End::Panic => {
                    panic.get_or_insert_with(|| format!("{DELIBERATE}: body"));
                }
            }
            if spec.body_end != End::Ok {
                break; // the body's failure cancels every child still live, at once
            }
            continue;
        }
        // One batch: every child ending in it runs, in creation order.
        let mut batch: Vec<Live> = Vec::new();
        let mut i = 0;
        while i < live.len() {
            if live[i].ends_in == next {
                batch.push(live.swap_remove(i));
            } else {
                i += 1;
            }
        }
        batch.sort_by_key(|child| child.created);
        let mut failed = false;
        for child in batch {
            log.push(format!("c{} {:?} @{}", child.index, child.spec.end, next.0));
            if let Some(sub) = &child.spec.sub {
                live.push(Live {
                    index: roots + child.index,
                    ends_in: ends_in(next, sub),
                    created,
                    spec: (**sub).clone(),
                });
                created += 1;
            }
            match child.spec.end {
                End::Ok => {}
                End::Fail => {
                    errors.push(format!("c{} failed", child.index));
                    failed = true;
                }
                End::Panic => {
                    panic.get_or_insert_with(|| format!("{DELIBERATE}: c{}", child.index));
                    failed = true;
                }
            }
        }
        if failed {
            break; // the end of this batch cancels every child still live, and the body
        }
    }

    if body_error {
        errors.push("body failed".to_string());
    }
    let result = match (panic, errors.is_empty(), body_value) {
        (Some(message), _, _) => format!("panic {message}"),
        (None, false, _) => format!("errors {errors:?}"),
        (None, true, Some(value)) => format!("ok {value}"),
        (None, true, None) => unreachable!("the body was cancelled only by a failure"),
    };
    Outcome {
        log,
        children_started: created,
        result,
    }
}

// ---------------------------------------------------------------------------------------
// Groups, and the property.
// ---------------------------------------------------------------------------------------

fn end() -> impl Strategy<Value = End> {
    prop_oneof![4 => Just(End::Ok), 2 => Just(End::Fail), 1 => Just(End::Panic)]
}

fn child() -> impl Strategy<Value = ChildSpec> {
    let leaf = (0u64..4, end()).prop_map(|(sleep_ms, end)| ChildSpec {
        sleep_ms,
        end,
        sub: None,
    });
    (0u64..4, end(), prop::option::weighted(0.3, leaf)).prop_map(|(sleep_ms, end, sub)| ChildSpec {
        sleep_ms,
        end,
        sub: sub.map(Box::new),
    })
}

fn group() -> impl Strategy<Value = GroupSpec> {
    (prop::collection::vec(child(), 0..6), 0u64..5, end()).prop_map(
        |(children, body_ms, body_end)| GroupSpec {
            children,
            body_ms,
            body_end,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_task_groups_with_failures_end_exactly_as_asyncios_rules_say(spec in group()) {
        hush_deliberate_panics();
        let expected = model(&spec);
        let actual = run_on_looplet(&spec);
        prop_assert_eq!(actual, expected);
    }
}

#[test]
fn two_children_failing_in_one_batch_are_both_reported_and_the_rest_cancelled() {
    hush_deliberate_panics();
    let leaf = |sleep_ms, end| ChildSpec {
        sleep_ms,
        end,
        sub: None,
    };
    let spec = GroupSpec {
        children: vec![
            leaf(2, End::Fail),
            leaf(1, End::Ok),
            ChildSpec {
                sub: Some(Box::new(leaf(0, End::Ok))),
                ..leaf(2, End::Fail)
            },
            leaf(3, End::Ok),
        ],
        body_ms: 4,
        body_end: End::Ok,
    };
    let expected = model(&spec);
    assert_eq!(
        expected.log,
        ["c1 Ok @1000", "c0 Fail @2000", "c2 Fail @2000"],
        "c3, c2's own child (started in the failing batch) and the body are cancelled"
    );
    assert_eq!(expected.result, r#"errors ["c0 failed", "c2 failed"]"#);
    assert_eq!(expected.children_started, 5);
    assert_eq!(run_on_looplet(&spec), expected);
}
