//! `GET /api/stream` over HTTP (docs/api.md, "realtime"): a new post reaches its author's
//! followers' streams, a like reaches the streams of the post's author and of whoever
//! loaded the post, each within a second; the token may come in the query on this route
//! only; closed streams do not disturb the others. In distributed mode, a write through one
//! instance reaches a stream open on another (the cache's pub/sub is Redis).

mod common;

use std::time::Duration;

use common::{Client, Server, Setup};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// How soon an event must arrive after the write that caused it.
const WITHIN: Duration = Duration::from_secs(1);

/// One parsed server-sent event.
#[derive(Debug)]
struct SseEvent {
    event: String,
    id: Option<String>,
    data: Value,
}

/// An open stream, read event by event.
struct EventReader {
    response: reqwest::Response,
    buffer: String,
}

impl EventReader {
    async fn open(client: &Client) -> EventReader {
        let response = client.request(reqwest::Method::GET, "/api/stream").send().await.unwrap();
        EventReader::from_response(response)
    }

    fn from_response(response: reqwest::Response) -> EventReader {
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        EventReader { response, buffer: String::new() }
    }

    /// The next event (comment-only blocks, the keep-alives, are skipped).
    async fn next(&mut self) -> SseEvent {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return event;
                }
                continue;
            }
            let chunk = self.response.chunk().await.unwrap().expect("the stream ended");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next event of kind `kind`, which must come within `WITHIN`.
    async fn expect(&mut self, kind: &str) -> SseEvent {
        tokio::time::timeout(WITHIN, async {
            loop {
                let event = self.next().await;
                if event.event == kind {
                    return event;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {kind} event within {WITHIN:?}"))
    }
}

fn parse(block: &str) -> Option<SseEvent> {
    let (mut event, mut id, mut data) = (None, None, Vec::new());
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_string()),
            "id" => id = Some(value.to_string()),
            "data" => data.push(value),
            _ => {}
        }
    }
    let event = event?;
    Some(SseEvent { event, id, data: serde_json::from_str(&data.join("\n")).expect("data is JSON") })
}

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
async fn a_write_on_one_instance_reaches_a_stream_on_another() {
    // Two instances share a deployment only on the distributed engines (scripts/test.sh).
    if !common::distributed() {
        return;
    }
    let setup = Setup::distributed();
    let (one, other) = (setup.start().await, setup.start().await);
    let (alice, _) = one.client().register("alice").await;
    let (bob, bob_user) = one.client().register("bob").await;
    alice.follow(id_of(&bob_user)).await;
    let alice_there = Client { base: other.base.clone(), ..alice.clone() };
    let mut stream = EventReader::open(&alice_there).await;

    let post = bob.create_post("across instances").await;
    assert_eq!(stream.expect("post").await.data["id"], post["id"]);
    let mine = alice.create_post("like me").await;
    bob.post(&format!("/api/posts/{}/like", id_of(&mine)), json!({})).await.expect(200);
    let expected = json!({"post_id": mine["id"], "like_count": 1, "comment_count": 0});
    assert_eq!(stream.expect("engagement").await.data, expected);
}
