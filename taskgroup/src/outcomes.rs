//! `Outcomes`: what a `TaskSet`'s ended tasks left — their outcomes, in the order they ended —
//! until `join_next` takes them; and the report of whatever nobody took.
//!
//! # Memory follows what there is to hand back
//!
//! A background set that nobody joins (asyncio's "keep a reference in a set") may see
//! millions of tasks end over a program's life. So a *success of a task returning `()`* —
//! which carries nothing but the fact that it happened — is not stored: consecutive ones are
//! one counter ([`Entry::Units`]), and `join_next` makes each `()` back. Everything else —
//! a value, a panic, a cancellation — is kept as it came, one entry each, until taken: a
//! set of tasks returning values is a promise to hand them back (tokio's `JoinSet` keeps
//! them the same way).
//!
//! # Nothing is dropped silently
//!
//! When the set goes (its last handle is dropped), the outcomes nobody took are reported on
//! stderr: each panic, with its message, and one line counting the values (a value may be an
//! `Err` a worker returned; the set cannot look inside an arbitrary `T`). Cancellations and
//! `()` successes say nothing that was not known.

use std::any::{Any, TypeId};
use std::collections::VecDeque;

use looplet_executor::TaskError;

/// One entry of the queue.
enum Entry<T> {
    /// An outcome, kept as it came.
    One(Result<T, TaskError>),
    /// This many successes in a row of tasks returning `()`. Invariant: never 0; only when
    /// `T` is `()`.
    Units(usize),
}

/// The outcomes of ended tasks, oldest first.
pub(crate) struct Outcomes<T: 'static> {
    queue: VecDeque<Entry<T>>,
}

impl<T: 'static> Outcomes<T> {
    pub(crate) fn new() -> Outcomes<T> {
        Outcomes {
            queue: VecDeque::new(),
        }
    }

    /// Whether no outcome waits to be taken.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queues the outcome of a task that just ended.
    pub(crate) fn push(&mut self, outcome: Result<T, TaskError>) {
        if outcome.is_ok() && is_unit::<T>() {
            match self.queue.back_mut() {
                Some(Entry::Units(count)) => *count += 1,
                _ => self.queue.push_back(Entry::Units(1)),
            }
            return;
        }
        self.queue.push_back(Entry::One(outcome));
    }

    /// Takes the oldest outcome.
    pub(crate) fn pop(&mut self) -> Option<Result<T, TaskError>> {
        if let Some(Entry::Units(count)) = self.queue.front_mut() {
            *count -= 1;
            if *count == 0 {
                self.queue.pop_front();
            }
            // `Units` is only ever queued when `T` is `()`, so this is always `Some`.
            return unit::<T>().map(Ok);
        }
        match self.queue.pop_front()? {
            Entry::One(outcome) => Some(outcome),
            Entry::Units(_) => None,
        }
    }
}

impl<T: 'static> Drop for Outcomes<T> {
    fn drop(&mut self) {
        let mut values = 0_usize;
        for entry in self.queue.drain(..) {
            match entry {
                Entry::One(Ok(_)) => values += 1,
                Entry::One(Err(error)) if error.is_panic() => eprintln!(
                    "looplet: background task {error}, and nobody took that from its TaskSet \
                     (join_next) before the set was dropped"
                ),
                Entry::One(Err(_)) | Entry::Units(_) => {}
            }
        }
        if values > 0 {
            eprintln!(
                "looplet: a TaskSet was dropped holding {values} value(s) of type `{}` that \
                 nobody took (join_next / try_join_next); an `Err` among them is lost with them",
                std::any::type_name::<T>()
            );
        }
    }
}

fn is_unit<T: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<()>()
}

/// A `()` as a `T`, when `T` is `()`.
fn unit<T: 'static>() -> Option<T> {
    let unit: Box<dyn Any> = Box::new(());
    unit.downcast::<T>().ok().map(|unit| *unit)
}

#[cfg(test)]
mod tests {
    use super::{Entry, Outcomes};

    #[test]
    fn successes_of_unit_tasks_in_a_row_take_one_entry() {
        let mut outcomes = Outcomes::<()>::new();
        for _ in 0..1_000 {
            outcomes.push(Ok(()));
        }
        assert_eq!(outcomes.queue.len(), 1);
        assert!(matches!(outcomes.queue[0], Entry::Units(1_000)));
        for _ in 0..1_000 {
            assert!(matches!(outcomes.pop(), Some(Ok(()))));
        }
        assert!(outcomes.pop().is_none());
        assert!(outcomes.is_empty());
    }

    #[test]
    fn values_are_kept_one_each_in_order() {
        let mut outcomes = Outcomes::<u32>::new();
        outcomes.push(Ok(1));
        outcomes.push(Ok(2));
        assert_eq!(outcomes.queue.len(), 2);
        assert_eq!(outcomes.pop().map(Result::unwrap), Some(1));
        assert_eq!(outcomes.pop().map(Result::unwrap), Some(2));
        assert!(outcomes.pop().is_none());
    }
}
