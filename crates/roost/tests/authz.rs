//! Authorization, route by route: every operation of the served document that needs a token
//! is in [`CASES`], and each that can name something another user owns has a test here in
//! which another (non-moderator) user is refused as the document says and the thing is left
//! as it was. A new route without a case fails `every_operation_that_needs_a_token_has_a_case`,
//! so nobody adds an owned resource without deciding who may touch it.

mod common;

use common::{png, Client, Server};
use serde_json::{json, Value};

/// Why an operation is safe against another user.
enum Case {
    /// It can name another user's resource: the named test proves the refusal.
    Tested(&'static str),
    /// It names nothing but the caller's own things (no id in the path, none in the body):
    /// there is no one else's to reach.
    CallerOnly,
    /// Acting on another user's things is what it is for (following, liking, commenting,
    /// reporting); who may not (blocked users) is tests/blocks.rs's matter.
    Open,
}

use Case::*;

/// Every operation that needs a token, `METHOD path` as the document writes it.
const CASES: &[(&str, Case)] = &[
    ("DELETE /api/posts/{id}", Tested("another_users_post_cannot_be_deleted")),
    ("DELETE /api/comments/{id}", Tested("another_users_comment_cannot_be_deleted")),
    ("GET /api/admin/reports", Tested("reports_are_for_moderators_only")),
    ("POST /api/admin/reports/{id}/resolve", Tested("reports_are_for_moderators_only")),
    ("GET /api/admin/stats", Tested("operations_figures_are_for_moderators_only")),
    ("GET /api/admin/cost", Tested("operations_figures_are_for_moderators_only")),
    ("POST /api/posts", Tested("another_users_image_cannot_be_attached")),
    ("POST /api/media", Tested("another_users_image_cannot_be_attached")),
    ("PATCH /api/me", Tested("a_profile_edit_touches_only_the_callers_profile")),
    ("POST /api/notifications/read", Tested("notifications_are_the_callers_own")),
    ("GET /api/notifications", Tested("notifications_are_the_callers_own")),
    ("GET /api/me/export", Tested("an_export_holds_only_the_callers_things")),
    ("POST /api/auth/logout", Tested("a_session_ends_only_itself")),
    ("GET /api/me", CallerOnly),
    ("DELETE /api/me", CallerOnly),
    ("POST /api/me/password", CallerOnly),
    ("GET /api/me/blocks", CallerOnly),
    ("GET /api/me/mutes", CallerOnly),
    ("GET /api/feed", CallerOnly),
    ("GET /api/stream", CallerOnly),
    ("GET /api/users/suggestions", CallerOnly),
    ("POST /api/posts/{id}/like", Open),
    ("DELETE /api/posts/{id}/like", Open),
    ("POST /api/posts/{id}/comments", Open),
    ("POST /api/reports", Open),
    ("POST /api/users/{user}/follow", Open),
    ("DELETE /api/users/{user}/follow", Open),
    ("POST /api/users/{user}/block", Open),
    ("DELETE /api/users/{user}/block", Open),
    ("POST /api/users/{user}/mute", Open),
    ("DELETE /api/users/{user}/mute", Open),
];

/// This file, to check that each case names a test that exists.
const SOURCE: &str = include_str!("authz.rs");

/// `METHOD path` of every operation whose security requires the bearer token (an empty
/// requirement among them makes the token optional: a public operation).
fn token_operations(doc: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let requirements = op["security"].as_array().map(Vec::as_slice).unwrap_or_default();
            let optional = requirements.iter().any(|r| r.as_object().is_some_and(|r| r.is_empty()));
            if !requirements.is_empty() && !optional {
                found.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn every_operation_that_needs_a_token_has_a_case() {
    let server = Server::start().await;
    let doc = server.client().get("/api/openapi.json").await.expect(200);
    let documented = token_operations(&doc);
    let missing: Vec<&String> = documented.iter().filter(|op| !CASES.iter().any(|(c, _)| c == op)).collect();
    assert!(
        missing.is_empty(),
        "operations that need a token but have no case in tests/authz.rs: {missing:#?}"
    );
    let stale: Vec<&str> =
        CASES.iter().map(|(op, _)| *op).filter(|op| !documented.iter().any(|d| d == op)).collect();
    assert!(stale.is_empty(), "cases for operations the document no longer has (or made public): {stale:#?}");
    for (op, case) in CASES {
        if let Tested(name) = case {
            let test = format!("#[tokio::test]\nasync fn {name}()");
            assert!(SOURCE.contains(&test), "{op}: no test named {name} in tests/authz.rs");
        }
    }
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

/// Two users who follow each other (so each can see and act on the other's things).
async fn two_users(server: &Server) -> ((Client, Value), (Client, Value)) {
    let client = server.client();
    let (alice, a) = client.register("alice").await;
    let (mallory, m) = client.register("mallory").await;
    alice.follow(id(&m)).await;
    mallory.follow(id(&a)).await;
    ((alice, a), (mallory, m))
}

#[tokio::test]
async fn another_users_post_cannot_be_deleted() {
    let server = Server::start().await;
    let ((alice, _), (mallory, _)) = two_users(&server).await;
    let post = alice.create_post("mine").await;
    let path = format!("/api/posts/{}", id(&post));
    mallory.delete(&path).await.expect_error(403, "forbidden");
    let after = alice.anonymous().get(&path).await.expect(200);
    assert_eq!(after["text"], "mine");
}

#[tokio::test]
async fn another_users_comment_cannot_be_deleted() {
    let server = Server::start().await;
    let ((alice, _), (mallory, _)) = two_users(&server).await;
    let post = mallory.create_post("comment here").await;
    let comments = format!("/api/posts/{}/comments", id(&post));
    let comment = alice.post(&comments, json!({"text": "alice's comment"})).await.expect(201);
    // Not even the post's author deletes someone else's comment.
    mallory.delete(&format!("/api/comments/{}", id(&comment))).await.expect_error(403, "forbidden");
    let list = alice.anonymous().get(&comments).await.expect(200);
    assert_eq!(list["items"][0]["id"], comment["id"]);
    assert_eq!(list["items"][0]["deleted"], false);
    assert_eq!(list["items"][0]["text"], "alice's comment");
}

#[tokio::test]
async fn reports_are_for_moderators_only() {
    let server = Server::start().await;
    let ((alice, _), (mallory, m)) = two_users(&server).await;
    let post = mallory.create_post("spam").await;
    let report = alice
        .post("/api/reports", json!({"target_type": "post", "target_id": id(&post), "reason": "spam"}))
        .await
        .expect(201);
    // Neither the reporter nor the reported reads the queue or resolves it.
    for user in [&alice, &mallory] {
        user.get("/api/admin/reports").await.expect_error(403, "forbidden");
        let resolve = format!("/api/admin/reports/{}/resolve", id(&report));
        user.post(&resolve, json!({"action": "dismiss"})).await.expect_error(403, "forbidden");
    }
    // Still open, and the post still there: a moderator finds both as they were.
    let moderator = server.grant_moderator("alice").await;
    let open = moderator.walk("/api/admin/reports", 50).await;
    assert!(open.iter().any(|r| r["id"] == report["id"]), "the report is no longer open: {open:?}");
    mallory.get(&format!("/api/posts/{}", id(&post))).await.expect(200);
    assert_eq!(m["id"], mallory.get("/api/me").await.expect(200)["id"], "mallory is not suspended");
}

#[tokio::test]
async fn operations_figures_are_for_moderators_only() {
    let server = Server::start().await;
    let ((alice, _), _) = two_users(&server).await;
    for path in ["/api/admin/stats", "/api/admin/cost"] {
        alice.get(path).await.expect_error(403, "forbidden");
    }
    let moderator = server.grant_moderator("alice").await;
    for path in ["/api/admin/stats", "/api/admin/cost"] {
        moderator.get(path).await.expect(200);
    }
}

#[tokio::test]
async fn another_users_image_cannot_be_attached() {
    let server = Server::start().await;
    let ((alice, _), (mallory, _)) = two_users(&server).await;
    let image = alice.post_raw("/api/media", "image/png", png(8, 8)).await.expect(201);
    let body = json!({"text": "look", "media_ids": [id(&image)]});
    let refused = mallory.post("/api/posts", body.clone()).await.expect_error(422, "validation_failed");
    assert!(refused["error"]["message"].as_str().unwrap().contains("media_ids"), "{refused}");
    assert_eq!(mallory.get("/api/me").await.expect(200)["posts_count"], 0, "no post was made");
    // Still alice's to use.
    let post = alice.post("/api/posts", body).await.expect(201);
    assert_eq!(post["media"][0]["id"], image["id"]);
}

#[tokio::test]
async fn a_profile_edit_touches_only_the_callers_profile() {
    let server = Server::start().await;
    let ((alice, a), (mallory, _)) = two_users(&server).await;
    let image = alice.post_raw("/api/media", "image/png", png(8, 8)).await.expect(201);
    // Another's image as one's avatar is refused; naming another user in the body does nothing.
    mallory
        .patch("/api/me", json!({"avatar_media_id": id(&image)}))
        .await
        .expect_error(422, "validation_failed");
    let edited = mallory
        .patch("/api/me", json!({"id": a["id"], "username": "alice", "display_name": "Mallory"}))
        .await
        .expect(200);
    assert_eq!(edited["username"], "mallory");
    let alice_now = alice.anonymous().get("/api/users/alice").await.expect(200);
    assert_eq!(alice_now["display_name"], a["display_name"]);
    assert_eq!(alice_now["avatar_url"], Value::Null);
    // The image was not taken: alice still makes it her avatar.
    alice.patch("/api/me", json!({"avatar_media_id": id(&image)})).await.expect(200);
}

#[tokio::test]
async fn notifications_are_the_callers_own() {
    let server = Server::start().await;
    let ((alice, _), (mallory, _)) = two_users(&server).await;
    // Each has the other's follow; alice gets a like too.
    let post = alice.create_post("like me").await;
    mallory.post(&format!("/api/posts/{}/like", id(&post)), json!({})).await.expect(200);
    let alices = common::eventually("alice's notifications", std::time::Duration::from_secs(20), || async {
        let items = alice.walk("/api/notifications", 100).await;
        (items.len() >= 2).then_some(items)
    })
    .await;
    let mallorys = mallory.walk("/api/notifications", 100).await;
    assert!(
        mallorys.iter().all(|n| !alices.iter().any(|a| a["id"] == n["id"])),
        "alice's notifications in mallory's list"
    );
    let unread = alice.get("/api/me").await.expect(200)["unread_notifications"].clone();
    // Marking up to alice's newest moves only mallory's marker.
    mallory.post("/api/notifications/read", json!({"up_to_id": alices[0]["id"]})).await.expect(204);
    assert_eq!(alice.get("/api/me").await.expect(200)["unread_notifications"], unread);
    let still: Vec<bool> =
        alice.walk("/api/notifications", 100).await.iter().map(|n| n["read"].as_bool().unwrap()).collect();
    assert!(still.iter().all(|read| !read), "alice's notifications were marked read: {still:?}");
}

#[tokio::test]
async fn an_export_holds_only_the_callers_things() {
    let server = Server::start().await;
    let ((alice, _), (mallory, m)) = two_users(&server).await;
    let secret = alice.create_post("alice's post").await;
    alice.post("/api/users/mallory/mute", json!({})).await.expect(200);
    let response = mallory.request(reqwest::Method::GET, "/api/me/export").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let archive: Value = response.json().await.unwrap();
    assert_eq!(archive["profile"]["id"], m["id"]);
    let text = archive.to_string();
    assert!(
        !text.contains("alice's post") && !text.contains(id(&secret)),
        "alice's post in mallory's export"
    );
    assert!(archive["posts"].as_array().unwrap().is_empty(), "{}", archive["posts"]);
}

#[tokio::test]
async fn a_session_ends_only_itself() {
    let server = Server::start().await;
    let ((alice, _), (mallory, _)) = two_users(&server).await;
    mallory.post("/api/auth/logout", json!({})).await.expect(204);
    mallory.get("/api/me").await.expect_error(401, "unauthorized");
    assert_eq!(alice.get("/api/me").await.expect(200)["username"], "alice");
}
