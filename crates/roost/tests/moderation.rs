//! Moderation over HTTP: reports, the moderators' queue and its actions, suspension, the
//! screening list, and moderators made with `roost admin` run beside the server.

mod common;

use common::{Answer, Client, Server, Setup};
use serde_json::{json, Value};

async fn sign_in(client: &Client, username: &str) -> Answer {
    client.anonymous().post("/api/auth/login", json!({"username": username, "password": "password123"})).await
}

/// Runs `roost admin ARGS` and returns its stdout, asserting success.
fn admin(server: &Server, args: &[&str]) -> String {
    let out = server.admin(args);
    assert!(out.status.success(), "roost admin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A moderator made the way an operator makes one: registered, granted the role by
/// `roost admin` beside the running server, then signed in again.
async fn moderator(server: &Server) -> Client {
    let (_, user) = server.client().register("mod").await;
    let out = admin(server, &["grant-moderator", "mod"]);
    assert!(out.contains("mod") && out.contains(user["id"].as_str().unwrap()), "{out}");
    let body = sign_in(&server.client(), "mod").await.expect(200);
    server.client().with_token(body["token"].as_str().unwrap())
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

async fn open_reports(moderator: &Client) -> Vec<Value> {
    moderator.walk("/api/admin/reports", 50).await
}

#[tokio::test]
async fn a_report_needs_a_known_target_and_a_reason() {
    let server = Server::start().await;
    let (alice, alice_user) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    let post = alice.post("/api/posts", json!({"text": "hello"})).await.expect(201);
    let comment =
        alice.post(&format!("/api/posts/{}/comments", id(&post)), json!({"text": "hi"})).await.expect(201);

    let report = json!({"target_type": "post", "target_id": id(&post), "reason": "spam"});
    bob.anonymous().post("/api/reports", report.clone()).await.expect_error(401, "unauthorized");
    let filed = bob.post("/api/reports", report).await.expect(201);
    assert_eq!(filed["target_type"], "post");
    assert_eq!(filed["target_id"], post["id"]);
    assert_eq!(filed["status"], "open");
    assert_eq!(filed["automatic"], false);
    assert_eq!(filed["reporter"]["username"], "bob");
    for (kind, target) in [("comment", id(&comment)), ("user", "alice"), ("user", id(&alice_user))] {
        let body = json!({"target_type": kind, "target_id": target, "reason": "rude"});
        let filed = bob.post("/api/reports", body).await.expect(201);
        assert_eq!(filed["target_type"], kind);
    }

    for (kind, target) in [("post", "01ARZ3NDEKTSV4RRFFQ69G5FAV"), ("comment", "nope"), ("user", "nobody")] {
        let body = json!({"target_type": kind, "target_id": target, "reason": "spam"});
        bob.post("/api/reports", body).await.expect_error(404, "not_found");
    }
    let bad = [
        json!({"target_type": "planet", "target_id": id(&post), "reason": "spam"}),
        json!({"target_type": "post", "target_id": id(&post), "reason": "   "}),
        json!({"target_type": "post", "target_id": id(&post), "reason": "x".repeat(501)}),
    ];
    for body in bad {
        bob.post("/api/reports", body).await.expect_error(422, "validation_failed");
    }
}

#[tokio::test]
async fn moderators_work_the_queue_and_remove_content() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    let post = alice.post("/api/posts", json!({"text": "buy my stuff"})).await.expect(201);
    let other = alice.post("/api/posts", json!({"text": "a post"})).await.expect(201);
    let comment = alice
        .post(&format!("/api/posts/{}/comments", id(&other)), json!({"text": "and more"}))
        .await
        .expect(201);
    let on_post = json!({"target_type": "post", "target_id": id(&post), "reason": "spam"});
    let first = bob.post("/api/reports", on_post).await.expect(201);
    let on_comment = json!({"target_type": "comment", "target_id": id(&comment), "reason": "spam"});
    let second = bob.post("/api/reports", on_comment).await.expect(201);

    // Not a moderator (yet).
    bob.get("/api/admin/reports").await.expect_error(403, "forbidden");
    let resolve = |rid: &str| format!("/api/admin/reports/{rid}/resolve");
    bob.post(&resolve(id(&first)), json!({"action": "remove"})).await.expect_error(403, "forbidden");
    bob.anonymous().get("/api/admin/reports").await.expect_error(401, "unauthorized");

    // An unknown user is an error the operator sees.
    let out = server.admin(&["grant-moderator", "nobody"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such user: nobody"));

    let moderator = moderator(&server).await;
    let reports = open_reports(&moderator).await;
    let ids: Vec<&str> = reports.iter().map(id).collect();
    assert_eq!(ids, [id(&first), id(&second)], "oldest first");
    assert_eq!(reports[0]["target"]["text"], "buy my stuff");
    assert_eq!(reports[0]["target"]["user"]["username"], "alice");
    assert_eq!(reports[1]["target"]["text"], "and more");

    moderator
        .post(&resolve(id(&first)), json!({"action": "ban"}))
        .await
        .expect_error(422, "validation_failed");
    moderator
        .post(&resolve("01ARZ3NDEKTSV4RRFFQ69G5FAV"), json!({"action": "dismiss"}))
        .await
        .expect_error(404, "not_found");
    let done = moderator.post(&resolve(id(&first)), json!({"action": "remove"})).await.expect(200);
    assert_eq!((done["status"].as_str(), done["action"].as_str()), (Some("resolved"), Some("remove")));
    assert!(done["target"].is_null(), "the post is gone: {done}");
    bob.get(&format!("/api/posts/{}", id(&post))).await.expect_error(404, "not_found");
    moderator
        .post(&resolve(id(&first)), json!({"action": "dismiss"}))
        .await
        .expect_error(409, "already_resolved");

    moderator.post(&resolve(id(&second)), json!({"action": "remove"})).await.expect(200);
    let thread = bob.get(&format!("/api/posts/{}/comments", id(&other))).await.expect(200);
    assert_eq!(thread["items"][0]["deleted"], true);
    assert!(open_reports(&moderator).await.is_empty());

    // Without the role, the queue is closed again from the next sign-in.
    admin(&server, &["revoke-moderator", "mod"]);
    let body = sign_in(&server.client(), "mod").await.expect(200);
    let again = server.client().with_token(body["token"].as_str().unwrap());
    again.get("/api/admin/reports").await.expect_error(403, "forbidden");
}

#[tokio::test]
async fn a_suspension_ends_the_sessions_at_once_and_blocks_sign_in() {
    let server = Server::start().await;
    let (carol, _) = server.client().register("carol").await;
    let (bob, _) = server.client().register("bob").await;
    // The session is checked (and cached) before the suspension.
    carol.get("/api/me").await.expect(200);
    let moderator = moderator(&server).await;

    let report = json!({"target_type": "user", "target_id": "carol", "reason": "abuse"});
    let report = bob.post("/api/reports", report).await.expect(201);
    let done = moderator
        .post(&format!("/api/admin/reports/{}/resolve", id(&report)), json!({"action": "suspend"}))
        .await
        .expect(200);
    assert_eq!(done["target"]["suspended"], true);
    carol.get("/api/me").await.expect_error(401, "unauthorized");
    carol.post("/api/posts", json!({"text": "still here?"})).await.expect_error(401, "unauthorized");
    sign_in(&server.client(), "carol").await.expect_error(403, "suspended");

    assert!(admin(&server, &["unsuspend", "carol"]).contains("carol"));
    let body = sign_in(&server.client(), "carol").await.expect(200);
    let back = server.client().with_token(body["token"].as_str().unwrap());
    back.post("/api/posts", json!({"text": "back"})).await.expect(201);
    // The sessions the suspension ended stay over.
    carol.get("/api/me").await.expect_error(401, "unauthorized");

    // From the command line too, beside the running server.
    admin(&server, &["suspend", "carol"]);
    sign_in(&server.client(), "carol").await.expect_error(403, "suspended");
}

#[tokio::test]
async fn screened_posts_are_held_for_review_and_published_on_dismiss() {
    // Unattached uploads are swept after a second here: a held post's image must survive
    // until the moderator decides.
    let server = Setup::new()
        .env("ROOST_SCREENING_WORDS", "crypto, scam")
        .env("ROOST_UNATTACHED_MEDIA_MAX_AGE_SECS", "1")
        .start()
        .await;
    let (alice, alice_user) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    bob.post(&format!("/api/users/{}/follow", id(&alice_user)), json!({})).await.expect(200);

    let image = alice.post_raw("/api/media", "image/png", common::png(8, 8)).await.expect(201);
    let held = json!({"text": "Free CRYPTO here", "media_ids": [id(&image)]});
    let held = alice.post("/api/posts", held).await.expect(201);
    assert_eq!(held["held"], true);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let path = format!("/api/posts/{}", id(&held));
    assert_eq!(alice.get(&path).await.expect(200)["held"], true);
    bob.get(&path).await.expect_error(404, "not_found");
    bob.anonymous().get(&path).await.expect_error(404, "not_found");
    let shown = |items: Vec<Value>| items.iter().any(|p| p["id"] == held["id"]);
    assert!(!shown(bob.walk("/api/feed", 50).await));
    assert!(!shown(bob.walk("/api/timeline", 50).await));
    assert!(!shown(bob.walk("/api/users/alice/posts", 50).await));
    let found = bob.get("/api/search/posts?q=crypto").await.expect(200);
    assert!(!shown(found["items"].as_array().unwrap().clone()));
    bob.post(&format!("{path}/like"), json!({})).await.expect_error(404, "not_found");

    let clean = alice.post("/api/posts", json!({"text": "a clean post"})).await.expect(201);
    assert!(clean.get("held").is_none(), "{clean}");
    let comments = format!("/api/posts/{}/comments", id(&clean));
    let held_comment = alice.post(&comments, json!({"text": "a scam"})).await.expect(201);
    assert_eq!(held_comment["held"], true);
    assert!(bob.get(&comments).await.expect(200)["items"].as_array().unwrap().is_empty());
    assert_eq!(bob.get(&format!("/api/posts/{}", id(&clean))).await.expect(200)["comment_count"], 0);

    let moderator = moderator(&server).await;
    assert_eq!(moderator.get(&path).await.expect(200)["held"], true);
    let reports = open_reports(&moderator).await;
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports.iter().all(|r| r["automatic"] == true && r["target"]["held"] == true));
    assert_eq!(reports[0]["target_id"], held["id"]);
    assert_eq!(reports[1]["target_id"], held_comment["id"]);

    let resolve = |r: &Value| format!("/api/admin/reports/{}/resolve", id(r));
    moderator.post(&resolve(&reports[0]), json!({"action": "dismiss"})).await.expect(200);
    let published = bob.get(&path).await.expect(200);
    assert!(published.get("held").is_none(), "{published}");
    assert_eq!(published["media"][0]["id"], image["id"], "{published}");
    let served =
        bob.request(reqwest::Method::GET, &format!("/api/media/{}", id(&image))).send().await.unwrap();
    assert_eq!(served.status(), 200, "the held post's image outlived the sweep");
    assert!(shown(bob.walk("/api/users/alice/posts", 50).await));
    assert!(shown(bob.walk("/api/timeline", 50).await));
    common::eventually(
        "the published post in the follower's feed",
        std::time::Duration::from_secs(10),
        || async { shown(bob.walk("/api/feed", 50).await).then_some(()) },
    )
    .await;

    moderator.post(&resolve(&reports[1]), json!({"action": "remove"})).await.expect(200);
    assert!(bob.get(&comments).await.expect(200)["items"].as_array().unwrap().is_empty());
    let report = json!({"target_type": "comment", "target_id": id(&held_comment), "reason": "x"});
    alice.post("/api/reports", report).await.expect_error(404, "not_found");
}
