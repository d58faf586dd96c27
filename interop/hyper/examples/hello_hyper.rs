//! hyper on looplet: a server and a client on one loop, three requests over one
//! kept-alive connection.
//!
//! ```text
//! $ cargo run -p looplet-hyper-tests --example hello_hyper
//! GET /1 -> 200 OK: hello, visitor 1
//! GET /2 -> 200 OK: hello, visitor 2
//! GET /3 -> 200 OK: hello, visitor 3
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use looplet::net::{TcpListener, TcpStream};
use looplet_hyper_tests::{HyperIo, LoopletTimer};

async fn hello(
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let visitor = request.uri().path().trim_start_matches('/').to_string();
    Ok(Response::new(Full::new(Bytes::from(format!(
        "hello, visitor {visitor}"
    )))))
}

fn main() {
    looplet::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = looplet::create_task(async move {
            loop {
                let (stream, _) = listener.accept().await?;
                drop(looplet::create_task(
                    hyper::server::conn::http1::Builder::new()
                        .timer(LoopletTimer)
                        .serve_connection(HyperIo::new(stream), hyper::service::service_fn(hello)),
                ));
            }
            #[allow(unreachable_code)]
            std::io::Result::Ok(())
        });

        let stream = TcpStream::connect(addr).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(HyperIo::new(stream)).await?;
        drop(looplet::create_task(connection));
        for visitor in 1..=3 {
            let request = Request::get(format!("/{visitor}"))
                .header("host", addr.to_string())
                .body(Full::new(Bytes::new()))?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            println!(
                "GET /{visitor} -> {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        server.cancel();
        Ok::<(), Box<dyn std::error::Error>>(())
    })
    .unwrap();
}
