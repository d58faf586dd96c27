//! looplet's structured concurrency: [`TaskGroup`] and [`TaskSet`], built only on the
//! executor's public API (`create_task`, `Task::cancel`, `Task::add_done_callback`).
//!
//! # In three steps
//!
//! 1. **A scope that waits.** [`TaskGroup::scope`] runs a body with a group handle `tg`;
//!    `tg.create_task(..)` starts children that run concurrently with the body and each
//!    other. The scope returns only once the body *and every child* have ended — and so
//!    has every task of a group nested in them.
//! 2. **The first failure stops everyone.** A child may return any value
//!    (`tg.create_task`); one that can fail returns a `Result` (`tg.create_fallible`), and
//!    its `Err` — or the body's — cancels every other child and the body. The scope then
//!    returns a [`GroupError`] with every error, in the order they happened, the body's
//!    last; otherwise it returns the body's value. A panic does the same, then resumes in
//!    the task awaiting the scope. Dropping the scope cancels every child: no child
//!    outlives its group, nor any task of a group nested in it.
//! 3. **Background tasks.** A [`TaskSet`] holds fire-and-forget tasks until they end, so
//!    nothing is lost and everything can be cancelled or awaited together; its
//!    [`join_next`](TaskSet::join_next) hands their outcomes back as they finish.
//!
//! Beyond asyncio: [`TaskGroup::supervise`] opens a group in which a failure cancels nobody
//! and every error comes back at the end (a supervisor), and [`TaskGroup::start`] (Trio's
//! `nursery.start`) waits until a new child reports that it is ready, with a value such as
//! the address it bound.
//!
//! ```
//! use looplet::{run, yield_now, TaskGroup};
//!
//! async fn parse_later(text: &'static str) -> Result<u32, std::num::ParseIntError> {
//!     yield_now().await;
//!     text.parse()
//! }
//!
//! run(async {
//!     // Every child succeeds: the scope gives the body's value.
//!     let sum = TaskGroup::scope(|tg| async move {
//!         let a = tg.create_fallible(parse_later("40"));
//!         let b = tg.create_task(async { 2 }); // a child may return any value
//!         Ok(a.await? + b.await?)
//!     })
//!     .await;
//!     assert_eq!(sum.unwrap(), 42);
//!
//!     // One child fails: the others are cancelled, the error comes back in a group.
//!     let failed = TaskGroup::scope(|tg| async move {
//!         tg.create_fallible(parse_later("A")); // its Err fails the group
//!         let slow = tg.create_task(std::future::pending::<()>());
//!         slow.await?; // cancelled along with it
//!         Ok(())
//!     })
//!     .await;
//!     let group = failed.unwrap_err();
//!     assert_eq!(group.errors().len(), 1);
//!     assert_eq!(group.errors()[0].to_string(), "invalid digit found in string");
//!
//!     // Finished tasks, as they finish: a TaskSet.
//!     let set = looplet::TaskSet::new();
//!     set.spawn(async { yield_now().await; "second" });
//!     set.spawn(async { "first" });
//!     assert_eq!(set.join_next().await.unwrap().unwrap(), "first");
//!     assert_eq!(set.join_next().await.unwrap().unwrap(), "second");
//!     assert!(set.join_next().await.is_none());
//! });
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod child;
mod child_future;
mod error;
mod group;
mod outcomes;
mod polling;
mod set;
mod shared;
mod start;
mod supervise;

pub use builder::ChildBuilder;
pub use child::{AnyValue, ChildTask, ChildValue, UseCreateFallible};
pub use error::{BoxError, CreateTaskError, GroupError};
pub use group::{Scope, TaskGroup};
pub use set::{JoinAll, JoinNext, TaskSet};
pub use shared::GroupState;
pub use start::{Start, StartError, Started};
