//! Notifications over HTTP: each kind (follow, like, comment, reply, mention) reaches the
//! right user with the right actor and target, never the actor themself, once per like or
//! follow however often it is repeated; the list is newest first and paginated, survives a
//! restart, and marking read moves `read` and the unread count of `GET /api/me`.

mod common;

use std::time::Duration;

use common::{eventually, ids_of, Client, Server, Setup};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

async fn notifications(client: &Client) -> Vec<Value> {
    client.walk("/api/notifications", 100).await
}

/// `(kind, actor username, post_id, comment_id)` of each notification, newest first.
async fn summary(client: &Client) -> Vec<(String, String, Value, Value)> {
    notifications(client)
        .await
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap().to_string(),
                n["actor"]["username"].as_str().unwrap().to_string(),
                n["post_id"].clone(),
                n["comment_id"].clone(),
            )
        })
        .collect()
}

fn entry(
    kind: &str,
    actor: &str,
    post: Option<&Value>,
    comment: Option<&Value>,
) -> (String, String, Value, Value) {
    let id = |v: Option<&Value>| v.map(|v| v["id"].clone()).unwrap_or(Value::Null);
    (kind.to_string(), actor.to_string(), id(post), id(comment))
}

async fn unread(client: &Client) -> i64 {
    client.get("/api/me").await.expect(200)["unread_notifications"].as_i64().unwrap()
}

#[tokio::test]
async fn a_follow_notifies_once() {
    let server = Server::start().await;
    let (alice, alice_user) = server.client().register("alice").await;
    let (bob, bob_user) = server.client().register("bob").await;
    let alice_id = alice_user["id"].as_str().unwrap();
    bob.follow(alice_id).await;
    bob.unfollow(alice_id).await;
    bob.follow(alice_id).await;
    let list = notifications(&alice).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let n = &list[0];
    assert_eq!(n["kind"], "follow");
    assert_eq!(n["actor"]["id"], bob_user["id"]);
    assert_eq!(n["actor"]["username"], "bob");
    assert_eq!(n["post_id"], Value::Null);
    assert_eq!(n["read"], false);
    assert!(n["created_at"].is_string());
    assert!(notifications(&bob).await.is_empty());
}

#[tokio::test]
async fn a_like_notifies_the_author_once() {
    // One worker lane at a time: once carol's like has notified, every earlier like job ran.
    let server = Setup::new().env("ROOST_WORKER_CONCURRENCY", "1").start().await;
    let (alice, _) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    let (carol, _) = server.client().register("carol").await;
    let post = alice.create_post("like me").await;
    let like = format!("/api/posts/{}/like", post["id"].as_str().unwrap());
    bob.post(&like, json!({})).await.expect(200);
    eventually("bob's like notifies alice", WAIT, || async {
        (!notifications(&alice).await.is_empty()).then_some(())
    })
    .await;
    bob.delete(&like).await.expect(200);
    bob.post(&like, json!({})).await.expect(200);
    alice.post(&like, json!({})).await.expect(200);
    carol.post(&like, json!({})).await.expect(200);
    eventually("carol's like notifies alice", WAIT, || async {
        (notifications(&alice).await.len() >= 2).then_some(())
    })
    .await;
    assert_eq!(
        summary(&alice).await,
        vec![entry("like", "carol", Some(&post), None), entry("like", "bob", Some(&post), None)]
    );
}

#[tokio::test]
async fn comments_and_replies_notify_the_authors_above() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    let (carol, _) = server.client().register("carol").await;
    let post = alice.create_post("discuss").await;
    let path = format!("/api/posts/{}/comments", post["id"].as_str().unwrap());
    let own = alice.post(&path, json!({"text": "my own"})).await.expect(201);
    let bobs = bob.post(&path, json!({"text": "bob here"})).await.expect(201);
    let carols = carol.post(&path, json!({"text": "to bob", "parent_id": bobs["id"]})).await.expect(201);
    // Alice replies to her own comment: she is the post's author and the parent's, so
    // nothing; bob replies to alice's: one reply, not a comment as well.
    alice.post(&path, json!({"text": "me again", "parent_id": own["id"]})).await.expect(201);
    let back = bob.post(&path, json!({"text": "to alice", "parent_id": own["id"]})).await.expect(201);
    assert_eq!(
        summary(&alice).await,
        vec![
            entry("reply", "bob", Some(&post), Some(&back)),
            entry("comment", "carol", Some(&post), Some(&carols)),
            entry("comment", "bob", Some(&post), Some(&bobs)),
        ]
    );
    assert_eq!(summary(&bob).await, vec![entry("reply", "carol", Some(&post), Some(&carols))]);
    assert!(notifications(&carol).await.is_empty());
}

