//! The operations endpoints and the published contract: `/healthz`, `/readyz` naming the
//! engines, unknown routes answering 404 in the error format, and `/api/openapi.json` being
//! OpenAPI 3.1 whose every operation is routed.

mod common;

use common::Server;
use reqwest::{Method, StatusCode};

/// The message of the router's fallback, and of no other 404.
const NO_SUCH_ROUTE: &str = "no such route";

/// `/api/users/{user}/follow` → `/api/users/x/follow`: routing does not look at the value.
fn fill_params(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') && seg.ends_with('}') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn openapi_is_3_1() {
    let server = Server::start().await;
    let doc = server.client().get("/api/openapi.json").await.expect(200);
    let version = doc["openapi"].as_str().expect("an openapi field");
    assert!(version.starts_with("3.1"), "OpenAPI {version}, not 3.1");
    assert!(doc["info"]["title"].is_string());
    assert!(doc["paths"]["/api/openapi.json"]["get"].is_object(), "the document does not describe itself");
}

/// The router and the document agree: every operation described reaches a handler, not the
/// fallback, and not axum's 405 for a path routed without that method.
#[tokio::test]
async fn every_described_operation_is_routed() {
    let server = Server::start().await;
    let client = server.client();
    let doc = client.get("/api/openapi.json").await.expect(200);
    let mut unrouted = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            if item.get(method.as_str().to_lowercase()).is_none() {
                continue;
            }
            let answer = client.send(client.request(method.clone(), &fill_params(path))).await;
            if answer.status == StatusCode::METHOD_NOT_ALLOWED
                || answer.body["error"]["message"] == NO_SUCH_ROUTE
            {
                unrouted.push(format!("{method} {path}: {} {}", answer.status, answer.body));
            }
        }
    }
    assert!(unrouted.is_empty(), "described in /api/openapi.json but not routed: {unrouted:#?}");
}

#[tokio::test]
async fn healthz_answers_200() {
    let server = Server::start().await;
    server.client().get("/healthz").await.expect(200);
}

#[tokio::test]
async fn readyz_answers_200_naming_the_engines() {
    let server = Server::start().await;
    let body = server.client().get("/readyz").await.expect(200);
    for engine in ["store", "cache", "media"] {
        assert_eq!(body["engines"][engine], "ok", "{engine} in {body}");
    }
}

#[tokio::test]
async fn unknown_routes_are_404_in_the_error_format() {
    let server = Server::start().await;
    let client = server.client();
    // Other paths are the web client's routes (tests/webapp.rs).
    for path in ["/api/nope", "/api/users/alice/nope", "/healthz/nope", "/metrics/nope"] {
        let body = client.get(path).await.expect_error(404, "not_found");
        assert_eq!(body["error"]["message"], NO_SUCH_ROUTE, "{path}: {body}");
    }
}
