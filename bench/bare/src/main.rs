//! The "bare axum" reference of `bench/`: `GET /` answers a static JSON body, nothing else.
//!
//! Usage: `ipmat-bare-bench ADDR [BODY_FILE]`. The body is read once at start (the load
//! scripts pass a saved `GET /api/v1/books` answer so that both serve the same bytes); without
//! a file it is 4096 bytes of `x`. Runs on a default multi-thread Tokio runtime, as ipmat does.

use axum::Router;
use axum::http::header;
use axum::routing::get;
use bytes::Bytes;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8088".to_owned());
    let body = match args.next() {
        Some(path) => Bytes::from(std::fs::read(&path).unwrap_or_else(|e| {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2)
        })),
        None => Bytes::from(vec![b'x'; 4096]),
    };
    let len = body.len();
    let app = Router::new().route(
        "/",
        get(move || {
            let body = body.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                    body,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|e| {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(2)
        });
    eprintln!("bare axum on {addr}, body of {len} bytes");
    axum::serve(listener, app).await.expect("server error");
}
