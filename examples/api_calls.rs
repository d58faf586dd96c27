//! Why asyncio exists: API calls where most of the time is spent waiting.
//!
//! The tutorial opens with a project that went from 30 minutes to under 5 by making its API
//! calls concurrent. This is that, small and for real: a local HTTP server on 127.0.0.1
//! whose every response takes a fixed latency (a `looplet::sleep`, standing in for a slow
//! API), then ten fetches one after the other, then the same ten concurrently in a
//! `TaskGroup`, each under its own `timeout`. One loop, one thread, real sockets: while a
//! call waits for its response the loop serves the others.
//!
//! ```text
//! $ cargo run --example api_calls
//! sequential: GET /quote/0 -> 200 "quote 0"
//! ...
//! concurrent: GET /quote/9 -> 200 "quote 9"
//! sequential 2.0 s, concurrent 0.2 s (9.9x faster)
//! ```
//!
//! The HTTP is the least a client and server need (HTTP/1.1, one request per connection,
//! `Content-Length` bodies), written over `looplet::net` so the example needs no HTTP
//! crate; `interop/hyper` runs hyper on the same sockets.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use futures_util::{AsyncReadExt, AsyncWriteExt};
use looplet::net::{TcpListener, TcpStream};
use looplet::{create_task, BoxError, Runner, TaskGroup};

/// How long the server takes to answer each call.
const LATENCY: Duration = Duration::from_millis(200);
/// How many calls each round makes.
const CALLS: usize = 10;
/// The most one call may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

fn main() {
    let mut runner = Runner::new();
    api_calls(&mut runner);
}

/// Runs both rounds against a fresh server on `runner` and prints the comparison.
pub fn api_calls(runner: &mut Runner) {
    let timing = runner
        .run(compare(CALLS, LATENCY, true))
        .expect("the local server answers every call");
    println!("{timing}");
}

/// The two rounds' durations, on the loop's clock.
pub struct Timing {
    pub sequential: Duration,
    pub concurrent: Duration,
}

impl Timing {
    pub fn speedup(&self) -> f64 {
        self.sequential.as_secs_f64() / self.concurrent.as_secs_f64()
    }
}

impl std::fmt::Display for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sequential {:.1} s, concurrent {:.1} s ({:.1}x faster)",
            self.sequential.as_secs_f64(),
            self.concurrent.as_secs_f64(),
            self.speedup()
        )
    }
}

/// Starts a server answering after `latency`, makes `calls` calls one after the other and
/// then concurrently (printing each response if `verbose`), and times both rounds.
pub async fn compare(calls: usize, latency: Duration, verbose: bool) -> Result<Timing, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = create_task(serve(listener, latency));

    let start = looplet::now();
    for i in 0..calls {
        let path = format!("/quote/{i}");
        let (status, body) = get(addr, &path).await?;
        if verbose {
            println!("sequential: GET {path} -> {status} {body:?}");
        }
    }
    let sequential = looplet::now() - start;

    let start = looplet::now();
    let responses = Rc::new(RefCell::new(Vec::new()));
    TaskGroup::scope(|tg| {
        let responses = responses.clone();
        async move {
            for i in 0..calls {
                let responses = responses.clone();
                tg.create_fallible(async move {
                    let path = format!("/quote/{i}");
                    let (status, body) = looplet::timeout(CALL_TIMEOUT, get(addr, &path)).await??;
                    responses.borrow_mut().push((path, status, body));
                    Ok::<(), BoxError>(())
                });
            }
            Ok(())
        }
    })
    .await?;
    let concurrent = looplet::now() - start;
    if verbose {
        for (path, status, body) in responses.borrow().iter() {
            println!("concurrent: GET {path} -> {status} {body:?}");
        }
    }

    server.cancel();
    Ok(Timing {
        sequential,
        concurrent,
    })
}

/// The server: accepts forever, one task per connection.
async fn serve(listener: TcpListener, latency: Duration) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // Detached: each connection ends by itself after one response.
                drop(create_task(respond(stream, latency)));
            }
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
}

/// Reads one request, waits `latency`, answers with a quote named after the path.
async fn respond(mut stream: TcpStream, latency: Duration) -> std::io::Result<()> {
    let request = read_head(&mut stream).await?;
    let path = request
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or("/");
    let body = format!("quote {}", path.rsplit('/').next().unwrap_or(""));
    looplet::sleep(latency).await; // the slow part of a real API
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.close().await
}

/// The client: one `GET` on a fresh connection; returns the status code and the body.
async fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), BoxError> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?; // the server closes after its answer
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("the response has no end of headers")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or("the response has no status code")?;
    Ok((status, body.to_string()))
}

/// Reads up to the blank line that ends a request's head (this server's requests have no
/// body).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break; // the client gave up
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > 64 * 1024 {
            return Err(std::io::Error::other("request head over 64 KiB"));
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}
