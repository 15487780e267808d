//! Blocks and mutes over HTTP (docs/api.md, "users"): the endpoints and their errors; a block
//! ends the follows both ways (counters included), forbids following, liking and commenting
//! across it, and hides each side from the other's feed (one cached before the block too),
//! notifications, suggestions and search; a mute hides only posts and notifications and
//! allows everything else (the live stream too); unblocking and unmuting restore visibility,
//! not follows.

mod common;

use std::time::Duration;

use common::sse::EventReader;
use common::{eventually, ids_of, texts_of, Client, Server};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

fn id(user: &Value) -> &str {
    user["id"].as_str().unwrap()
}

async fn set(client: &Client, what: &str, user: &Value, on: bool) -> Value {
    let path = format!("/api/users/{}/{what}", id(user));
    if on { client.post(&path, json!({})).await } else { client.delete(&path).await }.expect(200)
}

async fn block(client: &Client, user: &Value) {
    assert_eq!(set(client, "block", user, true).await, json!({"blocking": true}));
}

async fn unblock(client: &Client, user: &Value) {
    assert_eq!(set(client, "block", user, false).await, json!({"blocking": false}));
}

async fn mute(client: &Client, user: &Value) {
    assert_eq!(set(client, "mute", user, true).await, json!({"muting": true}));
}

async fn unmute(client: &Client, user: &Value) {
    assert_eq!(set(client, "mute", user, false).await, json!({"muting": false}));
}

async fn feed_texts(client: &Client) -> Vec<String> {
    texts_of(&client.walk("/api/feed", 100).await)
}

/// `(kind, actor username)` of each notification, newest first.
async fn notifications(client: &Client) -> Vec<(String, String)> {
    let list = client.walk("/api/notifications", 100).await;
    list.iter()
        .map(|n| {
            (n["kind"].as_str().unwrap().to_string(), n["actor"]["username"].as_str().unwrap().to_string())
        })
        .collect()
}

fn actors(list: &[(String, String)]) -> Vec<&str> {
    list.iter().map(|(_, actor)| actor.as_str()).collect()
}

async fn unread(client: &Client) -> i64 {
    client.get("/api/me").await.expect(200)["unread_notifications"].as_i64().unwrap()
}

/// `(followers_count, following_count)` of a user.
async fn counts(client: &Client, user: &Value) -> (i64, i64) {
    let profile = client.get(&format!("/api/users/{}", id(user))).await.expect(200);
    (profile["followers_count"].as_i64().unwrap(), profile["following_count"].as_i64().unwrap())
}

async fn user_search(client: &Client, q: &str) -> Vec<String> {
    ids_of(client.get(&format!("/api/users/search?q={q}")).await.expect(200)["items"].as_array().unwrap())
}

async fn post_search(client: &Client, q: &str) -> Vec<String> {
    texts_of(client.get(&format!("/api/search/posts?q={q}")).await.expect(200)["items"].as_array().unwrap())
}

async fn suggested(client: &Client) -> Vec<String> {
    ids_of(client.get("/api/users/suggestions").await.expect(200)["items"].as_array().unwrap())
}

fn comments_path(post: &Value) -> String {
    format!("/api/posts/{}/comments", post["id"].as_str().unwrap())
}

fn like_path(post: &Value) -> String {
    format!("/api/posts/{}/like", post["id"].as_str().unwrap())
}

