//! Several `roost serve` instances on one DynamoDB + Redis + S3 deployment behave as one
//! service: what is written through one is read through another at once (blocks and mutes
//! included), a logout (a password change, an erasure, a suspension) on one revokes
//! everywhere, and jobs a killed instance left pending are finished by another.
//!
//! These tests always run on the distributed engines (the embedded ones belong to one
//! process), so they need the services `scripts/test.sh` starts, and are built only with
//! the `services` feature it turns on.

mod common;

use std::time::Duration;

use common::sse::EventReader;
use common::{eventually, redis_cli, Client, Server, Setup};
use serde_json::{json, Value};

async fn pair() -> (Server, Server) {
    let setup = Setup::distributed().env("ROOST_JOB_CLAIM_IDLE_SECS", "2");
    let a = setup.start().await;
    let b = setup.start().await;
    (a, b)
}

/// The same signed-in user, talking to another instance.
fn via(server: &Server, client: &Client) -> Client {
    Client { base: server.base.clone(), ..client.clone() }
}

async fn first_feed_item(client: &Client) -> Option<Value> {
    client.get("/api/feed?limit=1").await.expect(200)["items"]
        .as_array()
        .and_then(|items| items.first().cloned())
}

#[tokio::test]
async fn a_post_through_one_instance_reaches_a_follower_reading_through_another() {
    let (a, b) = pair().await;
    let (author, author_user) = a.client().register("author").await;
    let (reader, _) = a.client().register("reader").await;
    via(&b, &reader)
        .post(&format!("/api/users/{}/follow", author_user["id"].as_str().unwrap()), json!({}))
        .await
        .expect(200);
    let post = author.post("/api/posts", json!({"text": "hello from a"})).await.expect(201);
    let reader_on_b = via(&b, &reader);
    eventually("the post in the follower's feed on the other instance", Duration::from_secs(30), || async {
        first_feed_item(&reader_on_b).await.filter(|item| item["id"] == post["id"])
    })
    .await;
}

#[tokio::test]
async fn a_profile_edit_on_one_instance_is_visible_on_the_other_at_once() {
    let (a, b) = pair().await;
    let (alice, _) = a.client().register("alice").await;
    // Warm the other instance's view of the profile, so a stale cached copy would show.
    assert_eq!(b.client().get("/api/users/alice").await.expect(200)["display_name"], "alice");
    alice
        .patch("/api/me", json!({"display_name": "Alice Liddell", "bio": "down the hole"}))
        .await
        .expect(200);
    let seen = b.client().get("/api/users/alice").await.expect(200);
    assert_eq!(seen["display_name"], "Alice Liddell");
    assert_eq!(seen["bio"], "down the hole");
}

#[tokio::test]
async fn a_block_or_mute_on_one_instance_holds_on_the_other_at_once() {
    let (a, b) = pair().await;
    let (alice, _) = a.client().register("alice").await;
    let (bob, bob_user) = a.client().register("bob").await;
    let (carol, carol_user) = a.client().register("carol").await;
    let bob_id = bob_user["id"].as_str().unwrap();
    let carol_id = carol_user["id"].as_str().unwrap();
    alice.follow(bob_id).await;
    alice.follow(carol_id).await;
    let from_bob = bob.post("/api/posts", json!({"text": "from bob"})).await.expect(201);
    let from_carol = carol.post("/api/posts", json!({"text": "from carol"})).await.expect(201);
    let alice_on_b = via(&b, &alice);
    // Warm the other instance's copies (the feed and the hidden set).
    let feed_ids = || async {
        let feed = alice_on_b.get("/api/feed").await.expect(200);
        feed["items"].as_array().unwrap().iter().map(|p| p["id"].clone()).collect::<Vec<_>>()
    };
    eventually("both posts in alice's feed on b", Duration::from_secs(30), || async {
        (feed_ids().await == [from_carol["id"].clone(), from_bob["id"].clone()]).then_some(())
    })
    .await;

    alice.post(&format!("/api/users/{carol_id}/mute"), json!({})).await.expect(200);
    alice.post(&format!("/api/users/{bob_id}/block"), json!({})).await.expect(200);
    assert!(feed_ids().await.is_empty(), "both hidden through the other instance at once");
    let like = format!("/api/posts/{}/like", alice.create_post("mine").await["id"].as_str().unwrap());
    via(&b, &bob).post(&like, json!({})).await.expect_error(403, "forbidden");
    via(&b, &carol).post(&like, json!({})).await.expect(200);

    alice.delete(&format!("/api/users/{carol_id}/mute")).await.expect(200);
    assert_eq!(feed_ids().await[1], from_carol["id"], "unmuted through the other instance at once");
}

