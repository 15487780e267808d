//! Retried creates do not duplicate (docs/reliability.md): with an `Idempotency-Key`, a
//! retried post or comment answers what the first request created (nothing new, counters
//! unchanged, the follower's feed has the post once); the same key with another request is
//! a 422; keys are per user. Runs in both modes.

mod common;

use std::time::Duration;

use common::{eventually, ids_of, png, Client, Server};
use reqwest::Method;
use serde_json::{json, Value};

const HEADER: &str = "Idempotency-Key";

async fn post_once(client: &Client, path: &str, key: &str, body: Value) -> common::Answer {
    client.send(client.request(Method::POST, path).header(HEADER, key).json(&body)).await
}

#[tokio::test]
async fn a_retried_post_answers_the_first_post_and_creates_nothing() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    bob.follow(alice_user["id"].as_str().unwrap()).await;

    let body = json!({"text": "sent twice, posted once"});
    let first = post_once(&alice, "/api/posts", "retry-1", body.clone()).await.expect(201);
    let again = post_once(&alice, "/api/posts", "retry-1", body.clone()).await.expect(201);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["text"], first["text"]);
    assert_eq!(again["created_at"], first["created_at"]);

    assert_eq!(alice.get("/api/me").await.expect(200)["posts_count"], 1);
    let posts = client.walk(&format!("/api/users/{}/posts", alice_user["id"].as_str().unwrap()), 10).await;
    assert_eq!(ids_of(&posts), [first["id"].as_str().unwrap()]);
    let pid = first["id"].as_str().unwrap().to_string();
    eventually("the post reaches the follower", Duration::from_secs(30), || async {
        ids_of(&bob.walk("/api/feed", 20).await).contains(&pid).then_some(())
    })
    .await;
    assert_eq!(ids_of(&bob.walk("/api/feed", 20).await), [pid.as_str()], "the follower's feed has it once");

    // Another key is another post.
    let other = post_once(&alice, "/api/posts", "retry-2", body).await.expect(201);
    assert_ne!(other["id"], first["id"]);
    assert_eq!(alice.get("/api/me").await.expect(200)["posts_count"], 2);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_refused() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    post_once(&alice, "/api/posts", "k", json!({"text": "the first"})).await.expect(201);
    let refused = post_once(&alice, "/api/posts", "k", json!({"text": "another"})).await;
    let body = refused.expect_error(422, "validation_failed");
    assert!(body["error"]["message"].as_str().unwrap().starts_with(HEADER), "{body}");
    assert_eq!(alice.get("/api/me").await.expect(200)["posts_count"], 1);

    for bad in ["", &"x".repeat(256), "with space"] {
        post_once(&alice, "/api/posts", bad, json!({"text": "bad key"})).await.expect(422);
    }
    assert_eq!(alice.get("/api/me").await.expect(200)["posts_count"], 1);
}

#[tokio::test]
async fn keys_are_per_user() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let body = json!({"text": "same key, same text"});
    let hers = post_once(&alice, "/api/posts", "shared", body.clone()).await.expect(201);
    let his = post_once(&bob, "/api/posts", "shared", body).await.expect(201);
    assert_ne!(hers["id"], his["id"]);
    assert_eq!(his["author"]["username"], "bob");
    assert_eq!(bob.get("/api/me").await.expect(200)["posts_count"], 1);
}

#[tokio::test]
async fn a_retried_comment_answers_the_first_comment() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let post = alice.create_post("comment on this").await;
    let path = format!("/api/posts/{}/comments", post["id"].as_str().unwrap());

    let first = post_once(&bob, &path, "c-1", json!({"text": "once"})).await.expect(201);
    let again = post_once(&bob, &path, "c-1", json!({"text": "once"})).await.expect(201);
    assert_eq!(again, first);
    post_once(&bob, &path, "c-1", json!({"text": "twice?"})).await.expect(422);
    assert_eq!(ids_of(&client.walk(&path, 10).await), [first["id"].as_str().unwrap()]);
    assert_eq!(
        client.get(&format!("/api/posts/{}", post["id"].as_str().unwrap())).await.expect(200)
            ["comment_count"],
        1
    );

    // The same key on another post is another request.
    let other = alice.create_post("and on this").await;
    let other_path = format!("/api/posts/{}/comments", other["id"].as_str().unwrap());
    post_once(&bob, &other_path, "c-1", json!({"text": "once"})).await.expect(422);
}

#[tokio::test]
async fn a_retried_multipart_post_uploads_and_posts_once() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let form = || {
        reqwest::multipart::Form::new().text("text", "with a picture").part(
            "file",
            reqwest::multipart::Part::bytes(png(8, 8)).file_name("a.png").mime_str("image/png").unwrap(),
        )
    };
    let send =
        || alice.send(alice.request(Method::POST, "/api/posts").header(HEADER, "m-1").multipart(form()));
    let first = send().await.expect(201);
    let again = send().await.expect(201);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["media"], first["media"]);
    assert_eq!(alice.get("/api/me").await.expect(200)["posts_count"], 1);
}

/// A retry whose first post was deleted since has nothing to answer with, and posting again
/// under the key would make the second post the key exists to prevent: 422, nothing made.
#[tokio::test]
async fn a_retry_after_its_post_was_deleted_is_refused() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let body = json!({"text": "posted, then deleted"});
    let first = post_once(&alice, "/api/posts", "gone", body.clone()).await.expect(201);
    alice.delete(&format!("/api/posts/{}", first["id"].as_str().unwrap())).await.expect(204);
    let refused = post_once(&alice, "/api/posts", "gone", body).await;
    let body = refused.expect_error(422, "validation_failed");
    assert!(body["error"]["message"].as_str().unwrap().contains("deleted since"), "{body}");
    assert_eq!(alice.get("/api/me").await.expect(200)["posts_count"], 0);
}
