//! Posts over HTTP (docs/api.md, "posts" and "feeds"): creating them (JSON and multipart) with
//! their validation errors, reading and deleting one, a user's posts and the public
//! timeline, newest first and cursor-paginated.

mod common;

use std::time::Duration;

use common::{eventually, ids_of, png, texts_of, Client, Server};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

/// Makes sure the next post gets a later millisecond than the previous one.
async fn next_millisecond() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

fn assert_rfc3339_utc(value: &Value) {
    let s = value.as_str().unwrap_or_else(|| panic!("not a string: {value}"));
    let ok = s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' && s.ends_with('Z');
    assert!(ok, "not an RFC 3339 UTC time: {s}");
}

#[tokio::test]
async fn json_post_answers_201_with_every_post_field() {
    let server = Server::start().await;
    let (alice, user) = server.client().register("alice").await;
    let post = alice.post("/api/posts", json!({"text": "hello, roost"})).await.expect(201);
    assert!(post["id"].as_str().is_some_and(|s| !s.is_empty()), "{post}");
    assert_eq!(post["text"], "hello, roost");
    assert_eq!(post["author"]["id"], user["id"]);
    assert_eq!(post["author"]["username"], "alice");
    assert_eq!(post["author"]["display_name"], user["display_name"]);
    assert!(post["author"].get("avatar_url").is_some(), "author without avatar_url: {post}");
    assert_eq!(post["media"], json!([]));
    assert_eq!(post["reply_to"], Value::Null);
    assert!(post.get("reply_to").is_some(), "no reply_to field: {post}");
    assert_eq!(post["like_count"], 0);
    assert_eq!(post["comment_count"], 0);
    assert_eq!(post["liked_by_me"], false);
    assert_rfc3339_utc(&post["created_at"]);
    let me = alice.get("/api/me").await.expect(200);
    assert_eq!(me["posts_count"], 1);
}

#[tokio::test]
async fn json_post_attaches_uploaded_media() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let media = alice.post_raw("/api/media", "image/png", png(12, 9)).await.expect(201);
    let post =
        alice.post("/api/posts", json!({"text": "a picture", "media_ids": [media["id"]]})).await.expect(201);
    let attached = post["media"].as_array().unwrap();
    assert_eq!(attached.len(), 1, "{post}");
    for field in ["id", "url", "content_type", "size", "width", "height"] {
        assert_eq!(attached[0][field], media[field], "media field {field}");
    }
    let read = alice.get(&format!("/api/posts/{}", post["id"].as_str().unwrap())).await.expect(200);
    assert_eq!(read["media"], post["media"]);
}

#[tokio::test]
async fn media_post_may_have_empty_text() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let media = alice.post_raw("/api/media", "image/png", png(4, 4)).await.expect(201);
    let post = alice.post("/api/posts", json!({"text": "", "media_ids": [media["id"]]})).await.expect(201);
    assert_eq!(post["text"], "");
    assert_eq!(post["media"][0]["id"], media["id"]);
}

#[tokio::test]
async fn multipart_post_uploads_and_attaches_the_file() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let form = Form::new()
        .text("text", "sunset")
        .part("file", Part::bytes(png(30, 20)).file_name("sunset.png").mime_str("image/png").unwrap());
    let post = alice.post_form("/api/posts", form).await.expect(201);
    assert_eq!(post["text"], "sunset");
    assert_eq!(post["like_count"], 0);
    assert_eq!(post["liked_by_me"], false);
    let media = &post["media"][0];
    assert_eq!(media["content_type"], "image/png");
    assert_eq!((media["width"].as_u64(), media["height"].as_u64()), (Some(30), Some(20)));
    let served =
        alice.anonymous().request(reqwest::Method::GET, media["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(served.status(), 200);
}

#[tokio::test]
async fn creating_a_post_without_token_is_401() {
    let server = Server::start().await;
    let client = server.client();
    client.post("/api/posts", json!({"text": "anonymous"})).await.expect_error(401, "unauthorized");
    let form = Form::new().text("text", "anonymous");
    client.post_form("/api/posts", form).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn empty_post_without_media_is_422_naming_text() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    for body in [json!({"text": ""}), json!({"text": "   "}), json!({"text": "", "media_ids": []})] {
        let error = alice.post("/api/posts", body).await.expect_error(422, "validation_failed");
        assert!(error["error"]["message"].as_str().unwrap().contains("text"), "{error}");
    }
    assert_eq!(alice.get("/api/me").await.expect(200)["posts_count"], 0);
}

#[tokio::test]
async fn text_of_500_chars_is_accepted_and_501_refused_naming_text() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    // Characters, not bytes: a multi-byte letter counts once.
    let max = "é".repeat(500);
    assert_eq!(alice.post("/api/posts", json!({"text": max})).await.expect(201)["text"], max);
    let error = alice
        .post("/api/posts", json!({"text": "x".repeat(501)}))
        .await
        .expect_error(422, "validation_failed");
    assert!(error["error"]["message"].as_str().unwrap().contains("text"), "{error}");
}

