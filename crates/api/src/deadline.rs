//! The request timeout: an answer must start within `request_timeout_secs` (reading the
//! body included), or the request fails with 503 and its work is dropped. Streams of events
//! answer their headers at once and then run as long as the client stays.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use roost_service::ServiceError;

use crate::error::ApiError;

/// How long a request may take to start its answer.
#[derive(Clone, Copy)]
pub(crate) struct Deadline(pub Duration);

pub(crate) async fn enforce(
    State(Deadline(limit)): State<Deadline>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let err = ServiceError::Unavailable(format!("the request took longer than {limit:?}"));
            ApiError::from(err).into_response()
        }
    }
}
