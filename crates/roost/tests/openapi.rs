//! The operations endpoints and the published contract: `/healthz`, `/readyz` naming the
//! engines, unknown routes answering 404 in the error format, and `/api/openapi.json` being
//! OpenAPI 3.1 with every path of API.md implemented so far.

mod common;

use std::collections::BTreeSet;

use common::Server;
use serde_json::Value;

/// Every `method path` of API.md's sections implemented so far (accounts, users and the
/// graph, posts/likes/media, feeds), with path parameters written `{}`. Add a line with each
/// new endpoint.
const IMPLEMENTED: &[&str] = &[
    "post /api/auth/register",
    "post /api/auth/login",
    "post /api/auth/logout",
    "get /api/me",
    "patch /api/me",
    "get /api/users/{}",
    "get /api/users/search",
    "post /api/users/{}/follow",
    "delete /api/users/{}/follow",
    "get /api/users/{}/followers",
    "get /api/users/{}/following",
    "get /api/users/{}/posts",
    "post /api/media",
    "post /api/posts",
    "get /api/posts/{}",
    "delete /api/posts/{}",
    "post /api/posts/{}/like",
    "delete /api/posts/{}/like",
    "post /api/posts/{}/comments",
    "get /api/posts/{}/comments",
    "delete /api/comments/{}",
    "get /api/notifications",
    "post /api/notifications/read",
    "get /api/feed",
    "get /api/timeline",
    "get /healthz",
    "get /readyz",
    "get /api/openapi.json",
];

/// `/api/users/{user}/follow` → `/api/users/{}/follow`.
fn normalize(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') && seg.ends_with('}') { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// The `method path` operations a document describes.
fn operations(doc: &Value) -> BTreeSet<String> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.insert(format!("{method} {}", normalize(path)));
            }
        }
    }
    ops
}

#[tokio::test]
async fn openapi_is_3_1() {
    let server = Server::start().await;
    let doc = server.client().get("/api/openapi.json").await.expect(200);
    let version = doc["openapi"].as_str().expect("an openapi field");
    assert!(version.starts_with("3.1"), "OpenAPI {version}, not 3.1");
    assert!(doc["info"]["title"].is_string());
}

#[tokio::test]
async fn openapi_describes_every_implemented_endpoint() {
    let server = Server::start().await;
    let doc = server.client().get("/api/openapi.json").await.expect(200);
    let described = operations(&doc);
    let missing: Vec<_> = IMPLEMENTED.iter().filter(|op| !described.contains(**op)).collect();
    assert!(missing.is_empty(), "not in /api/openapi.json: {missing:?}\n(it has {described:?})");
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
    for path in ["/nope", "/api/nope", "/api/users/alice/nope"] {
        client.get(path).await.expect_error(404, "not_found");
    }
}
