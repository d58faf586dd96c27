//! Level 4: a task group's errors (asyncio's `ExceptionGroup`).
//!
//! Three tasks, and the second is given the delay `"A"`, which is not an integer. That task
//! fails at once, so the group cancels its siblings (neither "hello" nor "Stephen" is ever
//! said) and the body, then returns every error in a `GroupError` (asyncio's
//! `ExceptionGroup`). Each error is printed with its type, as Python prints
//! `type(exc)`. Nothing waits: it is over in no time.
//!
//! ```text
//! $ cargo run --example level4
//! started at 12:00:00
//! 0: ValueError: 'A' is not a valid integer
//! finished at 12:00:00
//! ```

use std::error::Error;
use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use looplet::{BoxError, TaskGroup};

fn main() {
    looplet::run(level4());
}

/// A delay that is not an integer: the error `say_after` fails with (Python raises a
/// `ValueError`, and this type keeps its name).
#[derive(Debug)]
pub struct ValueError(String);

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for ValueError {}

/// Waits `delay` seconds — given as text — then prints `what`. A delay that is not an
/// integer is a [`ValueError`], before any waiting.
async fn say_after(delay: &str, what: &str) -> Result<(), ValueError> {
    let seconds: u64 = delay
        .parse()
        .map_err(|_| ValueError(format!("'{delay}' is not a valid integer")))?;
    looplet::sleep(Duration::from_secs(seconds)).await;
    println!("{what}");
    Ok(())
}

/// Starts three tasks, one with a bad delay; prints each of the group's errors and its type.
pub async fn level4() {
    println!("started at {}", time_of_day());
    let outcome = TaskGroup::scope(|tg| async move {
        tg.create_fallible(say_after("1", "hello"));
        tg.create_fallible(say_after("A", "there"));
        tg.create_fallible(say_after("2", "Stephen"));
        Ok(())
    })
    .await;
    if let Err(group) = outcome {
        for (i, error) in group.errors().iter().enumerate() {
            println!("{i}: {}: {error}", type_of(error));
        }
    }
    println!("finished at {}", time_of_day());
}

/// The name of `error`'s type, as Python's `type(exc)` names an exception's class. A boxed
/// error does not carry its type's name, so ask it whether it is each type this program
/// can fail with; print the name without its module path.
fn type_of(error: &BoxError) -> &'static str {
    let path = if error.is::<ValueError>() {
        std::any::type_name::<ValueError>()
    } else {
        "an unexpected error type"
    };
    path.rsplit("::").next().unwrap_or(path)
}

/// The time of day on the loop's clock — real, or virtual under `LOOPLET_CLOCK=virtual` —
/// as UTC `HH:MM:SS` (Python's `time.strftime('%X')`).
fn time_of_day() -> String {
    let seconds = looplet::system_time()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since_epoch| since_epoch.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60
    )
}
