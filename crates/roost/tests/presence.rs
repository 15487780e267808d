//! Presence over HTTP (docs/api.md, "realtime"): an authenticated request makes its user online,
//! `/api/online` counts online users, and both routes are public.

mod common;

use common::Server;

#[tokio::test]
async fn a_request_makes_its_user_online() {
    let server = Server::start().await;
    let anonymous = server.client();
    let (alice, user) = anonymous.register("alice").await;
    let id = user["id"].as_str().unwrap();

    // Registering is not a request with a token: not seen yet.
    let before = anonymous.get(&format!("/api/users/{id}/presence")).await.expect(200);
    assert_eq!(before["online"], false, "{before}");
    assert!(before["last_seen"].is_null(), "{before}");

    alice.get("/api/me").await.expect(200);
    for path in [format!("/api/users/{id}/presence"), "/api/users/alice/presence".to_string()] {
        let after = anonymous.get(&path).await.expect(200);
        assert_eq!(after["online"], true, "{after}");
        let seen = after["last_seen"].as_str().expect("last_seen");
        assert!(seen.ends_with('Z') && seen.contains('T'), "RFC 3339: {seen}");
    }
}

#[tokio::test]
async fn online_counts_users_not_requests() {
    let server = Server::start().await;
    let anonymous = server.client();
    assert_eq!(anonymous.get("/api/online").await.expect(200)["count"], 0);
    let (alice, _) = anonymous.register("alice").await;
    let (bob, _) = anonymous.register("bob").await;
    anonymous.register("carol").await;
    for client in [&alice, &bob, &alice, &alice] {
        client.get("/api/me").await.expect(200);
    }
    assert_eq!(anonymous.get("/api/online").await.expect(200)["count"], 2);
}

#[tokio::test]
async fn presence_of_an_unknown_user_is_404() {
    let server = Server::start().await;
    let anonymous = server.client();
    anonymous.get("/api/users/nobody_here/presence").await.expect_error(404, "not_found");
    anonymous.get("/api/users/01HZZZZZZZZZZZZZZZZZZZZZZZ/presence").await.expect_error(404, "not_found");
}
