//! The HTTP layer of Roost (docs/api.md): routes, the auth extractor, request parsing, and the
//! one place where service errors become the contract's error body. Handlers are thin:
//! extract, call one service method, answer. No business rules live here.
#![warn(missing_docs)]

mod access_log;
mod error;
mod extract;
mod openapi;
pub(crate) mod routes;

use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};
use roost_service::Service;

pub use error::{ApiError, ErrorBody};

/// The whole API, ready to serve.
pub fn router(service: Service) -> Router {
    // Uploads check the media limit themselves while streaming (and answer 413); this bounds
    // what any body may buffer, with room for a form's other fields.
    let body_limit = service.config().media_max_bytes + 1024 * 1024;
    let (routes, document) = routes::all().split_for_parts();
    routes
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(Extension(openapi::Served::new(&document)))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(access_log::log_request))
        .with_state(service)
}
