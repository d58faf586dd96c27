//! The tour: every level of the tutorial, in order, each on a fresh loop, under the
//! tutorial's own headings; then the claim the tutorial opens with, API calls made
//! concurrent, as `api_calls` measures it on real sockets.
//!
//! By default it runs on the real clock and takes about 13 seconds: 11 for the levels, as
//! the tutorial would, and 2 for the API calls.
//! `--virtual` runs it on the virtual clock, where sleeps take no time and, within each
//! level, the printed times still advance exactly as they would have. (Each level's loop
//! starts its virtual clock at the real time of day, so every level starts at about the
//! same time.)
//!
//! ```text
//! $ cargo run --example tour -- --virtual
//! ```

// Each level is its own example; here their `main`s go unused.
#[allow(dead_code)]
#[path = "api_calls.rs"]
mod api_calls;
#[allow(dead_code)]
#[path = "appendix.rs"]
mod appendix;
#[allow(dead_code)]
#[path = "level1.rs"]
mod level1;
#[allow(dead_code)]
#[path = "level2.rs"]
mod level2;
#[allow(dead_code)]
#[path = "level3.rs"]
mod level3;
#[allow(dead_code)]
#[path = "level4.rs"]
mod level4;
#[allow(dead_code)]
#[path = "level5.rs"]
mod level5;

use looplet::Runner;

/// How to run one level on a fresh runner.
type Level = fn(Runner);

/// The levels in tutorial order: a header, and the level.
const LEVELS: [(&str, Level); 7] = [
    ("Level 1: Running a coroutine", |mut runner| {
        runner.run(level1::level1())
    }),
    ("Level 2: Run coroutines in series", |mut runner| {
        runner.run(level2::level2())
    }),
    ("Level 3: Concurrent coroutines", |mut runner| {
        runner.run(level3::level3())
    }),
    ("Level 4: TaskGroup errors", |mut runner| {
        runner.run(level4::level4())
    }),
    ("Level 5: Fire-and-forget background tasks", |mut runner| {
        level5::level5(&mut runner)
    }),
    (
        "Appendix: Concurrent coroutines with create_task",
        |mut runner| runner.run(appendix::appendix()),
    ),
    (
        "Why: API calls, one after the other, then concurrently",
        |mut runner| api_calls::api_calls(&mut runner),
    ),
];

fn main() {
    let virtual_clock = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--virtual") => true,
        Some(other) => {
            eprintln!("tour: unknown argument {other:?}; the only option is --virtual");
            std::process::exit(2);
        }
    };
    for (i, (title, level)) in LEVELS.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("== {title} ==");
        // Only ask for the virtual clock: without --virtual, LOOPLET_CLOCK still decides.
        let builder = Runner::builder();
        let runner = if virtual_clock {
            builder.virtual_clock(true).build()
        } else {
            builder.build()
        };
        level(runner);
    }
}
