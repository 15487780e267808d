//! The home feed over HTTP (docs/api.md, "feeds"; docs/architecture.md, "Create post", "Follow and unfollow",
//! "Feed read"): fan-out on write to thousands of followers, backfill on follow and removal
//! on unfollow, stable cursor walks while posts keep arriving, and the hybrid path where a
//! big account's posts are merged in at read time, indistinguishable from fan-out.

mod common;

use std::time::Duration;

use common::{eventually, ids_of, register_many, texts_of, Client, Server, Setup};
use futures::StreamExt;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

/// Makes sure the next post gets a later millisecond than the previous one.
async fn next_millisecond() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

fn id(user: &Value) -> &str {
    user["id"].as_str().unwrap()
}

/// The reader's whole feed, by walking it.
async fn feed(reader: &Client, limit: usize) -> Vec<Value> {
    reader.walk("/api/feed", limit).await
}

#[tokio::test]
async fn feed_without_token_is_401() {
    let server = Server::start().await;
    server.client().get("/api/feed").await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn own_posts_are_in_the_feed_at_once() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let first = alice.create_post("first").await;
    let second = alice.create_post("second").await;
    assert_eq!(ids_of(&feed(&alice, 20).await), [&second["id"], &first["id"]].map(|v| v.as_str().unwrap()));
}

/// The post is answered 201 (fan-out is a queued job, not part of the request), and then
/// reaches every one of 2,000 followers' feeds.
///
/// Against the test moto server (distributed mode) the crowd is smaller: moto deep-copies a
/// table for every operation of every transaction and serves one request at a time, so
/// registering thousands of users takes ever longer and ends in SDK timeouts (whose retried
/// transactions then run twice).
#[tokio::test]
async fn post_reaches_two_thousand_followers_feeds() {
    let (followers_count, concurrency) = if common::distributed() { (150, 4) } else { (2_000, 16) };
    let server = Server::start().await;
    let client = server.client();
    let (author, author_user) = client.register("author").await;
    let followers = register_many(&client, "follower", followers_count, concurrency).await;
    futures::stream::iter(&followers)
        .for_each_concurrent(concurrency, |(follower, _)| follower.follow(id(&author_user)))
        .await;
    let profile = client.get(&format!("/api/users/{}", id(&author_user))).await.expect(200);
    assert_eq!(profile["followers_count"], followers_count);

    let post = author.post("/api/posts", serde_json::json!({"text": "to all of you"})).await.expect(201);
    futures::stream::iter(&followers)
        .for_each_concurrent(concurrency, |(follower, _)| {
            let post = &post;
            async move {
                eventually("the post reaches every follower's feed", Duration::from_secs(300), || async {
                    let page = follower.get("/api/feed?limit=1").await.expect(200);
                    (page["items"][0]["id"] == post["id"]).then_some(())
                })
                .await
            }
        })
        .await;
}

#[tokio::test]
async fn follow_backfills_recent_posts_and_unfollow_removes_them() {
    let server = Server::start().await;
    let client = server.client();
    let (reader, _) = client.register("reader").await;
    let (author, author_user) = client.register("author").await;
    let (other, other_user) = client.register("other").await;
    let mut author_posts = Vec::new();
    for i in 0..3 {
        author_posts.push(author.create_post(&format!("author {i}")).await);
        next_millisecond().await;
    }
    reader.follow(id(&other_user)).await;
    let others = other.create_post("other 0").await;
    next_millisecond().await;
    let own = reader.create_post("reader 0").await;
    eventually("the other followee's post is fanned out", WAIT, || async {
        (feed(&reader, 20).await.len() == 2).then_some(())
    })
    .await;

    // Follow: the author's earlier posts join the feed, in time order with the others.
    reader.follow(id(&author_user)).await;
    let mut expected: Vec<&Value> = author_posts.iter().collect();
    expected.extend([&others, &own]);
    expected.reverse();
    let expected_ids: Vec<&str> = expected.iter().map(|p| p["id"].as_str().unwrap()).collect();
    eventually("the followee's posts are backfilled", WAIT, || async {
        (ids_of(&feed(&reader, 2).await) == expected_ids).then_some(())
    })
    .await;

    // Unfollow: they leave it again; the rest stays.
    reader.unfollow(id(&author_user)).await;
    let expected_ids = ids_of(&[own.clone(), others.clone()]);
    eventually("the unfollowed posts leave the feed", WAIT, || async {
        (ids_of(&feed(&reader, 2).await) == expected_ids).then_some(())
    })
    .await;
}

