//! Request metrics per route: a latency histogram by method and route, and a count by
//! status. The route is the matched path template (`/api/users/{username}`), never the
//! path itself, and every request that matched no route shares the label `unmatched`, so
//! the label sets stay bounded whatever clients send.
//!
//! The request also runs as its route's `usage::Workload`, so the store capacity it
//! consumes is charged to the route (`GET /api/admin/cost`).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use roost_service::cost::Workload;

/// The route label of requests no route matched.
pub(crate) const UNMATCHED: &str = "unmatched";

/// The method label: the standard methods, and `other` for any extension method.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str).to_owned();
    let response = Workload::Route(format!("{method} {route}")).scope(next.run(request)).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("roost_http_request_duration_seconds", "method" => method, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("roost_http_requests_total", "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}
