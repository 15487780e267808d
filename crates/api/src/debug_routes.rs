//! Routes that exist only in debug builds, and only when a test asks for them, to reach
//! failures no real request can cause. Never compiled into a release build.
//!
//! `ROOST_TEST_PANIC_ROUTE=1`: `GET /api/debug/panic` panics in its handler, so the HTTP
//! tests can check that a panic answers a JSON 500 (see `panics`).

use axum::routing::get;
use axum::Router;
use roost_service::Service;

pub(crate) fn add(routes: Router<Service>) -> Router<Service> {
    if std::env::var_os("ROOST_TEST_PANIC_ROUTE").is_none() {
        return routes;
    }
    routes.route("/api/debug/panic", get(panic))
}

async fn panic() -> &'static str {
    panic!("a panic on purpose (ROOST_TEST_PANIC_ROUTE)")
}