#[tokio::test]
async fn endpoints_are_idempotent_listed_newest_first_and_refuse_bad_requests() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (_, bob_user) = client.register("bob").await;
    let (_, carol_user) = client.register("carol").await;
    let anonymous = client.anonymous();

    for what in ["block", "mute"] {
        let path = format!("/api/users/{}/{what}", id(&bob_user));
        anonymous.post(&path, json!({})).await.expect_error(401, "unauthorized");
        anonymous.delete(&path).await.expect_error(401, "unauthorized");
        for missing in ["nobody", "01ARZ3NDEKTSV4RRFFQ69G5FAV"] {
            alice
                .post(&format!("/api/users/{missing}/{what}"), json!({}))
                .await
                .expect_error(404, "not_found");
            alice.delete(&format!("/api/users/{missing}/{what}")).await.expect_error(404, "not_found");
        }
        for me in [id(&alice_user), "alice"] {
            let body = alice.post(&format!("/api/users/{me}/{what}"), json!({})).await.expect(422);
            assert!(body["error"]["message"].as_str().unwrap().contains("user"), "{body}");
            alice.delete(&format!("/api/users/{me}/{what}")).await.expect(422);
        }
    }
    for list in ["/api/me/blocks", "/api/me/mutes"] {
        anonymous.get(list).await.expect_error(401, "unauthorized");
        alice.get(&format!("{list}?limit=0")).await.expect_error(422, "validation_failed");
        alice.get(&format!("{list}?cursor=!!")).await.expect_error(400, "bad_request");
        assert!(alice.get(list).await.expect(200)["items"].as_array().unwrap().is_empty());
    }

    // Twice each, by id and by username: the same answer, one entry.
    block(&alice, &bob_user).await;
    assert_eq!(alice.post("/api/users/bob/block", json!({})).await.expect(200), json!({"blocking": true}));
    block(&alice, &carol_user).await;
    mute(&alice, &carol_user).await;
    mute(&alice, &carol_user).await;
    let blocked = ids_of(&alice.walk("/api/me/blocks", 1).await);
    assert_eq!(blocked, [id(&carol_user), id(&bob_user)], "newest first");
    assert_eq!(ids_of(&alice.walk("/api/me/mutes", 1).await), [id(&carol_user)]);

    unblock(&alice, &bob_user).await;
    unblock(&alice, &bob_user).await;
    unmute(&alice, &carol_user).await;
    unmute(&alice, &bob_user).await;
    assert_eq!(ids_of(&alice.walk("/api/me/blocks", 10).await), [id(&carol_user)]);
    assert!(alice.walk("/api/me/mutes", 10).await.is_empty());
}

#[tokio::test]
async fn a_block_ends_follows_both_ways_and_forbids_following_liking_and_commenting() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    let (carol, carol_user) = client.register("carol").await;
    alice.follow(id(&bob_user)).await;
    bob.follow(id(&alice_user)).await;
    carol.follow(id(&alice_user)).await;
    assert_eq!(counts(&client, &alice_user).await, (2, 1));
    assert_eq!(counts(&client, &bob_user).await, (1, 1));
    let post = alice.create_post("alice writes").await;
    let bobs_post = bob.create_post("bob writes").await;

    block(&alice, &bob_user).await;
    assert_eq!(counts(&client, &alice_user).await, (1, 0), "carol still follows alice");
    assert_eq!(counts(&client, &bob_user).await, (0, 0));
    let followers = ids_of(&client.walk(&format!("/api/users/{}/followers", id(&alice_user)), 10).await);
    assert_eq!(followers, [id(&carol_user)]);

    // Neither side may follow; the blocked may not like or comment; the blocker neither.
    bob.post(&format!("/api/users/{}/follow", id(&alice_user)), json!({}))
        .await
        .expect_error(403, "forbidden");
    alice
        .post(&format!("/api/users/{}/follow", id(&bob_user)), json!({}))
        .await
        .expect_error(403, "forbidden");
    bob.post(&like_path(&post), json!({})).await.expect_error(403, "forbidden");
    bob.post(&comments_path(&post), json!({"text": "hi"})).await.expect_error(403, "forbidden");
    alice.post(&like_path(&bobs_post), json!({})).await.expect_error(403, "forbidden");
    // Others are not affected.
    carol.post(&like_path(&post), json!({})).await.expect(200);
    carol.post(&comments_path(&post), json!({"text": "hi"})).await.expect(201);
    assert_eq!(counts(&client, &alice_user).await, (1, 0), "nothing moved the counters");

    // Unblocking restores the right to follow, not the follows.
    unblock(&alice, &bob_user).await;
    assert_eq!(counts(&client, &bob_user).await, (0, 0));
    bob.post(&like_path(&post), json!({})).await.expect(200);
    bob.post(&comments_path(&post), json!({"text": "hello again"})).await.expect(201);
    bob.follow(id(&alice_user)).await;
    assert_eq!(counts(&client, &alice_user).await, (2, 0));
}

