//! A panic in a handler becomes a 500 with the contract's error body (and a log line with
//! the panic's message under the request id), instead of a connection reset with no answer.
//! A panic is always a bug; this only makes it answer like one.

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;

use crate::error::ApiError;

pub(crate) async fn catch(request: Request, next: Next) -> Response {
    // Unwind safety: nothing the failed handler held is looked at again; shared state is
    // behind locks that poison or engines that stand alone.
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            ApiError::internal(format!("handler panicked: {message}")).into_response()
        }
    }
}
