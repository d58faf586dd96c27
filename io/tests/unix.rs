//! Unix-domain sockets: a listener and its streams, pairs, datagrams by path.

use std::io;
use std::path::PathBuf;

use futures_util::{AsyncReadExt, AsyncWriteExt};
use looplet_executor::{create_task, run};
use looplet_io::net::{UnixDatagram, UnixListener, UnixStream};

/// A fresh socket path in a new temporary directory (removed on drop).
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> TempPath {
        let dir = std::env::temp_dir().join(format!(
            "looplet-io-{}-{}-{name}",
            std::process::id(),
            std::thread::current()
                .name()
                .unwrap_or("t")
                .replace("::", "-")
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        TempPath(dir)
    }

    fn join(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_unix_listener_accepts_a_connection_and_echoes() {
    let dir = TempPath::new("listener");
    let path = dir.join("echo.sock");
    run(async {
        let listener = UnixListener::bind(&path).unwrap();
        let server = create_task(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 32];
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).await.unwrap();
            }
        });
        let mut client = UnixStream::connect(&path).await.unwrap();
        for round in 0..50 {
            let message = format!("round {round}");
            client.write_all(message.as_bytes()).await.unwrap();
            let mut reply = vec![0; message.len()];
            client.read_exact(&mut reply).await.unwrap();
            assert_eq!(reply, message.as_bytes());
        }
        client.close().await.unwrap();
        server.await.unwrap();
    });
}

#[test]
fn connecting_to_a_missing_path_fails() {
    let dir = TempPath::new("missing");
    run(async {
        let error = UnixStream::connect(dir.join("nobody.sock"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound, "{error}");
    });
}

#[test]
fn a_stream_pair_reads_end_of_stream_after_the_other_end_drops() {
    run(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        let reader = create_task(async move {
            let mut got = Vec::new();
            a.read_to_end(&mut got).await.unwrap();
            got
        });
        (&b).write_all(b"last words").await.unwrap();
        drop(b);
        assert_eq!(reader.await.unwrap(), b"last words");
    });
}

#[test]
fn datagrams_go_by_path_and_by_connection() {
    let dir = TempPath::new("datagram");
    run(async {
        let a = UnixDatagram::bind(dir.join("a.sock")).unwrap();
        let b = UnixDatagram::bind(dir.join("b.sock")).unwrap();
        a.send_to(b"by path", dir.join("b.sock")).await.unwrap();
        let mut buf = [0; 16];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"by path");
        assert_eq!(from.as_pathname(), Some(dir.join("a.sock").as_path()));

        let (c, d) = UnixDatagram::pair().unwrap();
        let receiver = create_task(async move {
            let mut buf = [0; 16];
            let n = d.recv(&mut buf).await.unwrap();
            buf[..n].to_vec()
        });
        looplet_executor::yield_now().await;
        c.send(b"paired").await.unwrap();
        assert_eq!(receiver.await.unwrap(), b"paired");
    });
}
