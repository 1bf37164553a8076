//! The benchmark's ceiling: the least an HTTP server built on the same stack
//! as Keyward (tokio, hyper, hyper-util's auto HTTP/1 + HTTP/2 connection
//! builder) can do per request. `scripts/bench` loads it beside Keyward and
//! reports each figure as a ratio to it.
//!
//! Usage: `hello [ADDR]` (default `127.0.0.1:8099`); prints `listening on
//! ADDR` once bound, then answers every request with `200 hello`.

use std::convert::Infallible;

use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("hello".to_owned()))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8099".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service_fn(hello))
                .await;
        });
    }
}
