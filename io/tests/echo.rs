//! A TCP echo of 50 clients × 200 round trips, all on one loop on one thread.
//!
//! This file holds one test so that no other test's thread runs beside it: the thread
//! count the loop sees is the test's thread plus libtest's main thread, and it must not
//! grow while the echo runs (the reactor has no helper thread).

use futures_util::{AsyncReadExt, AsyncWriteExt};
use looplet_executor::{create_task, Runner};
use looplet_io::net::{TcpListener, TcpStream};

const CLIENTS: usize = 50;
const ROUND_TRIPS: usize = 200;

/// Threads in this process (Linux: `/proc/self/task`), `None` elsewhere.
fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task")
        .ok()
        .map(|dir| dir.count())
}

#[test]
fn fifty_clients_echo_two_hundred_round_trips_each_on_one_thread() {
    let threads_before = thread_count();
    let mut runner = Runner::new();
    let (echoed, threads_during) = runner.run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = create_task(async move {
            let mut handlers = Vec::new();
            for _ in 0..CLIENTS {
                let (mut stream, _) = listener.accept().await.unwrap();
                handlers.push(create_task(async move {
                    let mut buf = [0; 64];
                    loop {
                        let n = stream.read(&mut buf).await.unwrap();
                        if n == 0 {
                            break; // the client closed
                        }
                        stream.write_all(&buf[..n]).await.unwrap();
                    }
                }));
            }
            for handler in handlers {
                handler.await.unwrap();
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                create_task(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    let mut echoed = 0;
                    for round in 0..ROUND_TRIPS {
                        let message = format!("client {client:02} round {round:03}");
                        stream.write_all(message.as_bytes()).await.unwrap();
                        let mut reply = vec![0; message.len()];
                        stream.read_exact(&mut reply).await.unwrap();
                        assert_eq!(reply, message.as_bytes());
                        echoed += 1;
                    }
                    stream.close().await.unwrap();
                    echoed
                })
            })
            .collect();
        let mut echoed = 0;
        let mut threads_during = thread_count();
        for client in clients {
            echoed += client.await.unwrap();
            threads_during = threads_during.max(thread_count());
        }
        server.await.unwrap();
        (echoed, threads_during)
    });
    assert_eq!(echoed, CLIENTS * ROUND_TRIPS);
    assert_eq!(
        threads_during, threads_before,
        "the reactor started a thread"
    );
    let stats = runner.stats();
    assert!(
        stats.io_events >= (CLIENTS * ROUND_TRIPS) as u64,
        "every round trip waits on the poller at least once: {stats:?}"
    );
}
