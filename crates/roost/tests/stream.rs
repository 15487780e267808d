//! `GET /api/stream` over HTTP (docs/api.md, "realtime"): a new post reaches its author's
//! followers' streams, a like reaches the streams of the post's author and of whoever
//! loaded the post, each within a second; the token may come in the query on this route
//! only; closed streams do not disturb the others. (`cluster.rs` has the same across two
//! instances.)

mod common;

use common::sse::EventReader;
use common::Server;
use serde_json::{json, Value};

fn id_of(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

#[tokio::test]
async fn a_new_post_reaches_the_streams_of_followers_and_author() {
    let server = Server::start().await;
    let anonymous = server.client();
    let (alice, _) = anonymous.register("alice").await;
    let (bob, bob_user) = anonymous.register("bob").await;
    let (carol, _) = anonymous.register("carol").await;
    alice.follow(id_of(&bob_user)).await;
    let mut alice_stream = EventReader::open(&alice).await;
    let mut bob_stream = EventReader::open(&bob).await;
    let mut carol_stream = EventReader::open(&carol).await;

    let post = bob.create_post("hello followers").await;
    for stream in [&mut alice_stream, &mut bob_stream] {
        let event = stream.expect("post").await;
        assert_eq!(event.data["id"], post["id"]);
        assert_eq!(event.data["author"]["id"], bob_user["id"]);
        assert_eq!(event.data["text"], "hello followers");
        assert_eq!(event.id, None);
    }
    // Carol does not follow Bob: the first post event she gets is her own.
    let own = carol.create_post("mine").await;
    assert_eq!(carol_stream.expect("post").await.data["id"], own["id"]);
}

#[tokio::test]
async fn a_like_reaches_the_author_and_whoever_loaded_the_post() {
    let server = Server::start().await;
    let anonymous = server.client();
    let (alice, _) = anonymous.register("alice").await;
    let (carol, _) = anonymous.register("carol").await;
    let (dave, _) = anonymous.register("dave").await;
    let post = alice.create_post("like me").await;
    let like = format!("/api/posts/{}/like", id_of(&post));
    let mut alice_stream = EventReader::open(&alice).await;
    let mut dave_stream = EventReader::open(&dave).await;
    // Dave loads the post while his stream is open: its engagement now interests him.
    dave.get(&format!("/api/posts/{}", id_of(&post))).await.expect(200);

    carol.post(&like, json!({})).await.expect(200);
    let expected = json!({"post_id": post["id"], "like_count": 1, "comment_count": 0});
    assert_eq!(alice_stream.expect("engagement").await.data, expected);
    assert_eq!(dave_stream.expect("engagement").await.data, expected);

    carol.delete(&like).await.expect(200);
    let expected = json!({"post_id": post["id"], "like_count": 0, "comment_count": 0});
    assert_eq!(alice_stream.expect("engagement").await.data, expected);
    assert_eq!(dave_stream.expect("engagement").await.data, expected);
}

#[tokio::test]
async fn the_stream_needs_a_valid_token() {
    let server = Server::start().await;
    let anonymous = server.client();
    anonymous.get("/api/stream").await.expect_error(401, "unauthorized");
    anonymous.with_token("not-a-token").get("/api/stream").await.expect_error(401, "unauthorized");
    anonymous.get("/api/stream?access_token=not-a-token").await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn the_query_token_is_accepted_on_the_stream_only() {
    let server = Server::start().await;
    let anonymous = server.client();
    let (alice, _) = anonymous.register("alice").await;
    let token = alice.token.clone().unwrap();
    let url = format!("{}/api/stream?access_token={token}", server.base);
    let response = reqwest::Client::new().get(url).send().await.unwrap();
    let mut stream = EventReader::from_response(response);
    let post = alice.create_post("seen through a query token").await;
    assert_eq!(stream.expect("post").await.data["id"], post["id"]);

    anonymous.get(&format!("/api/me?access_token={token}")).await.expect_error(401, "unauthorized");
    let path = format!("/api/posts?access_token={token}");
    anonymous.post(&path, json!({"text": "no"})).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_malformed_last_event_id_is_422() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let request = alice.request(reqwest::Method::GET, "/api/stream").header("last-event-id", "yesterday");
    alice.send(request).await.expect_error(422, "validation_failed");
}

#[tokio::test]
async fn closed_streams_do_not_disturb_open_ones() {
    let server = Server::start().await;
    let anonymous = server.client();
    let (alice, _) = anonymous.register("alice").await;
    for _ in 0..50 {
        drop(EventReader::open(&alice).await);
    }
    let mut stream = EventReader::open(&alice).await;
    let post = alice.create_post("still delivered").await;
    assert_eq!(stream.expect("post").await.data["id"], post["id"]);
}

#[tokio::test]
async fn a_like_and_a_comment_reach_the_authors_stream_as_notification_and_engagement() {
    let server = Server::start().await;
    let anonymous = server.client();
    let (alice, _) = anonymous.register("alice").await;
    let (bob, _) = anonymous.register("bob").await;
    let post = alice.create_post("talk to me").await;
    let pid = id_of(&post);
    let mut stream = EventReader::open(&alice).await;

    bob.post(&format!("/api/posts/{pid}/like"), json!({})).await.expect(200);
    let [engagement, like] = stream.expect_each(["engagement", "notification"]).await;
    assert_eq!(engagement.data, json!({"post_id": pid, "like_count": 1, "comment_count": 0}));
    assert_eq!(
        (like.data["kind"].as_str(), like.data["actor"]["username"].as_str()),
        (Some("like"), Some("bob"))
    );
    assert_eq!(like.id.as_deref(), like.data["id"].as_str(), "the event id is the notification's");

    bob.post(&format!("/api/posts/{pid}/comments"), json!({"text": "hi @alice"})).await.expect(201);
    let [engagement, comment] = stream.expect_each(["engagement", "notification"]).await;
    assert_eq!(engagement.data, json!({"post_id": pid, "like_count": 1, "comment_count": 1}));
    assert_eq!(comment.data["kind"], "comment");
}

#[tokio::test]
async fn a_resumed_stream_replays_the_notifications_it_missed() {
    let server = Server::start().await;
    let anonymous = server.client();
    let (alice, alice_user) = anonymous.register("alice").await;
    let (bob, _) = anonymous.register("bob").await;
    let (carol, _) = anonymous.register("carol").await;
    let mut stream = EventReader::open(&alice).await;
    bob.follow(id_of(&alice_user)).await;
    let first = stream.expect("notification").await;
    drop(stream);
    carol.follow(id_of(&alice_user)).await;

    let request = alice
        .request(reqwest::Method::GET, "/api/stream")
        .header("Last-Event-ID", first.id.clone().expect("an event id"));
    let mut resumed = EventReader::from_response(request.send().await.unwrap());
    let missed = resumed.expect("notification").await;
    assert_eq!(
        (missed.data["kind"].as_str(), missed.data["actor"]["username"].as_str()),
        (Some("follow"), Some("carol"))
    );
}