/// A walk (7 a page) over a 45-post feed while new posts keep arriving between and during
/// the page reads: each of the 45 exactly once, newest first; the new ones may be missing
/// but nothing is repeated.
#[tokio::test]
async fn cursor_walk_is_stable_while_posts_arrive() {
    let server = Server::start().await;
    let client = server.client();
    let (reader, _) = client.register("reader").await;
    let (author, author_user) = client.register("author").await;
    reader.follow(id(&author_user)).await;
    let mut posts = Vec::new();
    for i in 0..45 {
        // A mix of the followee's posts (fanned out) and the reader's own.
        let poster = if i % 3 == 0 { &reader } else { &author };
        posts.push(poster.create_post(&format!("old {i}")).await);
    }
    let mut expected = ids_of(&posts);
    expected.reverse();
    eventually("all 45 posts are in the feed", WAIT, || async {
        (ids_of(&feed(&reader, 100).await) == expected).then_some(())
    })
    .await;

    // A writer posts as both users for as long as the walk goes on.
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let writer = {
        let (reader, author) = (reader.clone(), author.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !*stop_rx.borrow_and_update() {
                let poster = if n % 2 == 0 { &author } else { &reader };
                poster.create_post(&format!("new {n}")).await;
                n += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            n
        })
    };
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/feed?limit=7&cursor={c}"),
            None => "/api/feed?limit=7".to_string(),
        };
        let page = reader.get(&path).await.expect(200);
        walked.extend(page["items"].as_array().unwrap().iter().cloned());
        // Something new lands in the feed before the next page is read.
        let marker = author.create_post(&format!("between pages after {}", walked.len())).await;
        eventually("the new post is fanned out", WAIT, || async {
            reader.walk("/api/feed", 100).await.iter().any(|p| p["id"] == marker["id"]).then_some(())
        })
        .await;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let _ = stop_tx.send(true);
    let written = writer.await.unwrap();
    assert!(written > 0, "the writer never wrote while the walk went on");

    let walked_ids = ids_of(&walked);
    let mut unique = walked_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), walked_ids.len(), "a post came twice: {:?}", texts_of(&walked));
    let old: Vec<String> = walked_ids.iter().filter(|i| expected.contains(i)).cloned().collect();
    assert_eq!(old, expected, "the 45 posts, each once, newest first; walked: {:?}", texts_of(&walked));
    let mut newest_first = walked_ids.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(walked_ids, newest_first, "the walk is not newest first: {:?}", texts_of(&walked));
}

