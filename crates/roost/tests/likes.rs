//! Likes over HTTP (docs/api.md, "posts"): like and unlike answer at once and are
//! idempotent, `liked_by_me` follows the caller everywhere a post is shown, counts never go
//! negative, and an acknowledged like survives a `kill -9` of the server (docs/architecture.md, "Like":
//! the durable queue carries it to the store).

mod common;

use std::time::Duration;

use common::{eventually, register_many, Client, Setup};
use futures::StreamExt;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

fn like_path(post: &Value) -> String {
    format!("/api/posts/{}/like", post["id"].as_str().unwrap())
}

fn post_path(post: &Value) -> String {
    format!("/api/posts/{}", post["id"].as_str().unwrap())
}

/// Waits until GET post (as `reader`) shows `count` likes and `liked_by_me == mine`.
async fn eventually_shows(reader: &Client, post: &Value, count: i64, mine: bool) {
    let path = post_path(post);
    eventually(&format!("{path} shows {count} likes, liked_by_me {mine}"), WAIT, || async {
        let read = reader.get(&path).await.expect(200);
        (read["like_count"] == count && read["liked_by_me"] == mine).then_some(())
    })
    .await;
}

#[tokio::test]
async fn like_and_unlike_answer_the_new_state() {
    let server = Setup::new().start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let post = alice.create_post("likeable").await;
    assert_eq!(
        bob.post(&like_path(&post), json!({})).await.expect(200),
        json!({"liked": true, "like_count": 1})
    );
    assert_eq!(
        alice.post(&like_path(&post), json!({})).await.expect(200),
        json!({"liked": true, "like_count": 2})
    );
    assert_eq!(bob.delete(&like_path(&post)).await.expect(200), json!({"liked": false, "like_count": 1}));
    eventually_shows(&alice, &post, 1, true).await;
    eventually_shows(&bob, &post, 1, false).await;
}

#[tokio::test]
async fn liking_twice_counts_once() {
    let server = Setup::new().start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let post = alice.create_post("likeable").await;
    for _ in 0..3 {
        assert_eq!(bob.post(&like_path(&post), json!({})).await.expect(200)["like_count"], 1);
    }
    eventually_shows(&bob, &post, 1, true).await;
    // And once the store has it, the count stays at one.
    assert_eq!(bob.post(&like_path(&post), json!({})).await.expect(200)["like_count"], 1);
    for _ in 0..2 {
        assert_eq!(bob.delete(&like_path(&post)).await.expect(200), json!({"liked": false, "like_count": 0}));
    }
    eventually_shows(&bob, &post, 0, false).await;
}

#[tokio::test]
async fn unlike_without_like_never_goes_negative() {
    let mut server = Setup::new().env("ROOST_JOB_CLAIM_IDLE_SECS", "1").start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let post = alice.create_post("unloved").await;
    assert_eq!(bob.delete(&like_path(&post)).await.expect(200), json!({"liked": false, "like_count": 0}));
    assert_eq!(alice.delete(&like_path(&post)).await.expect(200), json!({"liked": false, "like_count": 0}));
    assert_eq!(client.get(&post_path(&post)).await.expect(200)["like_count"], 0);
    // Then a real like counts as one, whatever the stray unlikes did to the store's counter
    // (which is what a restart of the embedded server reads).
    let (carol, _) = client.register("carol").await;
    assert_eq!(carol.post(&like_path(&post), json!({})).await.expect(200)["like_count"], 1);
    eventually_shows(&carol, &post, 1, true).await;
    server.restart().await;
    eventually_shows(&carol, &post, 1, true).await;
    eventually_shows(&bob, &post, 1, false).await;
}

#[tokio::test]
async fn liking_an_unknown_post_is_404() {
    let server = Setup::new().start().await;
    let (bob, _) = server.client().register("bob").await;
    bob.post("/api/posts/01ARZ3NDEKTSV4RRFFQ69G5FAV/like", json!({})).await.expect_error(404, "not_found");
    bob.delete("/api/posts/01ARZ3NDEKTSV4RRFFQ69G5FAV/like").await.expect_error(404, "not_found");
}

