//! Memory a burst of tasks leaves behind: freed cells are kept for the next burst, matched
//! by layout, and — with the room the burst made in the ready queue and the task table —
//! given back, down to a small pool, when the loop runs out of work or a `run` returns; all
//! of it when the loop closes. Run under memcheck in CI, where a
//! cell freed twice, used after it was kept, or never given back fails the build.

use std::time::Duration;

use looplet_executor::{create_task, stats, yield_now, Runner};
use looplet_timer::sleep;

fn virtual_runner() -> Runner {
    Runner::builder().virtual_clock(true).build()
}

#[test]
fn a_finished_burst_leaves_its_cells_for_the_next_one() {
    let mut runner = virtual_runner();
    let cached = runner.run(async {
        let tasks: Vec<_> = (0..100u64).map(|i| create_task(async move { i })).collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        assert_eq!(sum, 4950);
        stats().cached_cells
    });
    assert_eq!(cached, 100, "every freed cell was kept");
    let left = runner.run(async {
        let tasks: Vec<_> = (0..60u64).map(|i| create_task(async move { i })).collect();
        let left = stats().cached_cells;
        for task in tasks {
            task.await.unwrap();
        }
        left
    });
    assert_eq!(left, 40, "the second burst was built in kept cells");
}

#[test]
fn cells_are_reused_only_for_the_same_layout() {
    let mut runner = virtual_runner();
    runner.run(async {
        create_task(async { 1u8 }).await.unwrap();
        assert_eq!(stats().cached_cells, 1);
        let big = create_task(async { [7u64; 64] });
        assert_eq!(
            stats().cached_cells,
            1,
            "a larger future needs its own memory"
        );
        assert_eq!(big.await.unwrap()[63], 7);
        let small = create_task(async { 2u8 });
        assert_eq!(
            stats().cached_cells,
            1,
            "the small cell was reused, the big one kept"
        );
        assert_eq!(small.await.unwrap(), 2);
    });
}

/// What a loop keeps of a burst's cells once it runs out of work or a `run` returns.
const RETAINED_BYTES: usize = 256 * 1024;

#[test]
fn running_out_of_work_gives_the_memory_back_down_to_a_small_pool() {
    const BURST: usize = 10_000;
    let mut runner = virtual_runner();
    runner.run(async {
        for task in (0..BURST)
            .map(|_| create_task(yield_now()))
            .collect::<Vec<_>>()
        {
            task.await.unwrap();
        }
        assert_eq!(stats().cached_cells, BURST);
        assert!(stats().cached_cell_bytes > RETAINED_BYTES);
        // Nothing is ready while this sleeps: the loop parks (on the virtual clock, jumps).
        sleep(Duration::from_secs(1)).await;
        assert!(stats().cached_cell_bytes <= RETAINED_BYTES);
        assert!(stats().cached_cells < BURST);
    });
}

#[test]
fn a_run_returning_gives_the_memory_back_down_to_a_small_pool() {
    const BURST: usize = 10_000;
    let mut runner = virtual_runner();
    let cached_inside = runner.run(async {
        for task in (0..BURST)
            .map(|_| create_task(async {}))
            .collect::<Vec<_>>()
        {
            task.await.unwrap();
        }
        stats().cached_cells
    });
    assert_eq!(cached_inside, BURST, "the loop never parked during the run");
    assert!(runner.stats().cached_cell_bytes <= RETAINED_BYTES);
    assert!(
        runner.stats().slab_capacity <= 128,
        "the task table shrank too"
    );
}

#[test]
fn running_out_of_work_shrinks_the_ready_queue_a_burst_grew() {
    let mut runner = virtual_runner();
    runner.run(async {
        let tasks: Vec<_> = (0..10_000).map(|_| create_task(async {})).collect();
        assert!(stats().ready_capacity >= 10_000);
        for task in tasks {
            task.await.unwrap();
        }
        sleep(Duration::from_secs(1)).await;
        assert!(stats().ready_capacity <= 64, "{}", stats().ready_capacity);
    });
}

