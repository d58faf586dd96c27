//! An ordinary anyhow program, as a user writes one: `?` on a task and on a group, a child
//! that returns a plain value, `#[looplet::main]`, and `#[looplet::test]` on the virtual
//! clock — with no adapter code.

use std::time::Duration;

use anyhow::{bail, Context};
use looplet::TaskGroup;

async fn fetch(id: u32) -> anyhow::Result<String> {
    looplet::sleep(Duration::from_millis(100)).await;
    if id == 13 {
        bail!("item {id} is unlucky");
    }
    Ok(format!("item {id}"))
}

#[looplet::main]
async fn fetch_three() -> anyhow::Result<Vec<String>> {
    let first = looplet::create_task(fetch(1)).await??; // the task's error, then the fetch's
    let others = TaskGroup::scope(|tg| async move {
        let second = tg.create_fallible(fetch(2));
        let count = tg.create_task(async { 2 }); // a plain value
        Ok((second, count))
    })
    .await?;
    let (second, count) = others;
    let mut items = vec![first, second.await?];
    items.push(format!("{} fetched", count.await? + 1));
    Ok(items)
}

#[test]
fn a_main_with_question_marks_on_tasks_and_groups_runs() {
    let items = fetch_three().expect("no failure");
    assert_eq!(items, ["item 1", "item 2", "3 fetched"]);
}

#[looplet::test]
async fn a_failing_child_comes_back_through_question_mark_as_an_anyhow_error() -> anyhow::Result<()>
{
    let start = looplet::now();
    let failed = TaskGroup::scope(|tg| async move {
        tg.create_fallible(fetch(13));
        tg.create_fallible(fetch(14));
        Ok(())
    })
    .await
    .context("fetching 13 and 14");
    let error = failed.unwrap_err();
    assert!(
        format!("{error:#}").contains("item 13 is unlucky"),
        "{error:#}"
    );
    assert_eq!(looplet::now() - start, Duration::from_millis(100));
    Ok(())
}
