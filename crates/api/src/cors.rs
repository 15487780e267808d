//! CORS, off unless configured: with no `cors_origins`, no answer carries CORS headers, so
//! browsers keep the API to pages of its own origin. A listed origin gets its requests
//! allowed (with the bearer token: the API has no cookies, so no credentials mode) and its
//! preflights answered with 204.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The origins allowed to call the API from a browser.
#[derive(Clone)]
pub(crate) struct Origins(pub Arc<Vec<String>>);

const ALLOW_METHODS: &str = "GET, POST, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS: &str = "authorization, content-type, last-event-id";
const EXPOSE_HEADERS: &str = "retry-after, x-request-id";
/// Browsers may reuse a preflight's answer this long.
const MAX_AGE_SECS: &str = "600";

pub(crate) async fn handle(
    State(Origins(allowed)): State<Origins>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let listed =
        origin.as_ref().and_then(|o| o.to_str().ok()).is_some_and(|o| allowed.iter().any(|a| a == o));
    let preflight = request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight && listed {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE_SECS));
        response
    } else {
        next.run(request).await
    };
    if !allowed.is_empty() {
        allow(response.headers_mut(), origin.filter(|_| listed));
    }
    response
}

fn allow(headers: &mut HeaderMap, origin: Option<HeaderValue>) {
    // The answer depends on the Origin header as soon as any origin is allowed.
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
    }
}
