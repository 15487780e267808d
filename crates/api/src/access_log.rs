//! The access log: one JSON line per request, without the cost of a line per request.
//!
//! At thousands of requests a second, formatting and writing a line for every answer took
//! 6% of a feed page's CPU (profiled with `perf`). So an ordinary answer is logged at
//! `debug` (on with `ROOST_LOG=debug`), while what an operator must see is logged by
//! default: server errors at `error`, slow answers at `warn`, refusals at `info`.
//!
//! Every request gets an id, answered in `X-Request-Id` and written in its log line (and in
//! the detail line of a server error, see `error`), so a client's report leads to the log.
//! Logged: method, path (never the query string, which may carry a token), status, time,
//! request id. Never: headers, bodies, passwords, tokens.

use std::time::{Duration, Instant};

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

tokio::task_local! {
    /// The id of the request being handled, for the error mapping's log line.
    static REQUEST_ID: String;
}

/// Request ids are this process's own prefix (an id, so unique across instances) and a
/// counter: cheaper per request than a fresh id.
static ID_PREFIX: LazyLock<String> = LazyLock::new(roost_service::ids::new_id);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn new_request_id() -> String {
    format!("{}-{}", *ID_PREFIX, NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// The id of the request this task is handling, if any.
pub(crate) fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(String::clone).ok()
}

/// Runs `work` as the handling of request `id`.
pub(crate) async fn with_request_id<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// Answers slower than this are worth a line even when all is well.
const SLOW: Duration = Duration::from_millis(500);

pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let id = new_request_id();
    let mut response = with_request_id(id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let micros = started.elapsed().as_micros() as u64;
    let status = response.status().as_u16();
    let path = uri.path();
    if status >= 500 {
        tracing::error!(%method, path, status, micros, request_id = %id, "request failed");
    } else if micros >= SLOW.as_micros() as u64 {
        tracing::warn!(%method, path, status, micros, request_id = %id, "slow request");
    } else if status >= 400 {
        tracing::info!(%method, path, status, micros, request_id = %id, "request refused");
    } else {
        tracing::debug!(%method, path, status, micros, request_id = %id, "request");
    }
    response
}
