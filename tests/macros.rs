//! `#[looplet::main]` and `#[looplet::test]` as users write them: `async fn` tests on the
//! virtual clock by default, `Result` bodies with `?`, and the real clock on request.

use std::time::Duration;

#[looplet::test]
async fn a_test_runs_on_the_virtual_clock_so_an_hour_passes_at_once() {
    let start = looplet::now();
    looplet::sleep(Duration::from_secs(3600)).await;
    assert_eq!(looplet::now() - start, Duration::from_secs(3600));
}

#[looplet::test]
async fn a_test_may_return_a_result_and_use_the_question_mark(
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let value = looplet::create_task(async { 41 }).await?;
    let parsed: u32 = "1".parse()?;
    assert_eq!(value + parsed, 42);
    Ok(())
}

#[looplet::test(clock = "real")]
async fn a_test_may_ask_for_the_real_clock() {
    assert!(
        looplet::current_task_name().is_none(),
        "the body is not a task"
    );
    let task = looplet::create_task(async { looplet::current_task_name() });
    assert_eq!(task.await.unwrap().as_deref(), Some("Task-1"));
}

#[looplet::test]
#[should_panic(expected = "deliberately")]
async fn other_attributes_are_kept() {
    panic!("deliberately");
}

mod nested {
    /// The attribute works under any module path, and on a `pub` function.
    #[looplet::test]
    pub async fn in_a_module() {
        looplet::yield_now().await;
    }
}

/// `#[looplet::main]` on any function, so a test can call it.
#[looplet::main]
async fn entry() -> Result<u32, looplet::TaskError> {
    let task = looplet::create_task(async { 7 });
    Ok(task.await? * 6)
}

#[test]
fn main_runs_its_body_on_a_new_loop_and_returns_its_output() {
    assert_eq!(entry().unwrap(), 42);
}

/// Counts the seeded runs of the next test, across its runs.
static SEEDED_RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[looplet::test(seeds = 20)]
async fn a_seeded_test_runs_its_body_once_per_seed() {
    let runs = SEEDED_RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
    let seed = std::env::var("LOOPLET_SEED").ok();
    assert!(runs <= 20 && (seed.is_none() || runs == 1), "{runs} runs");
    let task = looplet::create_task(async { 5 });
    assert_eq!(task.await.unwrap(), 5);
}
