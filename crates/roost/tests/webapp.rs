//! The web client at `/`: the app's page for `/` and for client routes, long-lived hashed
//! assets, a revalidated `index.html`, and the server's own paths untouched (an unknown
//! `/api/` path is still the contract's JSON 404).

mod common;

use common::Server;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use reqwest::Response;

fn header(response: &Response, name: reqwest::header::HeaderName) -> &str {
    response.headers().get(&name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

#[tokio::test]
async fn serves_the_app_its_routes_and_its_assets() {
    let server = Server::start().await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", server.base)).send();

    let root = get("/").await.unwrap();
    assert_eq!(root.status(), 200);
    assert!(header(&root, CONTENT_TYPE).starts_with("text/html"), "{:?}", root.headers());
    assert_eq!(header(&root, CACHE_CONTROL), "no-cache");
    let csp = header(&root, CONTENT_SECURITY_POLICY).to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    let page = root.text().await.unwrap();
    assert!(page.contains("<title>"), "{page}");

    // A client route is the same page; the app's router shows the profile.
    for route in ["/u/alice", "/p/01JDZ0000000000000000000AB", "/settings", "/index.html"] {
        let answer = get(route).await.unwrap();
        assert_eq!(answer.status(), 200, "{route}");
        assert!(header(&answer, CONTENT_TYPE).starts_with("text/html"), "{route}");
        assert_eq!(header(&answer, CACHE_CONTROL), "no-cache", "{route}");
        assert_eq!(answer.text().await.unwrap(), page, "{route}");
    }

    // The hashed assets the page names are immutable.
    let start = page.find("\"/assets/").expect("the page loads an asset") + 1;
    let asset = &page[start..start + page[start..].find('"').unwrap()];
    let answer = get(asset).await.unwrap();
    assert_eq!(answer.status(), 200, "{asset}");
    assert_eq!(header(&answer, CACHE_CONTROL), "public, max-age=31536000, immutable");
    assert!(!header(&answer, CONTENT_TYPE).starts_with("text/html"), "{asset}");
    assert!(!answer.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_servers_own_paths_never_fall_back_to_the_app() {
    let server = Server::start().await;
    let http = reqwest::Client::new();
    for path in ["/api/nope", "/api", "/api/users/nobody_here", "/assets/index-00000000.js", "/metrics/nope"]
    {
        let answer = http.get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(answer.status(), 404, "{path}");
        assert!(header(&answer, CONTENT_TYPE).starts_with("application/json"), "{path}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    // Not a GET: the client routes are pages, not endpoints.
    let answer = http.post(format!("{}/u/alice", server.base)).send().await.unwrap();
    assert_eq!(answer.status(), 404);
    let health = http.get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert!(header(&health, CONTENT_TYPE).starts_with("application/json"));
}
