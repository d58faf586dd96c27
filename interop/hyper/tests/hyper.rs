//! hyper 1.x, server and client, on looplet's sockets, end to end on 127.0.0.1.

use std::cell::Cell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::AsyncReadExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use looplet::net::{TcpListener, TcpStream};
use looplet::{create_task, Runner, Task};
use looplet_hyper_tests::{HyperIo, LoopletExecutor, LoopletTimer};

/// Answers `GET /n` with `n * 2`, counting requests.
async fn double(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let n: u64 = request.uri().path()[1..].parse().unwrap_or(0);
    Ok(Response::new(Full::new(Bytes::from((n * 2).to_string()))))
}

/// A hyper server on a fresh port; `accepted` counts its connections.
async fn start_server(accepted: Rc<Cell<usize>>) -> (SocketAddr, Task<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = create_task(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            accepted.set(accepted.get() + 1);
            drop(create_task(async move {
                let service = hyper::service::service_fn(double);
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(LoopletTimer)
                    .serve_connection(HyperIo::new(stream), service)
                    .await;
            }));
        }
    });
    (addr, server)
}

#[test]
fn hyper_serves_and_fetches_many_requests_on_one_kept_alive_connection() {
    looplet::run(async {
        let accepted = Rc::new(Cell::new(0));
        let (addr, server) = start_server(accepted.clone()).await;
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
            .await
            .unwrap();
        let connection = create_task(connection);
        for n in 0..50u64 {
            let request = Request::get(format!("/{n}"))
                .header("host", addr.to_string())
                .body(Full::new(Bytes::new()))
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, (n * 2).to_string());
        }
        assert_eq!(
            accepted.get(),
            1,
            "keep-alive: one connection for every request"
        );
        drop(sender);
        connection.await.unwrap().unwrap(); // the client's side ends cleanly
        server.cancel();
    });
}

#[test]
fn concurrent_hyper_clients_are_served_on_one_loop() {
    looplet::run(async {
        let accepted = Rc::new(Cell::new(0));
        let (addr, server) = start_server(accepted.clone()).await;
        let clients: Vec<_> = (0..10u64)
            .map(|client| {
                create_task(async move {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    let (mut sender, connection) =
                        hyper::client::conn::http1::handshake(HyperIo::new(stream))
                            .await
                            .unwrap();
                    drop(create_task(connection));
                    let mut sum = 0;
                    for round in 0..10 {
                        let n = client * 100 + round;
                        let request = Request::get(format!("/{n}"))
                            .body(Full::new(Bytes::new()))
                            .unwrap();
                        let response = sender.send_request(request).await.unwrap();
                        let body = response.into_body().collect().await.unwrap().to_bytes();
                        sum += std::str::from_utf8(&body).unwrap().parse::<u64>().unwrap();
                    }
                    sum
                })
            })
            .collect();
        let mut total = 0;
        for client in clients {
            total += client.await.unwrap();
        }
        let expected: u64 = (0..10u64)
            .flat_map(|c| (0..10).map(move |r| 2 * (c * 100 + r)))
            .sum();
        assert_eq!(total, expected);
        assert_eq!(accepted.get(), 10);
        server.cancel();
    });
}

#[test]
fn hyper_times_out_a_silent_client_on_the_loop_clock() {
    let mut runner = Runner::builder().virtual_clock(true).build();
    let start = runner.clock().now();
    let outcome = runner.run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = create_task(async move {
            let (stream, _) = listener.accept().await.unwrap();
            hyper::server::conn::http1::Builder::new()
                .timer(LoopletTimer)
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(HyperIo::new(stream), hyper::service::service_fn(double))
                .await
        });
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut buf = Vec::new();
        silent.read_to_end(&mut buf).await.unwrap(); // the server hangs up
        server.await.unwrap()
    });
    let error = outcome.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert_eq!(runner.clock().now() - start, Duration::from_secs(30));
}

#[test]
fn hyper_background_futures_run_as_looplet_tasks() {
    looplet::run(async {
        let ran = Rc::new(Cell::new(false));
        let flag = ran.clone();
        hyper::rt::Executor::execute(&LoopletExecutor, async move { flag.set(true) });
        assert!(!ran.get(), "spawned, not run inline");
        looplet::yield_now().await;
        assert!(ran.get());
    });
}
