//! Remote wakes end a park on the poller: the loop waits in `Poller::wait`, and another
//! thread's wake (a `Waker`, or a `Handle` job) reaches it through `Poller::notify`.
//!
//! The other thread pauses before it wakes so that the loop is parked by then; the test
//! checks what happened (the wake arrived, the loop parked), not how long it took. A
//! real-clock `timeout` turns a lost wake into a failure instead of a hang.

use std::os::unix::net::UnixStream as StdUnixStream;
use std::time::Duration;

use looplet_executor::{handle, Runner};
use looplet_io::Async;
use looplet_timer::timeout;

const PAUSE: Duration = Duration::from_millis(30);
const GUARD: Duration = Duration::from_secs(20);

#[test]
fn a_waker_used_on_another_thread_ends_a_park_on_the_poller() {
    let mut runner = Runner::new();
    let outcome = runner.run(async {
        let (a, _b) = StdUnixStream::pair().unwrap();
        let _socket = Async::new(a).unwrap(); // the loop parks on the poller from now on
        let (tx, rx) = futures_channel::oneshot::channel();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(PAUSE);
            tx.send(7).unwrap();
        });
        let outcome = timeout(GUARD, rx).await;
        thread.join().unwrap();
        outcome
    });
    assert_eq!(outcome.expect("the wake was lost").unwrap(), 7);
    let stats = runner.stats();
    assert!(stats.parks >= 1, "the loop never parked: {stats:?}");
    assert!(stats.remote_wakes >= 1, "{stats:?}");
}

#[test]
fn a_job_from_a_handle_ends_a_park_on_the_poller() {
    let mut runner = Runner::new();
    let outcome = runner.run(async {
        let (a, _b) = StdUnixStream::pair().unwrap();
        let _socket = Async::new(a).unwrap();
        let (tx, rx) = futures_channel::oneshot::channel();
        let handle = handle();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(PAUSE);
            let _job = handle.spawn(async move { tx.send("from the job").unwrap() });
        });
        let outcome = timeout(GUARD, rx).await;
        thread.join().unwrap();
        outcome
    });
    assert_eq!(outcome.expect("the job was lost").unwrap(), "from the job");
    assert!(runner.stats().parks >= 1);
}
