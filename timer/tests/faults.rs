//! The timer queue under misuse and awkward timing, driven by hand: sleeps dropped on another
//! thread or moved between queues, wakers whose `wake` or `drop` touch the queue, dead heap
//! entries after timers fire, and wakers handed back in (deadline, creation) order.

use std::cell::RefCell;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};
use std::time::Duration;

use looplet_timer::{sleep, Clock, Sleep, TimerQueue};

#[path = "support/recorder.rs"]
mod recorder;
use recorder::{fire, recorder};

fn poll_once(sleep: Pin<&mut Sleep>, waker: &Waker) -> Poll<()> {
    sleep.poll(&mut Context::from_waker(waker))
}

#[test]
fn due_wakers_come_back_in_deadline_then_creation_order_whatever_the_poll_order() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let log = Arc::new(Mutex::new(Vec::new()));
    let base = queue.now();
    // Deadlines 3, 1, 2, 1, 3 ms: created in this order, polled (registered) in reverse.
    let mut sleeps: Vec<_> = [3u64, 1, 2, 1, 3]
        .iter()
        .map(|&ms| Box::pin(looplet_timer::sleep_until(base + Duration::from_millis(ms))))
        .collect();
    for (name, sleep) in sleeps.iter_mut().enumerate().rev() {
        assert!(poll_once(sleep.as_mut(), &recorder(name, &log)).is_pending());
    }
    queue.clock().advance(Duration::from_millis(5));
    assert_eq!(fire(&queue), 5);
    assert_eq!(*log.lock().unwrap(), [1, 3, 2, 0, 4]);
}

#[test]
fn a_woken_waker_may_create_and_drop_timers_in_the_same_queue() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();

    /// On wake, creates a sleep, registers it, and drops another one.
    struct Busy {
        victim: Mutex<Option<Pin<Box<Sleep>>>>,
        created: Mutex<Vec<Pin<Box<Sleep>>>>,
    }
    impl Wake for Busy {
        fn wake(self: Arc<Self>) {
            drop(self.victim.lock().unwrap().take());
            let mut fresh = Box::pin(sleep(Duration::from_secs(1)));
            assert!(poll_once(fresh.as_mut(), Waker::noop()).is_pending());
            self.created.lock().unwrap().push(fresh);
        }
    }

    let mut victim = Box::pin(sleep(Duration::from_secs(10)));
    assert!(poll_once(victim.as_mut(), Waker::noop()).is_pending());
    let busy = Arc::new(Busy {
        victim: Mutex::new(Some(victim)),
        created: Mutex::new(Vec::new()),
    });
    let mut first = pin!(sleep(Duration::from_millis(1)));
    assert!(poll_once(first.as_mut(), &Waker::from(busy.clone())).is_pending());
    assert_eq!(queue.len(), 2);

    queue.clock().advance(Duration::from_millis(1));
    assert_eq!(fire(&queue), 1);
    // `first` fired, the victim was dropped, a fresh one was registered.
    assert_eq!(queue.len(), 1);
    assert_eq!(busy.created.lock().unwrap().len(), 1);
    assert!(poll_once(first.as_mut(), Waker::noop()).is_ready());
}

#[test]
fn a_registered_sleep_dropped_on_another_thread_fires_later_without_harm() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let woken = Arc::new(AtomicUsize::new(0));

    struct Count(Arc<AtomicUsize>);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    let mut moved = Box::pin(sleep(Duration::from_millis(5)));
    let waker = Waker::from(Arc::new(Count(woken.clone())));
    assert!(poll_once(moved.as_mut(), &waker).is_pending());
    // A `Sleep` is `Send`: dropped off the loop's thread, it cannot reach the queue, so its
    // entry stays until the deadline and then wakes a waker nobody listens to.
    std::thread::spawn(move || drop(moved)).join().unwrap();
    assert_eq!(queue.len(), 1);
    queue.clock().advance(Duration::from_millis(5));
    assert_eq!(fire(&queue), 1);
    assert_eq!(woken.load(Ordering::SeqCst), 1);
    assert!(queue.is_empty());
    assert_eq!(queue.stats().heap_len, 0);
}