#[tokio::test]
async fn mentions_notify_existing_users_only() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    let (carol, _) = server.client().register("carol").await;
    let post = alice.create_post("hey @Bob, @bob and @nobody_here (cc @alice)").await;
    let path = format!("/api/posts/{}/comments", post["id"].as_str().unwrap());
    let comment = bob.post(&path, json!({"text": "@carol look, and @alice"})).await.expect(201);
    assert_eq!(summary(&bob).await, vec![entry("mention", "alice", Some(&post), None)]);
    assert_eq!(summary(&carol).await, vec![entry("mention", "bob", Some(&post), Some(&comment))]);
    // Alice is the post's author: she hears of the comment once, as a comment.
    assert_eq!(summary(&alice).await, vec![entry("comment", "bob", Some(&post), Some(&comment))]);
}

#[tokio::test]
async fn newest_first_paginated_and_marked_read() {
    let mut server = Server::start().await;
    let (alice, alice_user) = server.client().register("alice").await;
    let alice_id = alice_user["id"].as_str().unwrap();
    let fans = common::register_many(&server.client(), "fan", 5, 2).await;
    for (fan, _) in &fans {
        fan.follow(alice_id).await;
    }
    let list = notifications(&alice).await;
    let actors: Vec<&str> = list.iter().map(|n| n["actor"]["username"].as_str().unwrap()).collect();
    assert_eq!(actors, vec!["fan4", "fan3", "fan2", "fan1", "fan0"]);
    for limit in [1, 2, 3] {
        assert_eq!(ids_of(&alice.walk("/api/notifications", limit).await), ids_of(&list), "limit {limit}");
    }
    assert_eq!(unread(&alice).await, 5);

    // Read up to the third newest: it and the older ones are read.
    alice.post("/api/notifications/read", json!({"up_to_id": list[2]["id"]})).await.expect(204);
    let read: Vec<bool> = notifications(&alice).await.iter().map(|n| n["read"].as_bool().unwrap()).collect();
    assert_eq!(read, vec![false, false, true, true, true]);
    assert_eq!(unread(&alice).await, 2);
    // An older mark does not move the marker back.
    alice.post("/api/notifications/read", json!({"up_to_id": list[4]["id"]})).await.expect(204);
    assert_eq!(unread(&alice).await, 2);
    alice.post("/api/notifications/read", json!({"up_to_id": list[0]["id"]})).await.expect(204);
    assert_eq!(unread(&alice).await, 0);

    // They are in the store: a restart keeps them, and their read state.
    server.restart().await;
    let after = notifications(&alice).await;
    assert_eq!(ids_of(&after), ids_of(&list));
    assert!(after.iter().all(|n| n["read"] == true));
    assert_eq!(unread(&alice).await, 0);
}

#[tokio::test]
async fn a_deleted_post_takes_its_notifications_along() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    let post = bob.create_post("hi @alice").await;
    assert_eq!(notifications(&alice).await.len(), 1);
    bob.delete(&format!("/api/posts/{}", post["id"].as_str().unwrap())).await.expect(204);
    assert!(notifications(&alice).await.is_empty());
}

#[tokio::test]
async fn errors() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let anonymous = server.client();
    anonymous.get("/api/notifications").await.expect_error(401, "unauthorized");
    anonymous
        .post("/api/notifications/read", json!({"up_to_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}))
        .await
        .expect_error(401, "unauthorized");
    for body in [json!({}), json!({"up_to_id": ""}), json!({"up_to_id": "  "}), json!({"up_to_id": "nope"})] {
        let answer = alice.post("/api/notifications/read", body).await.expect_error(422, "validation_failed");
        assert!(answer["error"]["message"].as_str().unwrap().contains("up_to_id"), "{answer}");
    }
    alice.get("/api/notifications?limit=101").await.expect_error(422, "validation_failed");
    alice.get("/api/notifications?cursor=garbage").await.expect_error(400, "bad_request");
    assert_eq!(unread(&alice).await, 0);
}