/// The posts of a scenario with a normal followee and one that has many followers; with a
/// low fan-out threshold the latter is merged at read time. Returns the reader's feed texts
/// (walked with `limit`) once it holds all `expected` posts.
async fn hybrid_scenario(setup: Setup) -> (Vec<String>, Vec<String>) {
    let server = setup.start().await;
    let client = server.client();
    let (reader, _) = client.register("reader").await;
    let (star, star_user) = client.register("star").await;
    let (normal, normal_user) = client.register("normal").await;
    let fans = register_many(&client, "fan", 4, 4).await;
    let (stranger, _) = client.register("stranger").await;
    reader.follow(id(&normal_user)).await;
    reader.follow(id(&star_user)).await;

    let mut posts = Vec::new();
    // Before the star is big: fanned out like anyone's.
    for i in 0..3 {
        posts.push(star.create_post(&format!("star early {i}")).await["text"].clone());
        next_millisecond().await;
        posts.push(normal.create_post(&format!("normal early {i}")).await["text"].clone());
        next_millisecond().await;
    }
    // Now more followers than the threshold of 3.
    for (fan, _) in &fans {
        fan.follow(id(&star_user)).await;
    }
    let star_profile = client.get(&format!("/api/users/{}", id(&star_user))).await.expect(200);
    assert_eq!(star_profile["followers_count"], 5);
    // Interleaved: star, normal, the reader's own, and a stranger the reader does not follow.
    for i in 0..24 {
        let text = format!("late {i}");
        let poster = match i % 5 {
            0 | 3 => &star,
            1 => &normal,
            2 => &reader,
            _ => &stranger,
        };
        let post = poster.create_post(&text).await;
        if i % 5 != 4 {
            posts.push(post["text"].clone());
        }
        next_millisecond().await;
    }
    let expected: Vec<String> = posts.iter().rev().map(|t| t.as_str().unwrap().to_string()).collect();
    let walked = eventually("the feed holds every followed post", WAIT, || async {
        let walked = texts_of(&feed(&reader, 4).await);
        (walked.len() >= expected.len()).then_some(walked)
    })
    .await;
    // Page sizes must not change the answer.
    assert_eq!(texts_of(&feed(&reader, 100).await), walked, "walk by 100 differs from walk by 4");
    assert_eq!(texts_of(&feed(&reader, 7).await), walked, "walk by 7 differs from walk by 4");
    (walked, expected)
}

/// With a fan-out threshold of 3, a followee with 5 followers is merged in at read time:
/// the reader's feed is exactly what fan-out gives, interleaved with a normal followee's and
/// the reader's own posts, page by page, and identical to a deployment that fans out all.
#[tokio::test]
async fn big_account_merged_at_read_time_reads_like_fan_out() {
    let hybrid = hybrid_scenario(Setup::new().env("ROOST_FANOUT_THRESHOLD", "3")).await;
    let fanned = hybrid_scenario(Setup::new().env("ROOST_FANOUT_THRESHOLD", "10000")).await;
    assert_eq!(hybrid.0, hybrid.1, "the hybrid feed is not the expected newest-first list");
    assert_eq!(fanned.0, fanned.1, "the fanned-out feed is not the expected newest-first list");
    assert_eq!(hybrid.0, fanned.0);
}

/// A new follower of a big account sees its recent posts (merged at read time), and an
/// unfollow takes them away again.
#[tokio::test]
async fn following_and_unfollowing_a_big_account_changes_the_feed() {
    let server = Setup::new().env("ROOST_FANOUT_THRESHOLD", "3").start().await;
    let client = server.client();
    let (star, star_user) = client.register("star").await;
    for (fan, _) in register_many(&client, "fan", 4, 4).await {
        fan.follow(id(&star_user)).await;
    }
    let star_posts: Vec<Value> = {
        let mut posts = Vec::new();
        for i in 0..3 {
            posts.push(star.create_post(&format!("star {i}")).await);
        }
        posts
    };
    let (reader, _) = client.register("reader").await;
    let own = reader.create_post("mine").await;
    reader.follow(id(&star_user)).await;
    let mut expected = vec![own.clone()];
    expected.extend(star_posts.iter().rev().cloned());
    let expected_ids = ids_of(&expected);
    eventually("the big account's posts show in the new follower's feed", WAIT, || async {
        (ids_of(&feed(&reader, 2).await) == expected_ids).then_some(())
    })
    .await;
    reader.unfollow(id(&star_user)).await;
    let expected_ids = ids_of(&[own]);
    eventually("the big account's posts leave the feed", WAIT, || async {
        (ids_of(&feed(&reader, 2).await) == expected_ids).then_some(())
    })
    .await;
}
