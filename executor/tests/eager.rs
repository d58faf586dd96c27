//! Eager tasks (`TaskBuilder::eager`): polled inside `spawn` up to their first suspension,
//! done before `spawn` returns if they never suspend, ordinary tasks after that.

mod support;

use looplet_executor::{create_task, current_task_id, stats, yield_now, TaskBuilder};
use support::{virtual_runner, Trace};

#[test]
fn an_eager_task_runs_its_first_step_before_spawn_returns_and_before_queued_tasks() {
    let trace = Trace::new();
    let log = trace.clone();
    virtual_runner().run(async move {
        let queued_log = log.clone();
        let queued = create_task(async move { queued_log.push("queued task") });
        let eager_log = log.clone();
        let eager = TaskBuilder::new().eager().spawn(async move {
            eager_log.push("eager, first step");
            yield_now().await;
            eager_log.push("eager, second step");
        });
        log.push("caller, after spawn");
        queued.await.unwrap();
        eager.await.unwrap();
    });
    assert_eq!(
        trace.events(),
        [
            "eager, first step",
            "caller, after spawn",
            "queued task",
            "eager, second step"
        ]
    );
}

#[test]
fn an_eager_task_that_never_suspends_is_done_before_spawn_returns() {
    virtual_runner().run(async {
        let task = TaskBuilder::new().eager().spawn(async { 7 });
        assert!(task.is_done());
        assert_eq!(stats().live_tasks, 0);
        assert_eq!(task.result().unwrap(), 7);
    });
}

#[test]
fn an_eager_task_is_its_own_task_while_it_runs_and_the_caller_is_itself_after() {
    virtual_runner().run(async {
        let parent = create_task(async {
            let me = current_task_id();
            let child = TaskBuilder::new()
                .eager()
                .spawn(async { current_task_id() });
            let child_id = child.id();
            assert_eq!(current_task_id(), me, "the caller is itself again");
            assert_eq!(child.await.unwrap(), Some(child_id));
        });
        parent.await.unwrap();
        assert_eq!(current_task_id(), None);
    });
}

#[test]
fn an_eager_task_that_panics_in_its_first_step_reports_it_through_its_handle() {
    virtual_runner().run(async {
        let task = TaskBuilder::new()
            .name("eager")
            .eager()
            .spawn(async { panic!("first step failed") });
        assert!(task.is_panicked());
        assert_eq!(
            task.await.unwrap_err().to_string(),
            "eager panicked: first step failed"
        );
    });
}

#[test]
fn an_eager_task_is_cancelled_like_any_other_after_its_first_step() {
    let trace = Trace::new();
    let log = trace.clone();
    virtual_runner().run(async move {
        let task = TaskBuilder::new().eager().spawn(async move {
            log.push("first step");
            yield_now().await;
            log.push("never");
        });
        assert!(task.cancel());
        assert!(task.await.unwrap_err().is_cancelled());
    });
    assert_eq!(trace.events(), ["first step"]);
}

#[test]
fn eager_tasks_nest() {
    virtual_runner().run(async {
        let outer = TaskBuilder::new().eager().spawn(async {
            let inner = TaskBuilder::new().eager().spawn(async { 2 });
            assert!(inner.is_done());
            inner.await.unwrap() * 3
        });
        assert_eq!(outer.result().unwrap(), 6);
    });
}
