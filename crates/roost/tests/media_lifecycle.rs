//! The media lifecycle: a post's images go with the post, an image is attached once,
//! uploads attached to nothing are swept after `unattached_media_max_age_secs`, and each
//! user's uploads stay within `media_quota_bytes`.

mod common;

use std::time::Duration;

use common::{eventually, png, Client, Server, Setup};
use serde_json::{json, Value};

async fn status(client: &Client, path: &str) -> u16 {
    client.http.get(format!("{}{path}", client.base)).send().await.unwrap().status().as_u16()
}

fn url(media: &Value, field: &str) -> String {
    media[field].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_deleted_posts_images_answer_404() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let media = alice.post_raw("/api/media", "image/png", png(12, 9)).await.expect(201);
    let post = alice.post("/api/posts", json!({"text": "pic", "media_ids": [media["id"]]})).await.expect(201);
    let (original, thumbnail) = (url(&media, "url"), url(&media, "thumbnail_url"));
    // (On S3 the API redirects to a presigned URL, which the client follows.)
    assert_eq!(status(&alice, &original).await, 200);

    alice.delete(&format!("/api/posts/{}", post["id"].as_str().unwrap())).await.expect(204);
    // The item goes with the post, so the URLs answer 404 at once.
    assert_eq!(status(&alice, &original).await, 404);
    assert_eq!(status(&alice, &thumbnail).await, 404);
    // The objects go with the retract job.
    let mid = media["id"].as_str().unwrap().to_string();
    eventually("the image's objects are deleted", Duration::from_secs(10), || async {
        server.dump_media().await.iter().all(|o| !o.contains(&mid)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_image_is_attached_once() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let media = alice.post_raw("/api/media", "image/png", png(4, 4)).await.expect(201);
    alice.post("/api/posts", json!({"text": "one", "media_ids": [media["id"]]})).await.expect(201);
    let again = alice.post("/api/posts", json!({"text": "two", "media_ids": [media["id"]]})).await;
    let error = again.expect_error(422, "validation_failed");
    assert!(error["error"]["message"].as_str().unwrap().contains("media_ids"), "{error}");
    let avatar = alice.patch("/api/me", json!({"avatar_media_id": media["id"]})).await;
    avatar.expect_error(422, "validation_failed");
}

#[tokio::test]
async fn unattached_uploads_are_swept_and_attached_ones_stay() {
    let server = Setup::new().env("ROOST_UNATTACHED_MEDIA_MAX_AGE_SECS", "2").start().await;
    let (alice, _) = server.client().register("alice").await;
    let stray = alice.post_raw("/api/media", "image/png", png(4, 4)).await.expect(201);
    let kept = alice.post_raw("/api/media", "image/png", png(5, 5)).await.expect(201);
    let avatar = alice.post_raw("/api/media", "image/png", png(6, 6)).await.expect(201);
    alice.post("/api/posts", json!({"text": "kept", "media_ids": [kept["id"]]})).await.expect(201);
    alice.patch("/api/me", json!({"avatar_media_id": avatar["id"]})).await.expect(200);

    eventually("the stray upload is swept", Duration::from_secs(15), || async {
        (status(&alice, &url(&stray, "url")).await == 404).then_some(())
    })
    .await;
    assert_eq!(status(&alice, &url(&stray, "thumbnail_url")).await, 404);
    for attached in [&kept, &avatar] {
        assert_ne!(status(&alice, &url(attached, "url")).await, 404, "{attached}");
    }
    let late = alice.post("/api/posts", json!({"text": "too late", "media_ids": [stray["id"]]})).await;
    late.expect_error(422, "validation_failed");
}

#[tokio::test]
async fn uploads_beyond_the_quota_are_413_until_space_is_freed() {
    let server = Setup::new().env("ROOST_MEDIA_QUOTA_BYTES", "4000").start().await;
    let (alice, _) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    let mut uploaded = Vec::new();
    let refused = loop {
        let answer = alice.post_raw("/api/media", "image/png", png(16, 16)).await;
        if answer.status != 201 {
            break answer;
        }
        uploaded.push(answer.body);
        assert!(uploaded.len() < 20, "the quota never took effect");
    };
    assert!(!uploaded.is_empty(), "the first upload fits the quota");
    let error = refused.expect_error(413, "too_large");
    assert!(error["error"]["message"].as_str().unwrap().contains("quota"), "{error}");
    // The quota is per user.
    bob.post_raw("/api/media", "image/png", png(16, 16)).await.expect(201);
    // A deleted post's images no longer count.
    let post =
        alice.post("/api/posts", json!({"text": "x", "media_ids": [uploaded[0]["id"]]})).await.expect(201);
    alice.delete(&format!("/api/posts/{}", post["id"].as_str().unwrap())).await.expect(204);
    alice.post_raw("/api/media", "image/png", png(16, 16)).await.expect(201);
}