#[tokio::test]
async fn a_block_hides_each_from_the_others_feed_even_one_cached_before() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    alice.follow(id(&bob_user)).await;
    bob.follow(id(&alice_user)).await;
    alice.create_post("from alice").await;
    bob.create_post("from bob").await;
    // Both feeds are read, so cached, with each other's post.
    for reader in [&alice, &bob] {
        eventually("both posts are in the feed", WAIT, || async {
            (feed_texts(reader).await.len() == 2).then_some(())
        })
        .await;
    }

    block(&bob, &alice_user).await;
    assert_eq!(feed_texts(&alice).await, ["from alice"]);
    assert_eq!(feed_texts(&bob).await, ["from bob"]);
    // A post after the block reaches nobody on the other side.
    bob.create_post("bob again").await;
    alice.create_post("alice again").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(feed_texts(&alice).await, ["alice again", "from alice"]);
    assert_eq!(feed_texts(&bob).await, ["bob again", "from bob"]);

    // Unblocking does not bring the follows back, so the feeds stay apart.
    unblock(&bob, &alice_user).await;
    assert_eq!(feed_texts(&alice).await, ["alice again", "from alice"]);
}

#[tokio::test]
async fn a_block_filters_notifications_and_makes_no_new_ones() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    let (carol, _) = client.register("carol").await;
    let post = alice.create_post("hello").await;
    bob.follow(id(&alice_user)).await;
    bob.post(&comments_path(&post), json!({"text": "nice"})).await.expect(201);
    carol.follow(id(&alice_user)).await;
    assert_eq!(actors(&notifications(&alice).await), ["carol", "bob", "bob"]);
    assert_eq!(unread(&alice).await, 3);

    block(&alice, &bob_user).await;
    assert_eq!(actors(&notifications(&alice).await), ["carol"], "filtered at read");
    assert_eq!(unread(&alice).await, 1);
    // A mention across the block notifies nobody, either way.
    bob.create_post("hey @alice").await;
    alice.create_post("hey @bob and @carol").await;
    assert_eq!(actors(&notifications(&alice).await), ["carol"]);
    assert!(notifications(&bob).await.is_empty(), "the blocker's doings reach the blocked neither");
    assert_eq!(notifications(&carol).await, [("mention".to_string(), "alice".to_string())]);

    // Unblocking shows the old ones again; the mention made meanwhile was never made.
    unblock(&alice, &bob_user).await;
    assert_eq!(actors(&notifications(&alice).await), ["carol", "bob", "bob"]);
    bob.create_post("hey again @alice").await;
    assert_eq!(notifications(&alice).await[0], ("mention".to_string(), "bob".to_string()));
}

