//! Privacy: changing one's password (other sessions end), the export of everything one
//! made, and the erasure of an account (nothing left behind; counts on other accounts drop;
//! the username free again).

mod common;

use std::time::{Duration, Instant};

use common::{eventually, png, Client, Server};
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "a new password";

async fn login(client: &Client, username: &str, password: &str) -> reqwest::StatusCode {
    let body = json!({"username": username, "password": password});
    client.anonymous().post("/api/auth/login", body).await.status
}

/// A second session of the same account.
async fn second_session(client: &Client, username: &str) -> Client {
    let body = json!({"username": username, "password": "password123"});
    let signed_in = client.anonymous().post("/api/auth/login", body).await.expect(200);
    client.with_token(signed_in["token"].as_str().unwrap())
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

#[tokio::test]
async fn password_change_ends_the_other_sessions_only() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let laptop = second_session(&alice, "alice").await;
    let body = json!({"current": "password123", "new": NEW_PASSWORD});
    alice.post("/api/me/password", body).await.expect(204);

    laptop.get("/api/me").await.expect_error(401, "unauthorized");
    alice.get("/api/me").await.expect(200);
    assert_eq!(login(&alice, "alice", "password123").await, 401);
    assert_eq!(login(&alice, "alice", NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn wrong_current_password_is_401_and_changes_nothing() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let laptop = second_session(&alice, "alice").await;
    let body = json!({"current": "not my password", "new": NEW_PASSWORD});
    alice.post("/api/me/password", body).await.expect_error(401, "invalid_credentials");
    laptop.get("/api/me").await.expect(200);
    assert_eq!(login(&alice, "alice", "password123").await, 200);
    server.client().post("/api/me/password", json!({"current": "x", "new": NEW_PASSWORD})).await.expect(401);
}

#[tokio::test]
async fn new_password_breaking_the_rules_is_422_naming_new() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let body = json!({"current": "password123", "new": "short"});
    let error = alice.post("/api/me/password", body).await.expect_error(422, "validation_failed");
    assert!(error["error"]["message"].as_str().unwrap().starts_with("new"), "{error}");
    assert_eq!(login(&alice, "alice", "password123").await, 200);
}

/// Alice's life on the network with Bob: a post with an image, an unattached upload, a
/// comment and a like on Bob's post, follows both ways, a mention, Bob's like and comment
/// on hers (notifications). Returns (alice, alice's user, bob, bob's post, alice's post).
async fn alice_and_bob(server: &Server) -> (Client, Value, Client, Value, Value) {
    let (alice, alice_user) = server.client().register("alice").await;
    let (bob, bob_user) = server.client().register("bob").await;
    let bob_post = bob.create_post("bob says hi").await;
    let image = alice.post_raw("/api/media", "image/png", png(16, 8)).await.expect(201);
    alice.post_raw("/api/media", "image/png", png(8, 8)).await.expect(201);
    let body = json!({"text": "hello @bob, sunset pictures", "media_ids": [image["id"]]});
    let alice_post = alice.post("/api/posts", body).await.expect(201);
    alice.follow(id(&bob_user)).await;
    bob.follow(id(&alice_user)).await;
    let on_bob = format!("/api/posts/{}", id(&bob_post));
    alice.post(&format!("{on_bob}/like"), json!({})).await.expect(200);
    alice.post(&format!("{on_bob}/comments"), json!({"text": "nice one"})).await.expect(201);
    let on_alice = format!("/api/posts/{}", id(&alice_post));
    bob.post(&format!("{on_alice}/like"), json!({})).await.expect(200);
    bob.post(&format!("{on_alice}/comments"), json!({"text": "lovely"})).await.expect(201);
    // The like jobs have stored both likes once both notifications are there.
    eventually("like notifications", Duration::from_secs(10), || async {
        let alice_notes = alice.get("/api/notifications").await.expect(200);
        let bob_notes = bob.get("/api/notifications").await.expect(200);
        let liked = |notes: &Value| notes["items"].as_array().unwrap().iter().any(|n| n["kind"] == "like");
        (liked(&alice_notes) && liked(&bob_notes)).then_some(())
    })
    .await;
    (alice, alice_user, bob, bob_post, alice_post)
}

#[tokio::test]
async fn export_holds_everything_the_user_made_and_no_secret() {
    let server = Server::start().await;
    let (alice, alice_user, bob, bob_post, alice_post) = alice_and_bob(&server).await;
    let answer = alice.request(reqwest::Method::GET, "/api/me/export").send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let text = answer.text().await.unwrap();
    let archive: Value = serde_json::from_str(&text).unwrap();

    assert_eq!(archive["profile"]["id"], alice_user["id"]);
    assert_eq!(archive["profile"]["username"], "alice");
    let posts = archive["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 1, "{archive}");
    assert_eq!(posts[0]["id"], alice_post["id"]);
    assert_eq!(posts[0]["media"][0]["url"], alice_post["media"][0]["url"]);
    let comments = archive["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{archive}");
    assert_eq!((&comments[0]["text"], &comments[0]["post_id"]), (&json!("nice one"), &bob_post["id"]));
    assert_eq!(archive["likes"], json!([bob_post["id"]]));
    let bob_id = bob.get("/api/me").await.expect(200)["id"].clone();
    assert_eq!(archive["following"], json!([{"user_id": bob_id, "username": "bob"}]));
    assert_eq!(archive["followers"], json!([{"user_id": bob_id, "username": "bob"}]));
    let kinds: Vec<&str> =
        archive["notifications"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    for kind in ["follow", "like", "comment"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let media = archive["media"].as_array().unwrap();
    assert_eq!(media.len(), 2, "the attached image and the unattached upload: {archive}");
    assert!(media.iter().all(|m| m["url"].as_str().unwrap().starts_with("/api/media/")));

    for secret in ["password", "argon2", alice.token.as_deref().unwrap()] {
        assert!(!text.contains(secret), "the export contains {secret}");
    }
    server.client().get("/api/me/export").await.expect(401);
}

#[tokio::test]
async fn erasure_leaves_nothing_behind_and_frees_the_username() {
    let server = Server::start().await;
    let (alice, alice_user, bob, bob_post, _) = alice_and_bob(&server).await;
    let (carol, _) = server.client().register("carol").await;
    let carol_id = carol.get("/api/me").await.expect(200)["id"].as_str().unwrap().to_string();
    alice.follow(&carol_id).await;
    let uid = id(&alice_user).to_string();
    // Blocks and mutes both ways: each leaves an edge in the other account's partition.
    let (dave, dave_user) = server.client().register("dave").await;
    let (erin, erin_user) = server.client().register("erin").await;
    alice.post(&format!("/api/users/{}/block", id(&dave_user)), json!({})).await.expect(200);
    alice.post(&format!("/api/users/{}/mute", id(&erin_user)), json!({})).await.expect(200);
    dave.post(&format!("/api/users/{uid}/mute"), json!({})).await.expect(200);
    erin.post(&format!("/api/users/{uid}/block"), json!({})).await.expect(200);
    let laptop = second_session(&alice, "alice").await;
    let media_ids: Vec<String> = alice.get("/api/me/export").await.expect(200)["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();

    alice.delete("/api/me").await.expect(202);
    // At once: both sessions are dead and the password signs nobody in.
    alice.get("/api/me").await.expect_error(401, "unauthorized");
    laptop.get("/api/me").await.expect_error(401, "unauthorized");
    assert_eq!(login(&alice, "alice", "password123").await, 401);
    server.client().get(&format!("/api/users/{uid}")).await.expect(404);

    // In the background: every count alice fed drops.
    eventually("counts on others drop", Duration::from_secs(20), || async {
        let bob_me = bob.get("/api/me").await.expect(200);
        let carol_me = carol.get("/api/me").await.expect(200);
        let post = bob.get(&format!("/api/posts/{}", id(&bob_post))).await.expect(200);
        let counts = [
            &bob_me["followers_count"],
            &bob_me["following_count"],
            &carol_me["followers_count"],
            &post["like_count"],
            &post["comment_count"],
        ];
        counts.iter().all(|c| **c == 0).then_some(())
    })
    .await;
    let feed = bob.get("/api/feed").await.expect(200);
    assert!(feed["items"].as_array().unwrap().iter().all(|p| p["author"]["id"] != json!(uid)), "{feed}");
    let notes = bob.get("/api/notifications").await.expect(200);
    assert_eq!(notes["items"], json!([]), "bob's notifications from alice: {notes}");
    let search = bob.get("/api/users/search?q=ali").await.expect(200);
    assert!(!search.to_string().contains(&uid), "{search}");
    // The images go last in the erasure job, after the counts.
    eventually("alice's images are gone", Duration::from_secs(20), || async {
        for mid in &media_ids {
            if bob.get(&format!("/api/media/{mid}")).await.status != 404 {
                return None;
            }
        }
        Some(())
    })
    .await;

    // Nothing in the store or the media names alice once the erasure is done (common/dump.rs:
    // the SQLite file and media folder, or a DynamoDB Scan and an S3 listing).
    let started = Instant::now();
    loop {
        let mut left: Vec<String> =
            server.dump_store().await.into_iter().filter(|i| i.contains(&uid)).collect();
        left.extend(
            server
                .dump_media()
                .await
                .into_iter()
                .filter(|o| media_ids.iter().any(|m| o.contains(m)) || o.contains(&uid)),
        );
        if left.is_empty() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "left behind by the erasure: {left:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The username is free once the erasure is done.
    let again = eventually("alice's name is free", Duration::from_secs(20), || async {
        let body = json!({"username": "alice", "password": "password123"});
        let answer = server.client().post("/api/auth/register", body).await;
        (answer.status == 201).then_some(answer.body)
    })
    .await;
    assert_ne!(again["user"]["id"], json!(uid));
    assert_eq!(again["user"]["followers_count"], 0);
}