#[tokio::test]
async fn someone_elses_media_is_422() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let media = alice.post_raw("/api/media", "image/png", png(4, 4)).await.expect(201);
    let body = json!({"text": "not mine", "media_ids": [media["id"]]});
    let error = bob.post("/api/posts", body).await.expect_error(422, "validation_failed");
    assert!(error["error"]["message"].as_str().unwrap().contains("media_ids"), "{error}");
    let unknown = json!({"text": "no such image", "media_ids": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"]});
    bob.post("/api/posts", unknown).await.expect_error(422, "validation_failed");
}

#[tokio::test]
async fn reply_names_its_parent_and_an_unknown_parent_is_422() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let parent = alice.create_post("question").await;
    let reply = bob.post("/api/posts", json!({"text": "answer", "reply_to": parent["id"]})).await.expect(201);
    assert_eq!(reply["reply_to"], parent["id"]);
    let body = json!({"text": "answer", "reply_to": "01ARZ3NDEKTSV4RRFFQ69G5FAV"});
    let error = bob.post("/api/posts", body).await.expect_error(422, "validation_failed");
    assert!(error["error"]["message"].as_str().unwrap().contains("reply_to"), "{error}");
}

#[tokio::test]
async fn multipart_post_with_a_non_image_file_is_415() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let form = Form::new().text("text", "look").part(
        "file",
        Part::bytes(b"just some text".repeat(10)).file_name("a.png").mime_str("image/png").unwrap(),
    );
    alice.post_form("/api/posts", form).await.expect_error(415, "unsupported_media_type");
    assert_eq!(alice.get("/api/me").await.expect(200)["posts_count"], 0);
}

#[tokio::test]
async fn get_post_answers_200_or_404() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let post = alice.create_post("readable").await;
    let path = format!("/api/posts/{}", post["id"].as_str().unwrap());
    let read = server.client().get(&path).await.expect(200);
    assert_eq!(read, post);
    alice.get("/api/posts/01ARZ3NDEKTSV4RRFFQ69G5FAV").await.expect_error(404, "not_found");
    alice.get("/api/posts/nonsense").await.expect_error(404, "not_found");
}

#[tokio::test]
async fn author_deletes_with_204_others_get_403_unknown_404() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let post = alice.create_post("mine").await;
    let path = format!("/api/posts/{}", post["id"].as_str().unwrap());
    bob.delete(&path).await.expect_error(403, "forbidden");
    client.delete(&path).await.expect_error(401, "unauthorized");
    alice.get(&path).await.expect(200);
    alice.delete(&path).await.expect(204);
    alice.get(&path).await.expect_error(404, "not_found");
    alice.delete("/api/posts/01ARZ3NDEKTSV4RRFFQ69G5FAV").await.expect_error(404, "not_found");
    assert_eq!(alice.get("/api/me").await.expect(200)["posts_count"], 0);
}

#[tokio::test]
async fn deleted_post_disappears_from_every_list() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, user) = client.register("alice").await;
    let followers = common::register_many(&client, "reader", 3, 3).await;
    for (reader, _) in &followers {
        reader.follow(user["id"].as_str().unwrap()).await;
    }
    let kept = alice.create_post("kept").await;
    let doomed = alice.create_post("doomed").await;
    let doomed_id = doomed["id"].as_str().unwrap().to_string();
    let has_doomed = |items: Vec<Value>| ids_of(&items).contains(&doomed_id);
    // Wait until it is everywhere, then delete it.
    for (reader, _) in &followers {
        eventually("the post reaches the follower's feed", WAIT, || async {
            has_doomed(reader.walk("/api/feed", 100).await).then_some(())
        })
        .await;
    }
    let posts_path = format!("/api/users/{}/posts", user["id"].as_str().unwrap());
    assert!(has_doomed(client.walk(&posts_path, 100).await));
    assert!(has_doomed(client.walk("/api/timeline", 100).await));

    alice.delete(&format!("/api/posts/{doomed_id}")).await.expect(204);
    client.get(&format!("/api/posts/{doomed_id}")).await.expect_error(404, "not_found");
    assert_eq!(ids_of(&client.walk(&posts_path, 100).await), vec![kept["id"].as_str().unwrap()]);
    assert_eq!(ids_of(&client.walk("/api/timeline", 100).await), vec![kept["id"].as_str().unwrap()]);
    assert_eq!(ids_of(&alice.walk("/api/feed", 100).await), vec![kept["id"].as_str().unwrap()]);
    for (reader, _) in &followers {
        eventually("the deleted post leaves the follower's feed", WAIT, || async {
            let feed = reader.walk("/api/feed", 100).await;
            (!has_doomed(feed.clone()) && ids_of(&feed) == vec![kept["id"].as_str().unwrap()]).then_some(())
        })
        .await;
    }
}

/// Creates `n` posts `{prefix}{i}` a millisecond apart; returns them oldest first.
async fn create_posts(author: &Client, prefix: &str, n: usize) -> Vec<Value> {
    let mut posts = Vec::new();
    for i in 0..n {
        posts.push(author.create_post(&format!("{prefix}{i}")).await);
        next_millisecond().await;
    }
    posts
}

