//! Crash durability over HTTP: the server is killed with SIGKILL right after writes it
//! acknowledged (register, login, follow, profile edit, logout); after a restart on the
//! same data every one of them is still there, existing tokens still work (sessions are
//! kept in the store, and so is the key that signs them), and a revoked token stays revoked.

mod common;

use common::Server;
use serde_json::json;

#[tokio::test]
async fn acknowledged_writes_survive_kill9() {
    let mut server = Server::start().await;
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    let login = client.post("/api/auth/login", json!({"username": "alice", "password": "password123"})).await;
    let alice_again = client.with_token(login.expect(200)["token"].as_str().unwrap());
    bob.post(&format!("/api/users/{}/follow", alice_user["id"].as_str().unwrap()), json!({}))
        .await
        .expect(200);
    alice.patch("/api/me", json!({"display_name": "Alice L.", "bio": "survivor"})).await.expect(200);

    server.kill9();
    server.restart().await;

    // Every session, from register and from login, is still open.
    for session in [&alice, &alice_again] {
        let me = session.get("/api/me").await.expect(200);
        assert_eq!(me["id"], alice_user["id"]);
        assert_eq!((me["display_name"].as_str(), me["bio"].as_str()), (Some("Alice L."), Some("survivor")));
        assert_eq!(me["followers_count"], 1);
    }
    assert_eq!(bob.get("/api/me").await.expect(200)["following_count"], 1);
    assert_eq!(bob.get("/api/users/alice").await.expect(200)["followed_by_me"], true);
    let followers =
        client.walk(&format!("/api/users/{}/followers", alice_user["id"].as_str().unwrap()), 10).await;
    assert_eq!(followers.len(), 1);
    assert_eq!(followers[0]["id"], bob_user["id"]);

    // The accounts and their passwords are there, and the names stay taken.
    client.post("/api/auth/login", json!({"username": "bob", "password": "password123"})).await.expect(200);
    client
        .post("/api/auth/register", json!({"username": "alice", "password": "password123"}))
        .await
        .expect_error(409, "username_taken");
}

#[tokio::test]
async fn a_logged_out_token_stays_revoked_after_kill9() {
    let mut server = Server::start().await;
    let client = server.client();
    let (gone, _) = client.register("alice").await;
    let login = client.post("/api/auth/login", json!({"username": "alice", "password": "password123"})).await;
    let kept = client.with_token(login.expect(200)["token"].as_str().unwrap());
    assert_eq!(gone.post("/api/auth/logout", json!({})).await.status, 204);

    server.kill9();
    server.restart().await;

    gone.get("/api/me").await.expect_error(401, "unauthorized");
    kept.get("/api/me").await.expect(200);
}

#[tokio::test]
async fn an_unfollow_survives_kill9() {
    let mut server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let path = format!("/api/users/{}/follow", alice["id"].as_str().unwrap());
    bob.post(&path, json!({})).await.expect(200);
    bob.delete(&path).await.expect(200);

    server.kill9();
    server.restart().await;

    let profile = bob.get("/api/users/alice").await.expect(200);
    assert_eq!((profile["followers_count"].as_i64(), &profile["followed_by_me"]), (Some(0), &json!(false)));
    assert!(client
        .walk(&format!("/api/users/{}/followers", alice["id"].as_str().unwrap()), 10)
        .await
        .is_empty());
}
