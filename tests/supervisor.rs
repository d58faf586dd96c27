//! Structured concurrency beyond asyncio, through the facade: a supervisor group whose
//! workers fail independently, and `start()` handing back the address a server bound
//! before the caller connects to it.

use std::time::Duration;

use futures_util::{AsyncReadExt, AsyncWriteExt};
use looplet::net::{TcpListener, TcpStream};
use looplet::{sleep, BoxError, Runner, Started, TaskGroup};

#[test]
fn a_supervisor_keeps_its_healthy_workers_running_and_reports_every_failure() {
    let mut runner = Runner::builder().virtual_clock(true).build();
    let began = runner.clock().now();
    let outcome = runner.run(TaskGroup::supervise(|tg| async move {
        let mut healthy = Vec::new();
        for id in 0..4_u64 {
            let worker = tg.builder().name(format!("worker-{id}"));
            if id % 2 == 1 {
                worker.create_fallible(async move {
                    sleep(Duration::from_secs(id)).await;
                    Err::<(), BoxError>(format!("worker {id} failed").into())
                });
            } else {
                healthy.push(worker.create_task(async move {
                    sleep(Duration::from_secs(10 + id)).await;
                    id
                }));
            }
        }
        let mut done = Vec::new();
        for worker in healthy {
            done.push(worker.await?);
        }
        assert_eq!(done, [0, 2], "the failures cancelled no healthy worker");
        Ok(())
    }));
    let errors: Vec<String> = outcome.unwrap_err().iter().map(|e| e.to_string()).collect();
    assert_eq!(errors, ["worker 1 failed", "worker 3 failed"]);
    assert_eq!(runner.clock().now() - began, Duration::from_secs(12));
}

/// A server started with `start` reports the port it bound; the caller connects only then,
/// and the server keeps serving in the group.
#[test]
fn start_hands_back_the_address_a_server_bound_before_the_caller_connects() {
    let reply = looplet::run(TaskGroup::scope(|tg| async move {
        let address = tg
            .builder()
            .name("echo-server")
            .start(|started: Started<std::net::SocketAddr>| async move {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                started.started(listener.local_addr()?);
                let (mut stream, _) = listener.accept().await?;
                let mut buf = [0; 5];
                stream.read_exact(&mut buf).await?;
                stream.write_all(&buf).await?;
                Ok::<_, std::io::Error>(())
            })
            .await?;
        assert_ne!(address.port(), 0, "the real port the server bound");
        let mut client = TcpStream::connect(address).await?;
        client.write_all(b"hello").await?;
        let mut reply = [0; 5];
        client.read_exact(&mut reply).await?;
        Ok(reply)
    }));
    assert_eq!(&reply.unwrap(), b"hello");
}

#[test]
fn a_server_that_cannot_bind_reports_the_error_to_the_caller_which_may_carry_on() {
    let outcome = looplet::run(TaskGroup::scope(|tg| async move {
        let taken = TcpListener::bind("127.0.0.1:0").await?;
        let address = taken.local_addr()?;
        let failed = tg
            .start(move |started: Started<std::net::SocketAddr>| async move {
                // The port is taken: binding fails before the server has started.
                let listener = TcpListener::bind(address).await?;
                started.started(listener.local_addr()?);
                Ok::<_, std::io::Error>(())
            })
            .await
            .unwrap_err();
        assert!(failed.is_failed());
        let io_error = failed.into_error().unwrap();
        let io_error = io_error.downcast_ref::<std::io::Error>().unwrap();
        assert_eq!(io_error.kind(), std::io::ErrorKind::AddrInUse);
        drop(taken);
        Ok("carried on")
    }));
    assert_eq!(outcome.unwrap(), "carried on");
}