#[tokio::test]
async fn a_like_on_one_instance_is_counted_on_the_other() {
    let (a, b) = pair().await;
    let (author, _) = a.client().register("author").await;
    let (fan, _) = a.client().register("fan").await;
    let post = author.post("/api/posts", json!({"text": "like me"})).await.expect(201);
    let path = format!("/api/posts/{}", post["id"].as_str().unwrap());
    assert_eq!(b.client().get(&path).await.expect(200)["like_count"], 0);
    assert_eq!(fan.post(&format!("{path}/like"), json!({})).await.expect(200)["like_count"], 1);
    let on_b = via(&b, &fan).get(&path).await.expect(200);
    assert_eq!(on_b["like_count"], 1);
    assert_eq!(on_b["liked_by_me"], true);
}

#[tokio::test]
async fn logout_on_one_instance_revokes_the_token_on_the_other() {
    let (a, b) = pair().await;
    let (alice, _) = a.client().register("alice").await;
    via(&b, &alice).get("/api/me").await.expect(200);
    alice.post("/api/auth/logout", json!({})).await.expect(204);
    via(&b, &alice).get("/api/me").await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_password_change_on_one_instance_ends_the_other_sessions_on_the_other() {
    let (a, b) = pair().await;
    let (alice, _) = a.client().register("alice").await;
    let body = json!({"username": "alice", "password": "password123"});
    let laptop = b.client().post("/api/auth/login", body).await.expect(200);
    let laptop = b.client().with_token(laptop["token"].as_str().unwrap());
    // Warm b's cached copy of the laptop's session, so a stale copy would let it through.
    laptop.get("/api/me").await.expect(200);
    alice
        .post("/api/me/password", json!({"current": "password123", "new": "another password"}))
        .await
        .expect(204);
    laptop.get("/api/me").await.expect_error(401, "unauthorized");
    via(&b, &alice).get("/api/me").await.expect(200);
}

#[tokio::test]
async fn an_erasure_on_one_instance_ends_the_sessions_on_the_other_at_once() {
    let (a, b) = pair().await;
    let (alice, _) = a.client().register("alice").await;
    let alice_on_b = via(&b, &alice);
    alice_on_b.get("/api/me").await.expect(200);
    alice.delete("/api/me").await.expect(202);
    alice_on_b.get("/api/me").await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn jobs_pending_on_a_killed_instance_are_finished_by_another() {
    let setup = Setup::distributed().env("ROOST_JOB_CLAIM_IDLE_SECS", "2");
    let mut a = setup.start().await;
    let author_client = a.client();
    let (author, author_user) = author_client.register("author").await;
    let author_id = author_user["id"].as_str().unwrap().to_string();
    let mut followers = Vec::new();
    for i in 0..40 {
        let (follower, _) = a.client().register(&format!("follower_{i}")).await;
        follower.post(&format!("/api/users/{author_id}/follow"), json!({})).await.expect(200);
        followers.push(follower);
    }
    // Queue fan-outs and like syncs on instance a, and kill it straight away: some jobs are
    // still queued, some delivered to a's worker and never acknowledged.
    let mut posts = Vec::new();
    for i in 0..10 {
        posts.push(author.post("/api/posts", json!({"text": format!("post {i}")})).await.expect(201));
    }
    for follower in &followers {
        follower
            .post(&format!("/api/posts/{}/like", posts[0]["id"].as_str().unwrap()), json!({}))
            .await
            .expect(200);
    }
    a.kill9();

    let b = setup.start().await;
    let newest = posts.last().unwrap()["id"].clone();
    for follower in &followers {
        let on_b = via(&b, follower);
        eventually("every post in every follower's feed", Duration::from_secs(60), || async {
            let feed = on_b.get("/api/feed?limit=20").await.expect(200);
            let ids: Vec<Value> = feed["items"].as_array().unwrap().iter().map(|p| p["id"].clone()).collect();
            (ids.first() == Some(&newest) && posts.iter().all(|p| ids.contains(&p["id"]))).then_some(())
        })
        .await;
    }
    // The like syncs reached the store: with the cached like set gone, the post shows the
    // store's counter, and it counts all 40.
    let pid = posts[0]["id"].as_str().unwrap();
    let likes_key = format!("{}:likes:{{{pid}}}", setup.cache_namespace().unwrap());
    let post_path = format!("/api/posts/{pid}");
    eventually("all likes synced to the store", Duration::from_secs(60), || async {
        redis_cli(&["DEL", &likes_key]);
        let post = b.client().get(&post_path).await.expect(200);
        (post["like_count"] == 40).then_some(())
    })
    .await;
}

#[tokio::test]
async fn writes_on_one_instance_reach_a_stream_open_on_another() {
    let (a, b) = pair().await;
    let (alice, _) = a.client().register("alice").await;
    let (bob, bob_user) = a.client().register("bob").await;
    alice.follow(bob_user["id"].as_str().unwrap()).await;
    let mut stream = EventReader::open(&via(&b, &alice)).await;

    let post = bob.create_post("across instances").await;
    assert_eq!(stream.expect("post").await.data["id"], post["id"]);

    let mine = alice.create_post("like me").await;
    let mine_id = mine["id"].as_str().unwrap();
    bob.post(&format!("/api/posts/{mine_id}/like"), json!({})).await.expect(200);
    let [engagement, like] = stream.expect_each(["engagement", "notification"]).await;
    assert_eq!(engagement.data, json!({"post_id": mine_id, "like_count": 1, "comment_count": 0}));
    assert_eq!((like.data["kind"].as_str(), like.data["post_id"].as_str()), (Some("like"), Some(mine_id)));
    assert_eq!(like.id.as_deref(), like.data["id"].as_str());

    bob.post(&format!("/api/posts/{mine_id}/comments"), json!({"text": "nice"})).await.expect(201);
    let [engagement, comment] = stream.expect_each(["engagement", "notification"]).await;
    assert_eq!(engagement.data["comment_count"], 1);
    assert_eq!(comment.data["kind"], "comment");
}

/// Signs `username` in through `server`; the answer's token as a client.
async fn signed_in(server: &Server, username: &str) -> Client {
    let body = server
        .client()
        .post("/api/auth/login", json!({"username": username, "password": "password123"}))
        .await
        .expect(200);
    server.client().with_token(body["token"].as_str().unwrap())
}

#[tokio::test]
async fn a_suspension_ends_the_sessions_on_every_instance_at_once() {
    let (a, b) = pair().await;
    let (carol, _) = a.client().register("carol").await;
    let (dave, _) = a.client().register("dave").await;
    let (bob, _) = a.client().register("bob").await;
    // Both instances have checked (and cached) the sessions before the suspensions.
    for client in [&carol, &dave] {
        client.get("/api/me").await.expect(200);
        via(&b, client).get("/api/me").await.expect(200);
    }
    a.client().register("mod").await;
    let out = a.admin(&["grant-moderator", "mod"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let moderator = signed_in(&b, "mod").await;

    // Through the API on one instance...
    let report = json!({"target_type": "user", "target_id": "carol", "reason": "abuse"});
    let report = bob.post("/api/reports", report).await.expect(201);
    let path = format!("/api/admin/reports/{}/resolve", report["id"].as_str().unwrap());
    via(&a, &moderator).post(&path, json!({"action": "suspend"})).await.expect(200);
    via(&b, &carol).get("/api/me").await.expect_error(401, "unauthorized");
    carol.get("/api/me").await.expect_error(401, "unauthorized");
    b.client()
        .post("/api/auth/login", json!({"username": "carol", "password": "password123"}))
        .await
        .expect_error(403, "suspended");

    // ...and from the command line, which reaches the shared cache too.
    let out = b.admin(&["suspend", "dave"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dave.get("/api/me").await.expect_error(401, "unauthorized");
    via(&b, &dave).get("/api/me").await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn bad_sign_ins_are_counted_across_instances() {
    let setup = Setup::distributed().rate_limited().env("ROOST_LIMIT_SIGN_IN_FAILURES", "4");
    let (a, b) = (setup.start().await, setup.start().await);
    a.client().register("mallory_target").await;
    let bad = json!({"username": "mallory_target", "password": "wrong password"});
    // Two failures on each instance: four in all, the limit.
    for server in [&a, &b, &a, &b] {
        server.client().post("/api/auth/login", bad.clone()).await.expect_error(401, "invalid_credentials");
    }
    let good = json!({"username": "mallory_target", "password": "password123"});
    for server in [&a, &b] {
        let answer = server
            .client()
            .http
            .post(format!("{}/api/auth/login", server.base))
            .json(&good)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 429, "limited on {} too", server.base);
        assert!(answer.headers().contains_key("retry-after"));
    }
}