#[tokio::test]
async fn user_posts_are_newest_first_and_paginate() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, user) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let posts = create_posts(&alice, "alice ", 10).await;
    bob.create_post("not alice's").await;
    let mut expected = ids_of(&posts);
    expected.reverse();
    let path = format!("/api/users/{}/posts", user["id"].as_str().unwrap());
    // A page of 3: cursors are handed out until the list ends.
    let first = client.get(&format!("{path}?limit=3")).await.expect(200);
    assert_eq!(ids_of(first["items"].as_array().unwrap()), expected[..3]);
    assert!(first["next_cursor"].is_string());
    assert_eq!(ids_of(&client.walk(&path, 3).await), expected);
    assert_eq!(ids_of(&client.walk(&path, 100).await), expected);
    // The username names the user too.
    assert_eq!(ids_of(&client.walk("/api/users/alice/posts", 4).await), expected);
    client.get("/api/users/nobody_here/posts").await.expect_error(404, "not_found");
}

#[tokio::test]
async fn timeline_is_newest_first_and_paginates() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let mut posts = Vec::new();
    for i in 0..13 {
        let author = if i % 3 == 0 { &bob } else { &alice };
        posts.push(author.create_post(&format!("post {i}")).await);
        next_millisecond().await;
    }
    let mut expected = ids_of(&posts);
    expected.reverse();
    let first = client.get("/api/timeline?limit=4").await.expect(200);
    assert_eq!(ids_of(first["items"].as_array().unwrap()), expected[..4]);
    assert!(first["next_cursor"].is_string());
    assert_eq!(ids_of(&client.walk("/api/timeline", 4).await), expected);
    assert_eq!(ids_of(&client.walk("/api/timeline", 13).await), expected);
    assert_eq!(ids_of(&alice.walk("/api/timeline", 5).await), expected);
}

#[tokio::test]
async fn timeline_window_keeps_posts_from_since_up_to_until() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let posts = create_posts(&alice, "post ", 5).await;
    let at = |i: usize| posts[i]["created_at"].as_str().unwrap().to_string();
    // [since, until): from post 1's time, up to (not including) post 4's.
    let path = format!("/api/timeline?since={}&until={}", urlencode(&at(1)), urlencode(&at(4)));
    assert_eq!(texts_of(&alice.walk(&path, 2).await), ["post 3", "post 2", "post 1"]);
    let path = format!("/api/timeline?since={}", urlencode(&at(3)));
    assert_eq!(texts_of(&alice.walk(&path, 100).await), ["post 4", "post 3"]);
    let path = format!("/api/timeline?until={}", urlencode(&at(2)));
    assert_eq!(texts_of(&alice.walk(&path, 100).await), ["post 1", "post 0"]);
    // A window that ended before anything was posted is empty.
    let page =
        alice.get("/api/timeline?since=2001-01-01T00:00:00Z&until=2001-01-02T00:00:00Z").await.expect(200);
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["next_cursor"], Value::Null);
}

#[tokio::test]
async fn timeline_with_bad_times_is_422() {
    let server = Server::start().await;
    let client = server.client();
    for (query, field) in [
        ("since=yesterday", "since"),
        ("until=2024-13-45T00:00:00Z", "until"),
        ("since=2024-01-02T00:00:00Z&until=2024-01-01T00:00:00Z", "since"),
        ("since=2024-01-01T00:00:00Z&until=2024-01-01T00:00:00Z", "since"),
        // Wider than the widest window the timeline reads (7 days).
        ("since=2024-01-01T00:00:00Z&until=2024-02-01T00:00:00Z", "since"),
    ] {
        let error =
            client.get(&format!("/api/timeline?{query}")).await.expect_error(422, "validation_failed");
        assert!(error["error"]["message"].as_str().unwrap().contains(field), "{query}: {error}");
    }
}

/// Percent-encodes what RFC 3339 times contain that a query string cannot (`+`, `:`).
fn urlencode(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

#[tokio::test]
async fn post_body_over_the_size_limit_is_413() {
    let server = common::Setup::new().env("ROOST_MEDIA_MAX_BYTES", "100000").start().await;
    let (alice, _) = server.client().register("alice").await;
    // More than any post (or an image and a form around it) may be: the limit on a body is
    // the image limit plus 1 MiB. (Not much more: the server answers as soon as it has
    // read too much, and a client still writing may not see the answer.)
    let huge = "x".repeat(100_000 + (1 << 20) + 50_000);
    alice.post("/api/posts", json!({ "text": huge })).await.expect_error(413, "too_large");
    let form = Form::new().text("text", huge);
    alice.post_form("/api/posts", form).await.expect_error(413, "too_large");
    let form = Form::new()
        .text("text", "big picture")
        .part("file", Part::bytes(vec![0u8; 150_000]).file_name("big.png").mime_str("image/png").unwrap());
    alice.post_form("/api/posts", form).await.expect_error(413, "too_large");
    assert_eq!(alice.get("/api/me").await.expect(200)["posts_count"], 0);
}
