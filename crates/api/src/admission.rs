//! Admission control: at most `max_in_flight` requests are handled at once; one more is
//! shed at once with 503 and `Retry-After` instead of queueing, so that under overload the
//! requests admitted stay fast and memory stays bounded (a queue would only grow, and
//! every request in it would time out anyway). Liveness, readiness and metrics are never
//! shed: an orchestrator must see an overloaded instance as alive, and an operator must see
//! why it sheds.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// The paths that are always admitted.
const EXEMPT: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The permits of requests in flight.
#[derive(Clone)]
pub(crate) struct InFlight(pub Arc<Semaphore>);

impl InFlight {
    pub(crate) fn new(limit: usize) -> Self {
        metrics::describe_counter!(
            "roost_http_shed_total",
            "Requests shed at once (503) at the limit of requests in flight"
        );
        InFlight(Arc::new(Semaphore::new(limit.max(1))))
    }
}

pub(crate) async fn admit(
    State(InFlight(permits)): State<InFlight>,
    request: Request,
    next: Next,
) -> Response {
    if EXEMPT.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    match permits.try_acquire_owned() {
        Ok(_permit) => next.run(request).await,
        Err(_) => {
            metrics::counter!("roost_http_shed_total").increment(1);
            ApiError::overloaded().into_response()
        }
    }
}
