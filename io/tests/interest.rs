//! Interest: readiness wakes exactly the tasks waiting on that source and direction, a
//! dropped I/O future leaves nothing behind, and a socket refuses another loop.

mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::Arc;

use looplet_executor::{create_task, run, yield_now, Runner};
use looplet_io::Async;
use support::{count_polls, poll_once, CountingWaker};

/// A connected pair of non-blocking Unix streams, registered with the running loop.
fn pair() -> (Async<StdUnixStream>, Async<StdUnixStream>) {
    let (a, b) = StdUnixStream::pair().unwrap();
    (Async::new(a).unwrap(), Async::new(b).unwrap())
}

async fn read_some(socket: &Async<StdUnixStream>) -> Vec<u8> {
    let mut buf = [0; 64];
    let n = socket.read_with(|mut s| s.read(&mut buf)).await.unwrap();
    buf[..n].to_vec()
}

#[test]
fn readiness_of_one_socket_wakes_only_its_reader() {
    run(async {
        let (a1, b1) = pair();
        let (a2, b2) = pair();
        let (reader1, polls1) = count_polls(async move { read_some(&a1).await });
        let (reader2, polls2) = count_polls(async move { read_some(&a2).await });
        let reader1 = create_task(reader1);
        let reader2 = create_task(reader2);
        yield_now().await; // both readers wait on the poller now
        assert_eq!((polls1.get(), polls2.get()), (1, 1));
        b1.write_with(|mut s| s.write(b"one")).await.unwrap();
        assert_eq!(reader1.await.unwrap(), b"one");
        assert_eq!(polls1.get(), 2);
        assert_eq!(polls2.get(), 1, "the other socket's reader was woken");
        b2.write_with(|mut s| s.write(b"two")).await.unwrap();
        assert_eq!(reader2.await.unwrap(), b"two");
    });
}

#[test]
fn readiness_in_one_direction_does_not_wake_the_other() {
    run(async {
        let (a, b) = pair();
        // Fill `a`'s buffer, so that a writer on it has to wait.
        let chunk = [0u8; 4096];
        while a.get_ref().write(&chunk).is_ok() {}
        let a = std::rc::Rc::new(a);
        let (writer, writer_polls) = count_polls({
            let a = a.clone();
            async move { a.write_with(|mut s| s.write(b"x")).await.unwrap() }
        });
        let (reader, reader_polls) = count_polls({
            let a = a.clone();
            async move { read_some(&a).await }
        });
        let writer = create_task(writer);
        let reader = create_task(reader);
        yield_now().await;
        assert_eq!((writer_polls.get(), reader_polls.get()), (1, 1));
        b.get_ref().write_all(b"for a").unwrap(); // `a` readable, still not writable
        assert_eq!(reader.await.unwrap(), b"for a");
        assert_eq!(writer_polls.get(), 1, "a read event woke the writer");
        // Draining `b` makes room: now the writer runs.
        let mut sink = vec![0; 1 << 20];
        while b.get_ref().read(&mut sink).is_ok() {}
        assert_eq!(writer.await.unwrap(), 1);
    });
}

#[test]
fn dropping_a_pending_read_removes_its_waker_from_the_reactor() {
    run(async {
        let (a, b) = pair();
        let (counter, waker) = CountingWaker::new();
        let mut read = Box::pin(read_some(&a));
        assert!(poll_once(read.as_mut(), &waker).is_pending());
        assert_eq!(a.waiting_wakers(), (1, 0));
        drop(read);
        assert_eq!(a.waiting_wakers(), (0, 0));
        drop(waker);
        assert_eq!(Arc::strong_count(&counter), 1, "the reactor kept a clone");
        // Readiness after the drop wakes nobody, and the socket still works.
        b.get_ref().write_all(b"later").unwrap();
        yield_now().await;
        assert_eq!(counter.wakes.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(read_some(&a).await, b"later");
    });
}

#[test]
fn dropping_a_pending_readable_removes_its_waker_too() {
    run(async {
        let (a, _b) = pair();
        let (_counter, waker) = CountingWaker::new();
        let mut readable = Box::pin(a.readable());
        assert!(poll_once(readable.as_mut(), &waker).is_pending());
        assert_eq!(a.waiting_wakers(), (1, 0));
        drop(readable);
        assert_eq!(a.waiting_wakers(), (0, 0));
    });
}

#[test]
fn readable_completes_for_data_that_was_already_there() {
    run(async {
        let (a, b) = pair();
        b.get_ref().write_all(b"early").unwrap();
        yield_now().await;
        a.readable().await.unwrap(); // a level check, not a wait for a new edge
        a.readable().await.unwrap(); // still readable: nothing was read
        assert_eq!(read_some(&a).await, b"early");
        a.writable().await.unwrap();
    });
}

#[test]
fn a_socket_used_on_another_loop_is_an_error_naming_the_fix() {
    let mut first = Runner::new();
    let (a, _b) = first.run(async { pair() });
    let mut second = Runner::new();
    let error = second.run(async { a.readable().await.unwrap_err() });
    assert!(error.to_string().contains("another event loop"), "{error}");
    drop(first); // the socket still deregisters cleanly from its own reactor
    drop(a);
}

#[test]
fn making_an_async_without_a_loop_panics_with_a_message_naming_the_fix() {
    let (a, _b) = StdUnixStream::pair().unwrap();
    let panic = std::panic::catch_unwind(|| Async::new(a)).unwrap_err();
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(message.contains("looplet::run"), "{message}");
}

#[test]
fn a_regular_file_cannot_be_registered_and_says_so() {
    run(async {
        let file = std::fs::File::open("/proc/self/status")
            .or_else(|_| std::fs::File::open(std::env::current_exe().unwrap()))
            .unwrap();
        assert!(Async::new(file).is_err());
    });
}
