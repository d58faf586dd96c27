//! TCP: accept and connect, a closed peer reads as end of stream, a reset peer is an
//! error (never a hang), and the stream's small controls.

use std::io;
use std::net::Shutdown;
use std::time::Duration;

use futures_util::{AsyncReadExt, AsyncWriteExt};
use looplet_executor::{create_task, run};
use looplet_io::net::{TcpListener, TcpStream};

/// A connected pair on 127.0.0.1: (client, server side).
async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, peer) = listener.accept().await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(client.peer_addr().unwrap(), listener.local_addr().unwrap());
    (client, server)
}

/// Makes dropping `stream` send a reset instead of a graceful close.
fn reset_on_drop(stream: &TcpStream) {
    rustix::net::sockopt::set_socket_linger(stream, Some(Duration::ZERO)).unwrap();
}

#[test]
fn a_read_after_the_peer_closes_returns_zero() {
    run(async {
        let (mut client, server) = connected_pair().await;
        drop(server);
        let mut buf = [0; 8];
        assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn a_pending_read_ends_with_zero_when_the_peer_closes() {
    run(async {
        let (mut client, server) = connected_pair().await;
        let reader = create_task(async move {
            let mut buf = [0; 8];
            client.read(&mut buf).await
        });
        looplet_executor::yield_now().await; // the reader is waiting on the poller now
        drop(server);
        assert_eq!(reader.await.unwrap().unwrap(), 0);
    });
}

#[test]
fn a_pending_read_fails_when_the_peer_resets_the_connection() {
    run(async {
        let (mut client, server) = connected_pair().await;
        let reader = create_task(async move {
            let mut buf = [0; 8];
            client.read(&mut buf).await
        });
        looplet_executor::yield_now().await;
        reset_on_drop(&server);
        drop(server);
        let error = reader.await.unwrap().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}");
    });
}

#[test]
fn writing_to_a_peer_that_reset_fails_instead_of_hanging() {
    run(async {
        let (mut client, server) = connected_pair().await;
        reset_on_drop(&server);
        drop(server);
        let chunk = [7u8; 64 * 1024];
        let mut outcome = Ok(());
        for _ in 0..64 {
            outcome = client.write_all(&chunk).await;
            if outcome.is_err() {
                break;
            }
        }
        let error = outcome.unwrap_err();
        assert!(
            matches!(
                error.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{error}"
        );
    });
}

#[test]
fn connecting_to_a_port_nobody_listens_on_is_refused() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let error = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{error}");
    });
}

#[test]
fn shutting_down_the_writing_half_sends_end_of_stream_and_keeps_reading() {
    run(async {
        let (mut client, mut server) = connected_pair().await;
        client.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert!(got.is_empty());
        server.write_all(b"still open").await.unwrap();
        drop(server);
        let mut reply = String::new();
        client.read_to_string(&mut reply).await.unwrap();
        assert_eq!(reply, "still open");
    });
}

#[test]
fn nodelay_can_be_set_and_read_back() {
    run(async {
        let (client, _server) = connected_pair().await;
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.set_nodelay(false).unwrap();
        assert!(!client.nodelay().unwrap());
    });
}

#[test]
fn a_shared_stream_reads_in_one_task_while_another_writes() {
    run(async {
        let (client, mut server) = connected_pair().await;
        let client = std::rc::Rc::new(client);
        let reader = {
            let client = client.clone();
            create_task(async move {
                let mut buf = vec![0; 5];
                (&*client).read_exact(&mut buf).await.unwrap();
                buf
            })
        };
        (&*client).write_all(b"ping!").await.unwrap();
        let mut buf = [0; 5];
        server.read_exact(&mut buf).await.unwrap();
        server.write_all(&buf).await.unwrap();
        assert_eq!(reader.await.unwrap(), b"ping!");
    });
}

#[test]
fn a_large_transfer_arrives_whole_through_full_buffers() {
    run(async {
        let (mut client, mut server) = connected_pair().await;
        let data: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        let writer = create_task(async move {
            client.write_all(&data).await.unwrap();
            client.close().await.unwrap();
        });
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert!(got == expected, "{} bytes of {}", got.len(), expected.len());
    });
}