#[tokio::test]
async fn a_block_filters_suggestions_and_search_for_both_sides() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    let (carol, carol_user) = client.register("carol").await;
    // Bob is a friend of a friend of Alice, and the other way round.
    alice.follow(id(&carol_user)).await;
    bob.follow(id(&carol_user)).await;
    carol.follow(id(&bob_user)).await;
    carol.follow(id(&alice_user)).await;
    bob.create_post("zebra crossing").await;
    alice.create_post("zebra stripes").await;
    // Read before the block, so the suggestions are cached.
    assert!(suggested(&alice).await.contains(&id(&bob_user).to_string()));
    assert!(suggested(&bob).await.contains(&id(&alice_user).to_string()));
    assert_eq!(user_search(&alice, "b").await, [id(&bob_user)]);
    assert_eq!(post_search(&alice, "zebra").await, ["zebra stripes", "zebra crossing"]);

    block(&alice, &bob_user).await;
    assert!(!suggested(&alice).await.contains(&id(&bob_user).to_string()));
    assert!(!suggested(&bob).await.contains(&id(&alice_user).to_string()));
    assert!(user_search(&alice, "b").await.is_empty());
    assert!(user_search(&bob, "a").await.is_empty());
    assert_eq!(post_search(&alice, "zebra").await, ["zebra stripes"]);
    assert_eq!(post_search(&bob, "zebra").await, ["zebra crossing"]);
    // Others (and the anonymous) still find both.
    assert_eq!(user_search(&carol, "b").await, [id(&bob_user)]);
    assert_eq!(post_search(&client.anonymous(), "zebra").await.len(), 2);

    unblock(&alice, &bob_user).await;
    assert!(suggested(&alice).await.contains(&id(&bob_user).to_string()));
    assert_eq!(user_search(&bob, "a").await, [id(&alice_user)]);
    assert_eq!(post_search(&bob, "zebra").await, ["zebra stripes", "zebra crossing"]);
}

#[tokio::test]
async fn a_mute_hides_posts_and_notifications_and_allows_everything_else() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    alice.follow(id(&bob_user)).await;
    let post = alice.create_post("alice posts").await;
    bob.create_post("bob posts").await;
    eventually("bob's post is in alice's feed", WAIT, || async {
        (feed_texts(&alice).await == ["bob posts", "alice posts"]).then_some(())
    })
    .await;
    assert_eq!(actors(&notifications(&bob).await), ["alice"]);

    mute(&alice, &bob_user).await;
    assert_eq!(feed_texts(&alice).await, ["alice posts"], "hidden from a feed cached before");
    // Bob may still follow, like, comment and mention; Alice hears of none of it.
    bob.follow(id(&alice_user)).await;
    bob.post(&like_path(&post), json!({})).await.expect(200);
    bob.post(&comments_path(&post), json!({"text": "hi @alice"})).await.expect(201);
    bob.create_post("hey @alice").await;
    assert_eq!(counts(&client, &alice_user).await, (1, 1), "the follows stand");
    assert_eq!(counts(&client, &bob_user).await, (1, 1));
    eventually("the like is stored", WAIT, || async {
        let post = client.get(&format!("/api/posts/{}", post["id"].as_str().unwrap())).await.expect(200);
        (post["like_count"] == 1).then_some(())
    })
    .await;
    assert!(notifications(&alice).await.is_empty());
    assert_eq!(unread(&alice).await, 0);
    // The muter may do everything too; Bob is told.
    alice.post(&comments_path(&post), json!({"text": "thanks @bob"})).await.expect(201);
    assert_eq!(actors(&notifications(&bob).await), ["alice", "alice"]);

    // Unmuting brings the posts back (the follows never went); what happened meanwhile
    // was never notified.
    unmute(&alice, &bob_user).await;
    eventually("bob's posts are back in alice's feed", WAIT, || async {
        (feed_texts(&alice).await == ["hey @alice", "bob posts", "alice posts"]).then_some(())
    })
    .await;
    assert!(notifications(&alice).await.is_empty());
    bob.create_post("hi again @alice").await;
    assert_eq!(actors(&notifications(&alice).await), ["bob"]);
}

#[tokio::test]
async fn a_muted_authors_new_posts_do_not_reach_the_muters_stream() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    let (carol, carol_user) = client.register("carol").await;
    alice.follow(id(&bob_user)).await;
    alice.follow(id(&carol_user)).await;
    mute(&alice, &bob_user).await;
    let mut stream = EventReader::open(&alice).await;

    bob.create_post("muted").await;
    let shown = carol.create_post("not muted").await;
    // Published in this order: the first post event Alice gets is Carol's.
    assert_eq!(stream.expect("post").await.data["id"], shown["id"]);
    unmute(&alice, &bob_user).await;
    let again = bob.create_post("heard again").await;
    assert_eq!(stream.expect("post").await.data["id"], again["id"]);
}
