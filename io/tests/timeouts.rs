//! Timeouts and cancellation on I/O, on the virtual clock: like on anything else.

use std::io::Read;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::time::Duration;

use futures_util::{AsyncReadExt, AsyncWriteExt};
use looplet_executor::{create_task, yield_now, Runner};
use looplet_io::net::{TcpListener, UnixStream};
use looplet_io::Async;
use looplet_timer::{sleep, timeout};

fn virtual_runner() -> Runner {
    Runner::builder().virtual_clock(true).build()
}

#[test]
fn a_timeout_around_a_read_that_never_completes_elapses_in_virtual_time() {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let (result, wakers) = runner.run(async {
        let (a, _b) = StdUnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        let mut buf = [0; 8];
        let read = a.read_with(|mut s| s.read(&mut buf));
        let result = timeout(Duration::from_secs(3600), read).await;
        (result.is_err(), a.waiting_wakers())
    });
    assert!(result, "the read cannot complete: nobody writes");
    assert_eq!(runner.clock().now() - start, Duration::from_secs(3600));
    assert_eq!(
        wakers,
        (0, 0),
        "the timed-out read left its interest behind"
    );
}

#[test]
fn data_written_by_another_task_after_a_sleep_arrives_before_the_timeout() {
    let mut runner = virtual_runner();
    let start = runner.clock().now();
    let got = runner.run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let writer = create_task(async move {
            sleep(Duration::from_secs(1)).await;
            b.write_all(b"on time").await.unwrap();
            b
        });
        let mut buf = [0; 7];
        timeout(Duration::from_secs(2), a.read_exact(&mut buf))
            .await
            .expect("both ends are on the loop: served before the clock moves")
            .unwrap();
        drop(writer.await.unwrap());
        buf
    });
    assert_eq!(&got, b"on time");
    assert_eq!(runner.clock().now() - start, Duration::from_secs(1));
}

#[test]
fn cancelling_a_task_blocked_in_accept_leaves_the_listener_usable() {
    let mut runner = virtual_runner();
    runner.run(async {
        let listener = std::rc::Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let blocked = {
            let listener = listener.clone();
            create_task(async move { listener.accept().await.map(|_| ()) })
        };
        yield_now().await;
        assert!(blocked.cancel());
        assert!(blocked.await.unwrap_err().is_cancelled());
        let client = looplet_io::net::TcpStream::connect(addr).await.unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        drop(server);
    });
}
