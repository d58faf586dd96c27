//! One loop per core, all accepting on the same port, serving the same HTTP handler.
//!
//! A looplet loop runs on one thread. To use every core, run one loop per core — each
//! with its own listener on the same port, its own connections, its own tasks — and let
//! the kernel spread incoming connections across the listeners (`SO_REUSEPORT`). Nothing
//! is shared between the loops, so nothing is locked. (See the guide, section 3.6, for
//! when this shape fits and when a work-stealing runtime fits better.)
//!
//! By default the example checks itself: the main thread makes 200 requests (each on a
//! new connection), prints how many each loop served, then sends the process a Ctrl-C,
//! which every loop sees (`looplet::signal::ctrl_c`) and stops on. With `--serve` it
//! serves on 127.0.0.1:8080 until you press Ctrl-C.
//!
//! ```text
//! $ cargo run --example per_core
//! 2 loops on 127.0.0.1:41233
//! loop 0 served 96 requests
//! loop 1 served 104 requests
//! ```
//!
//! `SO_REUSEPORT` is set through `rustix`, the safe system-call crate looplet's poller
//! already builds on (no `unsafe`, no new dependency); `std` has no setter for it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::mpsc;
use std::thread;

use futures_util::future::{select, Either};
use futures_util::{AsyncReadExt, AsyncWriteExt};
use looplet::net::{TcpListener, TcpStream};
use rustix::net::{sockopt, AddressFamily, SocketType};

const REQUESTS: usize = 200;

fn main() {
    let serve_forever = std::env::args().nth(1).as_deref() == Some("--serve");
    let addr: SocketAddr = if serve_forever {
        "127.0.0.1:8080".parse().unwrap()
    } else {
        "127.0.0.1:0".parse().unwrap()
    };
    let loops = thread::available_parallelism().map_or(1, |n| n.get());

    // The first listener picks the port (if asked for port 0); the others join it.
    let first = reuse_port_listener(addr).expect("bind the first listener");
    let addr = first.local_addr().unwrap();
    let mut listeners = vec![first];
    for _ in 1..loops {
        listeners.push(reuse_port_listener(addr).expect("bind another listener"));
    }

    let (ready_tx, ready_rx) = mpsc::channel();
    let threads: Vec<_> = listeners
        .into_iter()
        .enumerate()
        .map(|(index, listener)| {
            let ready = ready_tx.clone();
            thread::Builder::new()
                .name(format!("loop {index}"))
                .spawn(move || looplet::run(serve_until_ctrl_c(index, listener, ready)))
                .unwrap()
        })
        .collect();
    for _ in 0..loops {
        ready_rx.recv().unwrap(); // every loop is listening for Ctrl-C now
    }
    println!("{loops} loops on {addr}");

    if !serve_forever {
        let mut served = vec![0; loops];
        for _ in 0..REQUESTS {
            served[fetch_loop_index(addr)] += 1;
        }
        // As if Ctrl-C were pressed: every loop's `ctrl_c()` sees it.
        raise_sigint();
        for (index, count) in served.iter().enumerate() {
            println!("loop {index} served {count} requests");
        }
    }
    for thread in threads {
        thread.join().unwrap();
    }
}

/// A listener on `addr` that other listeners may share (`SO_REUSEPORT`).
fn reuse_port_listener(addr: SocketAddr) -> std::io::Result<StdListener> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let socket = rustix::net::socket(family, SocketType::STREAM, None)?;
    sockopt::set_socket_reuseaddr(&socket, true)?;
    sockopt::set_socket_reuseport(&socket, true)?;
    rustix::net::bind(&socket, &addr)?;
    rustix::net::listen(&socket, 1024)?;
    Ok(StdListener::from(socket))
}

/// One loop: serves connections until Ctrl-C.
async fn serve_until_ctrl_c(index: usize, listener: StdListener, ready: mpsc::Sender<()>) {
    let listener = TcpListener::from_std(listener).unwrap();
    let ctrl_c = looplet::create_task(looplet::signal::ctrl_c());
    looplet::yield_now().await; // `ctrl_c` has registered its handler
    ready.send(()).unwrap();
    let accept = async {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => drop(looplet::create_task(handle(index, stream))),
                Err(error) => eprintln!("loop {index}: accept failed: {error}"),
            }
        }
    };
    match select(Box::pin(accept), ctrl_c).await {
        Either::Left(((), _)) => unreachable!("the accept loop never ends"),
        Either::Right((outcome, _)) => outcome.unwrap().unwrap(),
    };
}

/// The handler every loop serves: answers any request with the loop's index.
async fn handle(index: usize, mut stream: TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let body = index.to_string();
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.close().await
}

/// A blocking client (the main thread is not a loop): one request on a new connection;
/// returns the index of the loop that answered.
fn fetch_loop_index(addr: SocketAddr) -> usize {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.rsplit("\r\n\r\n").next().unwrap();
    body.parse().unwrap()
}

/// Sends this process a `SIGINT`, as Ctrl-C in a terminal would.
fn raise_sigint() {
    rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::INT).unwrap();
}