#[test]
fn a_sleep_moved_to_another_queue_completes_on_that_queues_clock() {
    let first = TimerQueue::new(Clock::new_virtual());
    let second = TimerQueue::new(Clock::new_virtual());
    let mut moving = {
        let _entered = first.enter();
        let mut sleep = Box::pin(sleep(Duration::from_millis(10)));
        assert!(poll_once(sleep.as_mut(), Waker::noop()).is_pending());
        sleep
    };
    // The sleep's deadline is an `Instant`: on `second` it is due once that clock reaches it.
    let _entered = second.enter();
    assert!(poll_once(moving.as_mut(), Waker::noop()).is_pending());
    assert_eq!(
        second.len(),
        1,
        "registered again, in the queue it is polled on"
    );
    second.clock().advance_to(moving.deadline());
    assert_eq!(fire(&second), 1);
    assert!(poll_once(moving.as_mut(), Waker::noop()).is_ready());
    drop(moving);
    assert_eq!(
        first.len(),
        1,
        "the first queue's entry stays until its deadline"
    );
    assert!(second.is_empty());
}

thread_local! {
    /// What the next drop of a [`hook_waker`] runs.
    static ON_WAKER_DROP: RefCell<Option<Box<dyn FnOnce()>>> = const { RefCell::new(None) };
}

/// A waker whose drop runs the closure armed in [`ON_WAKER_DROP`], as a foreign executor's
/// waker may run arbitrary code when its last reference goes.
fn hook_waker() -> Waker {
    static VTABLE: RawWakerVTable = RawWakerVTable::new(
        |_| RawWaker::new(std::ptr::null(), &VTABLE),
        |_| {},
        |_| {},
        |_| {
            if let Some(hook) = ON_WAKER_DROP.with(|hook| hook.borrow_mut().take()) {
                hook();
            }
        },
    );
    // SAFETY: the vtable's functions ignore the (null) data pointer and touch only a
    // thread-local, so every `RawWaker` contract requirement holds trivially.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}

#[test]
fn replacing_a_waker_whose_drop_cancels_another_timer_does_not_panic() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let mut victim = Box::pin(sleep(Duration::from_secs(2)));
    assert!(poll_once(victim.as_mut(), Waker::noop()).is_pending());
    let mut sleeper = Box::pin(sleep(Duration::from_secs(1)));
    let hook = hook_waker();
    assert!(poll_once(sleeper.as_mut(), &hook).is_pending()); // the queue keeps a clone
    ON_WAKER_DROP.with(|slot| *slot.borrow_mut() = Some(Box::new(move || drop(victim))));
    // Polled again with another waker: the queue replaces (drops) its clone of `hook`.
    assert!(poll_once(sleeper.as_mut(), Waker::noop()).is_pending());
    assert_eq!(
        queue.len(),
        1,
        "the victim left the queue when the old waker was dropped"
    );
    drop(hook);
}

#[test]
fn the_heap_does_not_keep_cancelled_entries_once_the_remaining_timers_have_fired() {
    const N: u64 = 1_000;
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let mut long: Vec<_> = (0..N)
        .map(|_| Box::pin(sleep(Duration::from_secs(3600))))
        .collect();
    let mut short: Vec<_> = (0..N)
        .map(|i| Box::pin(sleep(Duration::from_millis(1 + i % 10))))
        .collect();
    for sleep in long.iter_mut().chain(short.iter_mut()) {
        assert!(poll_once(sleep.as_mut(), Waker::noop()).is_pending());
    }
    drop(long); // N cancellations: never more dead entries than live ones, so no sweep
    queue.clock().advance(Duration::from_millis(20));
    assert_eq!(fire(&queue), N as usize);
    for sleep in short.iter_mut() {
        assert!(poll_once(sleep.as_mut(), Waker::noop()).is_ready());
    }
    let stats = queue.stats();
    assert_eq!(stats.live, 0);
    assert!(
        stats.heap_len <= 64,
        "the heap still holds {} entries for {} live timers",
        stats.heap_len,
        stats.live
    );
}
