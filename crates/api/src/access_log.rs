//! The access log: one JSON line per request, without the cost of a line per request.
//!
//! At thousands of requests a second, formatting and writing a line for every answer took
//! 6% of a feed page's CPU (profiled with `perf`). So an ordinary answer is logged at
//! `debug` (on with `ROOST_LOG=debug`), while what an operator must see is logged by
//! default: server errors at `error`, slow answers at `warn`, refusals at `info`.

use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Answers slower than this are worth a line even when all is well.
const SLOW: Duration = Duration::from_millis(500);

pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let response = next.run(request).await;
    let micros = started.elapsed().as_micros() as u64;
    let status = response.status().as_u16();
    let path = uri.path();
    if status >= 500 {
        tracing::error!(%method, path, status, micros, "request failed");
    } else if micros >= SLOW.as_micros() as u64 {
        tracing::warn!(%method, path, status, micros, "slow request");
    } else if status >= 400 {
        tracing::info!(%method, path, status, micros, "request refused");
    } else {
        tracing::debug!(%method, path, status, micros, "request");
    }
    response
}