#[tokio::test]
async fn liking_a_deleted_post_is_404() {
    let server = Setup::new().start().await;
    let (alice, _) = server.client().register("alice").await;
    let post = alice.create_post("short-lived").await;
    alice.delete(&post_path(&post)).await.expect(204);
    alice.post(&like_path(&post), json!({})).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn liking_without_token_is_401() {
    let server = Setup::new().start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let post = alice.create_post("likeable").await;
    client.post(&like_path(&post), json!({})).await.expect_error(401, "unauthorized");
    client.delete(&like_path(&post)).await.expect_error(401, "unauthorized");
    assert_eq!(client.get(&post_path(&post)).await.expect(200)["like_count"], 0);
}

/// Where `reader` sees `post`: GET post, the author's posts, the timeline and, for a
/// signed-in reader, the home feed (which fan-out fills in the background).
async fn views(reader: &Client, post: &Value, posts_path: &str) -> Vec<Value> {
    let find = |items: Vec<Value>| items.into_iter().find(|p| p["id"] == post["id"]);
    let mut seen = vec![
        reader.get(&post_path(post)).await.expect(200),
        find(reader.walk(posts_path, 100).await).expect("post missing from the user's posts"),
        find(reader.walk("/api/timeline", 100).await).expect("post missing from the timeline"),
    ];
    if reader.token.is_some() {
        let feed_view = eventually("the post reaches the feed", WAIT, || async {
            find(reader.walk("/api/feed", 100).await)
        })
        .await;
        seen.push(feed_view);
    }
    seen
}

#[tokio::test]
async fn liked_by_me_is_true_only_for_the_liker_wherever_the_post_shows() {
    let mut server = Setup::new().env("ROOST_JOB_CLAIM_IDLE_SECS", "1").start().await;
    let client = server.client();
    let (alice, author) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let (carol, _) = client.register("carol").await;
    let author_id = author["id"].as_str().unwrap();
    bob.follow(author_id).await;
    carol.follow(author_id).await;
    let post = alice.create_post("liked by bob").await;
    bob.post(&like_path(&post), json!({})).await.expect(200);
    let posts_path = format!("/api/users/{author_id}/posts");
    let readers = [(&bob, true), (&carol, false), (&alice, false), (&client, false)];
    for (reader, liked) in readers {
        for view in views(reader, &post, &posts_path).await {
            assert_eq!(view["liked_by_me"], liked, "{view}");
            assert_eq!(view["like_count"], 1, "{view}");
        }
    }
    // Once the like is in the store, the same answers come from it (a restart empties the
    // embedded cache).
    eventually_shows(&bob, &post, 1, true).await;
    server.restart().await;
    for (reader, liked) in readers {
        for view in views(reader, &post, &posts_path).await {
            assert_eq!(view["liked_by_me"], liked, "after a restart: {view}");
            assert_eq!(view["like_count"], 1, "after a restart: {view}");
        }
    }
}

/// 60 likes are acknowledged, the server is SIGKILLed straight after the last answer (its
/// workers had no time to write them all to the store), and after a restart every one of
/// them counts: the durable queue kept the jobs and the new worker claims the dead one's.
#[tokio::test]
async fn acknowledged_likes_survive_kill_9() {
    let mut server = Setup::new().env("ROOST_JOB_CLAIM_IDLE_SECS", "1").start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let post = alice.create_post("like me, then crash").await;
    let likers = register_many(&client, "liker", 60, 16).await;
    let counts: Vec<i64> = futures::stream::iter(&likers)
        .map(|(liker, _)| {
            let path = like_path(&post);
            async move {
                let state = liker.post(&path, json!({})).await.expect(200);
                assert_eq!(state["liked"], true);
                state["like_count"].as_i64().unwrap()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    server.kill9();
    assert_eq!(counts.iter().max(), Some(&60), "the last like's answer counts all 60: {counts:?}");

    server.restart().await;
    eventually_shows(&alice, &post, 60, false).await;
    for (liker, _) in &likers {
        eventually_shows(liker, &post, 60, true).await;
    }
    // Nobody liked twice: the count is exact, and anonymous readers see it too.
    assert_eq!(client.get(&post_path(&post)).await.expect(200)["like_count"], 60);
}
