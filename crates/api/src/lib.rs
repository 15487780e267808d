//! The HTTP layer of Roost (docs/api.md): routes, the auth extractor, request parsing, and the
//! one place where service errors become the contract's error body. Handlers are thin:
//! extract, call one service method, answer. No business rules live here.
//!
//! Around every route, from the outside in: the route metrics (which also charge the
//! request's store capacity to its route), admission control (the limit of requests in
//! flight, which sheds the rest at once), the access log (which gives the request its
//! id), CORS, security headers, the request timeout, the body limit, and the panic catcher
//! (innermost, so a panic's 500 still passes through all the others).
#![warn(missing_docs)]

mod access_log;
mod admission;
mod client;
mod config;
mod cors;
mod deadline;
#[cfg(debug_assertions)]
mod debug_routes;
mod error;
mod extract;
mod openapi;
mod panics;
mod route_metrics;
pub(crate) mod routes;
mod security_headers;
mod telemetry;
mod upload;
mod webapp;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::{Extension, Router};
use roost_service::Service;

pub use config::HttpConfig;
pub use error::{ApiError, ErrorBody};
pub use extract::JSON_MAX_BYTES;
pub use telemetry::Telemetry;

/// The whole API, ready to serve; with `metrics`, `GET /metrics` too.
pub fn router(service: Service, http: &HttpConfig, metrics: Option<Telemetry>) -> Router {
    // Uploads check the media limit themselves while streaming (and answer 413); this bounds
    // what any body may buffer, with room for a form's other fields. JSON bodies have their
    // own, much smaller cap (`extract::Json`).
    let body_limit = service.config().media_max_bytes + 1024 * 1024;
    let (routes, document) = routes::all().split_for_parts();
    #[cfg(debug_assertions)]
    let routes = debug_routes::add(routes);
    let deadline = deadline::Deadline(Duration::from_secs(http.request_timeout_secs));
    let origins = cors::Origins(Arc::new(http.cors_origin_list()));
    let in_flight = admission::InFlight::new(http.max_in_flight);
    let router = routes
        .fallback(webapp::serve)
        .layer(from_fn(panics::catch))
        .layer(Extension(openapi::Served::new(&document)))
        .layer(Extension(client::ForwardedFor { trusted: http.trust_forwarded_for }))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(deadline, deadline::enforce))
        .layer(from_fn(security_headers::add))
        .layer(from_fn_with_state(origins, cors::handle))
        .layer(from_fn(access_log::log_request))
        .layer(from_fn_with_state(in_flight, admission::admit))
        .layer(from_fn(route_metrics::record))
        .with_state(service);
    match metrics {
        Some(telemetry) => Telemetry::add_route(router, telemetry),
        None => router,
    }
}
