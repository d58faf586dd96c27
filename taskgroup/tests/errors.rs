//! Errors that travel: a group's error, a child's and a task's are `Send + Sync + 'static`,
//! so `?` carries them into `anyhow::Error` and `Box<dyn Error + Send + Sync>` with no
//! adapter code, and they can be sent to another thread.

use std::error::Error;
use std::future::pending;

use looplet::{create_task, run, yield_now, BoxError, CreateTaskError, GroupError, TaskGroup};

/// Compile-time: the claims the module docs make.
#[test]
fn group_errors_are_send_sync_and_static() {
    fn send_sync_static<T: Send + Sync + 'static>() {}
    send_sync_static::<GroupError>();
    send_sync_static::<BoxError>();
    send_sync_static::<CreateTaskError>();
}

async fn parse_later(text: &'static str) -> Result<u32, std::num::ParseIntError> {
    yield_now().await;
    text.parse()
}

/// An ordinary anyhow function: `?` on a task, on a child and on a group.
async fn sum_with_anyhow(texts: [&'static str; 2]) -> anyhow::Result<u32> {
    let base = create_task(async { 1 }).await?;
    let sum = TaskGroup::scope(|tg| async move {
        let a = tg.create_fallible(parse_later(texts[0]));
        let b = tg.create_fallible(parse_later(texts[1]));
        Ok(a.await? + b.await?)
    })
    .await?;
    Ok(base + sum)
}

#[test]
fn question_mark_carries_the_scope_value_and_a_group_error_into_anyhow() {
    assert_eq!(run(sum_with_anyhow(["40", "1"])).unwrap(), 42);

    let error = run(sum_with_anyhow(["40", "A"])).unwrap_err();
    let group = error
        .downcast_ref::<GroupError>()
        .expect("the anyhow error is the GroupError itself");
    assert_eq!(group.errors().len(), 1);
    assert!(group.errors()[0].is::<std::num::ParseIntError>());
    assert_eq!(
        error.to_string(),
        "1 task of the group failed: invalid digit found in string"
    );
}

#[test]
fn question_mark_carries_a_group_error_into_a_send_sync_box() {
    async fn failing() -> Result<(), Box<dyn Error + Send + Sync>> {
        TaskGroup::scope(|tg| async move {
            tg.create_fallible(async { Err::<(), _>("the disk is full") });
            Ok(())
        })
        .await?;
        Ok(())
    }

    let error = run(failing()).unwrap_err();
    assert!(error.is::<GroupError>());
    assert_eq!(
        error.to_string(),
        "1 task of the group failed: the disk is full"
    );
}

#[test]
fn an_anyhow_error_of_a_child_fails_the_group_and_comes_back_out() {
    let outcome = run(TaskGroup::scope(|tg| async move {
        tg.create_fallible(async { Err::<(), _>(anyhow::anyhow!("out of quota")) });
        // The body's `?` takes an anyhow error too.
        let checked: anyhow::Result<()> = Ok(());
        checked?;
        let stuck = tg.create_task(pending::<()>());
        stuck.await?; // cancelled by the child's failure
        Ok(())
    }));
    let group = outcome.unwrap_err();
    assert_eq!(group.errors()[0].to_string(), "out of quota");
}

#[test]
fn a_group_error_can_be_sent_to_another_thread_and_read_there() {
    let group = run(TaskGroup::scope(|tg| async move {
        tg.create_fallible(async { Err::<(), _>("child") });
        yield_now().await;
        Err::<(), _>("body".into())
    }))
    .unwrap_err();
    let read = std::thread::spawn(move || {
        let all: Vec<String> = group.iter().map(ToString::to_string).collect();
        (all, group.body_error().map(ToString::to_string))
    })
    .join()
    .unwrap();
    assert_eq!(
        read,
        (vec!["child".into(), "body".into()], Some("body".into()))
    );
}
