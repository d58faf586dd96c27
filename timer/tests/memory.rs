//! Memory follows live timers, not their peak: once a burst of timers has fired or been
//! dropped, the queue's storage falls back to a small bound (`TimerStats::bytes`). Timers
//! left in high slots are moved out to let the slab shrink: woken early, their `Sleep`s
//! register again and still complete exactly at their deadlines, and at most one timer is
//! moved out for every sixteen that fired or were cancelled. A steady load never
//! reallocates. Driven by hand on a virtual clock.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use looplet_timer::{sleep, Clock, Sleep, TimerQueue};

#[path = "support/recorder.rs"]
mod recorder;
use recorder::fire;

/// What an idle queue may keep: room for 1,024 timers (slots and heap entries) and 16 far
/// ones, as the queue's module docs state.
const IDLE_BOUND: usize = 1024 * (24 + 16) + 16 * 32;

fn poll(sleep: &mut Pin<Box<Sleep>>, waker: &Waker) -> Poll<()> {
    sleep.as_mut().poll(&mut Context::from_waker(waker))
}

/// `n` sleeps of 1..=n milliseconds, each registered by its first poll.
fn burst(n: u64) -> Vec<Pin<Box<Sleep>>> {
    (1..=n)
        .map(|ms| {
            let mut sleep = Box::pin(sleep(Duration::from_millis(ms)));
            assert!(poll(&mut sleep, Waker::noop()).is_pending());
            sleep
        })
        .collect()
}

/// A waker that counts its wakes.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_burst_of_dropped_timers_leaves_only_the_idle_reserve() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let sleeps = burst(100_000);
    let peak = queue.stats().bytes;
    assert!(peak >= 100_000 * 40, "{peak} bytes at the peak");
    drop(sleeps);
    let stats = queue.stats();
    assert_eq!(stats.live, 0);
    assert!(
        stats.bytes <= IDLE_BOUND,
        "{} bytes kept with no timer live: {stats:?}",
        stats.bytes
    );
}

#[test]
fn a_burst_of_fired_timers_leaves_only_the_idle_reserve() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let _sleeps = burst(100_000);
    queue.clock().advance(Duration::from_secs(100));
    assert_eq!(fire(&queue), 100_000);
    let stats = queue.stats();
    assert!(stats.bytes <= IDLE_BOUND, "{stats:?}");
    assert!(stats.slot_capacity <= 1024 && stats.heap_capacity <= 1024 + 16);
}

#[test]
fn a_timer_left_in_a_high_slot_is_moved_out_and_still_fires_at_its_deadline() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let start = queue.now();
    let mut sleeps = burst(100_000);
    // The last one made sits in the highest slot; make it the long one.
    let mut straggler = sleeps.pop().unwrap();
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    straggler.as_mut().reset(start + Duration::from_secs(3600));
    assert!(poll(&mut straggler, &waker).is_pending());
    drop(sleeps);

    // The next firing finds the slab nearly empty: it moves the straggler out and wakes it.
    queue.clock().advance(Duration::from_secs(1));
    let mut due = Vec::new();
    assert_eq!(queue.fire_due(&mut due), 1, "one waker handed back");
    due.into_iter().for_each(Waker::wake);
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    let stats = queue.stats();
    assert_eq!((stats.moved_out, stats.fired, stats.live), (1, 0, 0));
    assert!(stats.bytes <= IDLE_BOUND, "{stats:?}");

    // Woken early, it registers again, in a low slot, and waits for its real deadline.
    assert!(poll(&mut straggler, &waker).is_pending());
    assert_eq!(queue.len(), 1);
    assert!(queue.stats().slot_capacity <= 1024);
    assert_eq!(
        queue.next_deadline(),
        Some(start + Duration::from_secs(3600))
    );
    queue.clock().advance_to(start + Duration::from_secs(3599));
    assert_eq!(fire(&queue), 0);
    assert!(poll(&mut straggler, &waker).is_pending());
    queue.clock().advance_to(start + Duration::from_secs(3600));
    assert_eq!(fire(&queue), 1);
    assert!(poll(&mut straggler, &waker).is_ready());
}

#[test]
fn a_moved_out_sleep_dropped_before_its_next_poll_harms_no_other_timer() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let mut sleeps = burst(10_000);
    let mut straggler = sleeps.pop().unwrap();
    straggler
        .as_mut()
        .reset(queue.now() + Duration::from_secs(3600));
    assert!(poll(&mut straggler, Waker::noop()).is_pending());
    drop(sleeps);
    queue.clock().advance(Duration::from_secs(1));
    assert_eq!(fire(&queue), 1, "moved out");
    // A new timer may take any slot now, the straggler's old one included.
    let mut fresh: Vec<_> = burst(2_000);
    drop(straggler); // its key is stale: it must not cancel whoever holds its old slot
    assert_eq!(queue.len(), 2_000);
    queue.clock().advance(Duration::from_secs(3));
    assert_eq!(fire(&queue), 2_000);
    for sleep in &mut fresh {
        assert!(poll(sleep, Waker::noop()).is_ready());
    }
}

#[test]
fn a_steady_load_keeps_its_room_and_moves_no_timer() {
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    // 5,000 timers live at any time: each millisecond, the oldest 5 fire and 5 new ones start.
    let mut live: std::collections::VecDeque<_> = burst(5_000).into();
    let mut capacities = std::collections::BTreeSet::new();
    for _ in 0..2_000 {
        queue.clock().advance(Duration::from_millis(5));
        assert_eq!(fire(&queue), 5);
        for _ in 0..5 {
            let mut done = live.pop_front().unwrap();
            assert!(poll(&mut done, Waker::noop()).is_ready());
            let mut next = Box::pin(sleep(Duration::from_millis(5_000)));
            assert!(poll(&mut next, Waker::noop()).is_pending());
            live.push_back(next);
        }
        let stats = queue.stats();
        capacities.insert((stats.heap_capacity, stats.slot_capacity));
    }
    assert_eq!(queue.stats().moved_out, 0);
    assert_eq!(capacities.len(), 1, "reallocated: {capacities:?}");
}

#[test]
fn a_draining_burst_moves_out_few_timers() {
    const N: u64 = 100_000;
    let queue = TimerQueue::new(Clock::new_virtual());
    let _entered = queue.enter();
    let mut sleeps = burst(N);
    let mut woken_early = 0;
    for ms in 1..=N {
        queue.clock().advance(Duration::from_millis(1));
        let mut due = Vec::new();
        let handed_back = queue.fire_due(&mut due);
        assert!(handed_back >= 1, "the timer due at {ms} ms fired");
        woken_early += handed_back - 1;
        // Every moved-out sleep registers again at its next poll, as a woken task's would.
        if handed_back > 1 {
            for sleep in sleeps.iter_mut().skip(ms as usize) {
                assert!(poll(sleep, Waker::noop()).is_pending());
            }
        }
        assert!(poll(&mut sleeps[ms as usize - 1], Waker::noop()).is_ready());
    }
    let stats = queue.stats();
    assert_eq!(stats.fired, N);
    assert_eq!(stats.moved_out, woken_early as u64);
    assert!(
        stats.moved_out * 16 <= stats.fired,
        "{} of {N} timers moved out",
        stats.moved_out
    );
    assert!(stats.moved_out > 0, "the slab did shrink on the way down");
}
