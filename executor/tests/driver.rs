//! The park seam: once an I/O driver is installed, the loop waits on it instead of parking
//! its thread — remote wakes end its park through the driver's `Unpark`, the events it
//! delivers are counted, and on the virtual clock ready I/O is served before time jumps.

mod support;

use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use looplet_executor::{create_task, install_driver, stats, Driver, Unpark};
use looplet_timer::sleep;
use support::{virtual_runner, within, Trace};

/// A stand-in reactor: "I/O" is a list of wakers to wake on the next park; it blocks on a
/// condition variable that its unparker signals, and logs every park's timeout.
struct FakeReactor {
    ready: RefCell<Vec<Waker>>,
    signal: Arc<Signal>,
    log: Trace,
}

#[derive(Default)]
struct Signal {
    raised: Mutex<bool>,
    changed: Condvar,
}

impl Unpark for Signal {
    fn unpark(&self) {
        *self.raised.lock().unwrap() = true;
        self.changed.notify_one();
    }
}

impl Driver for FakeReactor {
    fn park(&self, timeout: Option<Duration>) -> usize {
        self.log.push(format!("park {timeout:?}"));
        let ready: Vec<Waker> = self.ready.borrow_mut().drain(..).collect();
        if ready.is_empty() && timeout != Some(Duration::ZERO) {
            let raised = self.signal.raised.lock().unwrap();
            let mut raised = match timeout {
                Some(timeout) => self.signal.changed.wait_timeout(raised, timeout).unwrap().0,
                None => self
                    .signal
                    .changed
                    .wait_while(raised, |raised| !*raised)
                    .unwrap(),
            };
            *raised = false;
        }
        let events = ready.len();
        for waker in ready {
            waker.wake();
        }
        events
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.signal.clone()
    }
}

fn fake_reactor(log: &Trace) -> Rc<FakeReactor> {
    let log = log.clone();
    install_driver(move || FakeReactor {
        ready: RefCell::default(),
        signal: Arc::default(),
        log,
    })
}

/// Waits for one "I/O event" from the reactor.
async fn io_ready(reactor: &FakeReactor) {
    let mut registered = false;
    poll_fn(|cx| {
        if registered {
            return Poll::Ready(());
        }
        registered = true;
        reactor.ready.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    })
    .await
}

#[test]
fn a_remote_wake_ends_a_park_on_the_driver_through_its_unparker() {
    let parks = within(Duration::from_secs(20), || {
        let log = Trace::new();
        looplet_executor::run(async {
            let _reactor = fake_reactor(&log);
            let waiter = create_task(poll_fn({
                let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
                let mut spawned = false;
                move |cx| {
                    if spawned {
                        return Poll::Ready(());
                    }
                    spawned = true;
                    *slot.lock().unwrap() = Some(cx.waker().clone());
                    let slot = slot.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(20));
                        slot.lock().unwrap().take().unwrap().wake();
                    });
                    Poll::Pending
                }
            }));
            waiter.await.unwrap();
        });
        log.events()
    });
    assert!(parks.iter().any(|park| park == "park None"), "{parks:?}");
}

#[test]
fn events_a_driver_delivers_wake_their_tasks_and_are_counted() {
    let log = Trace::new();
    let mut runner = virtual_runner();
    runner.run(async {
        let reactor = fake_reactor(&log);
        let reader = create_task({
            let reactor = reactor.clone();
            async move { io_ready(&reactor).await }
        });
        reader.await.unwrap();
        assert_eq!(stats().io_events, 1);
    });
    assert_eq!(runner.stats().io_events, 1);
}

#[test]
fn on_the_virtual_clock_ready_io_is_served_before_the_clock_jumps() {
    let log = Trace::new();
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let io_at = runner.run(async {
        let reactor = fake_reactor(&log);
        let sleeper = create_task(sleep(Duration::from_secs(10)));
        io_ready(&reactor).await;
        let io_at = looplet_timer::now();
        sleeper.await.unwrap();
        io_at
    });
    assert_eq!(
        io_at, start,
        "the I/O was served at once, not after the sleep"
    );
    assert_eq!(runner.clock().now() - start, Duration::from_secs(10));
    assert_eq!(
        log.events()[0],
        "park Some(0ns)",
        "a look at I/O, never a block"
    );
}