#[test]
fn a_kept_cell_is_a_clean_cell() {
    // A reused cell must start empty: no name, no callbacks, no outcome of its last tenant.
    let mut runner = virtual_runner();
    runner.run(async {
        let first = looplet_executor::TaskBuilder::new()
            .name("first")
            .spawn(async { String::from("first output") });
        first.add_done_callback(|task| assert!(task.is_done()));
        assert_eq!(first.await.unwrap(), "first output");
        let second = create_task(async { String::from("second output") });
        assert_eq!(
            stats().cached_cells,
            0,
            "the second task reuses the first one's cell"
        );
        assert_eq!(second.name(), "Task-2");
        assert!(!second.is_done());
        assert!(second.result().unwrap_err().is_not_done());
        assert_eq!(second.await.unwrap(), "second output");
    });
}

#[test]
fn closing_the_loop_frees_what_it_kept() {
    let mut runner = virtual_runner();
    runner.run(async {
        for task in (0..10)
            .map(|i| create_task(async move { i }))
            .collect::<Vec<_>>()
        {
            task.await.unwrap();
        }
    });
    assert_eq!(runner.stats().cached_cells, 10);
    runner.close();
    assert_eq!(runner.stats().cached_cells, 0);
    // Memcheck fails CI if cells kept after this point leak when the runner is dropped.
    drop(runner);
}

#[test]
fn a_cell_of_one_loop_freed_while_another_runs_is_reused_by_that_one() {
    let mut first = virtual_runner();
    let mut second = virtual_runner();
    // The handle leaves its loop on purpose, so the last reference goes elsewhere.
    #[allow(clippy::async_yields_async)]
    let handle = first.run(async {
        let task = create_task(async { 1u32 });
        yield_now().await;
        task
    });
    assert!(handle.is_done());
    second.run(async move {
        // The last reference to `first`'s task goes while `second` runs: its memory is
        // plain memory now, kept by the loop on this thread.
        assert_eq!(handle.result().unwrap(), 1);
        drop(handle);
        assert_eq!(stats().cached_cells, 1);
        let reused = create_task(async { 2u32 });
        assert_eq!(stats().cached_cells, 0);
        assert_eq!(reused.await.unwrap(), 2);
    });
    assert_eq!(first.stats().cached_cells, 0);
}

/// An output that counts its drops, so a double drop or a leak of the outcome shows.
#[derive(Debug)]
struct Counted(std::rc::Rc<std::cell::Cell<u32>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn an_outcome_sharing_its_bytes_with_the_future_is_dropped_exactly_once_whichever_way_it_goes() {
    use std::cell::Cell;
    use std::rc::Rc;

    let drops = Rc::new(Cell::new(0));
    let make = |drops: &Rc<Cell<u32>>| {
        let drops = Rc::clone(drops);
        async move {
            yield_now().await;
            Counted(drops)
        }
    };
    virtual_runner().run(async {
        // Awaited: moved out to the caller, who drops it.
        drop(create_task(make(&drops)).await.unwrap());
        assert_eq!(drops.get(), 1);
        // Taken without waiting, then the handle dropped.
        let task = create_task(make(&drops));
        yield_now().await;
        yield_now().await;
        drop(task.result().unwrap());
        assert!(task.result().unwrap_err().is_taken());
        drop(task);
        assert_eq!(drops.get(), 2);
        // Never taken: dropped with the last handle.
        let task = create_task(make(&drops));
        yield_now().await;
        yield_now().await;
        assert!(task.is_done());
        assert_eq!(drops.get(), 2);
        drop(task);
        assert_eq!(drops.get(), 3);
        // Detached, and taken by a done callback.
        let drops_seen = Rc::clone(&drops);
        create_task(make(&drops)).add_done_callback(move |task| {
            drop(task.result().unwrap());
            assert_eq!(drops_seen.get(), 4);
        });
        // Detached with nobody to take it: dropped when the task is freed.
        drop(create_task(make(&drops)));
        yield_now().await;
        yield_now().await;
        yield_now().await;
    });
    assert_eq!(drops.get(), 5);
}
