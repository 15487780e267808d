//! Request metrics per route: a latency histogram by method and route, and a count by
//! status. The route is the matched path template (`/api/users/{username}`), never the
//! path itself, and every request that matched no route shares the label `unmatched`, so
//! the label sets stay bounded whatever clients send.
//!
//! Each request's cache round trips are counted too (`roost_cache_round_trips_total` by
//! method and route: divided by the requests, the round trips a request costs).
//!
//! The request also runs as its route's `usage::Workload`, so the store capacity it
//! consumes is charged to the route (`GET /api/admin/cost`).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use roost_service::cost::{count_cache_round_trips, Workload};

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
    let work = Workload::Route(format!("{method} {route}")).scope(next.run(request));
    let (response, round_trips) = count_cache_round_trips(work).await;
    if round_trips > 0 {
        metrics::counter!("roost_cache_round_trips_total", "method" => method, "route" => route.clone())
            .increment(round_trips);
    }
    let status = response.status().as_u16().to_string();
    metrics::histogram!("roost_http_request_duration_seconds", "method" => method, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("roost_http_requests_total", "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}
