//! Process faults (docs/reliability.md, "Process faults"), over HTTP in both modes:
//! - `kill -9` in the middle of mixed load (posts, likes and unlikes, follows and unfollows,
//!   comments among a few users), round after round: the first read after each restart
//!   shows every acknowledged write; once the jobs are done, followers' feeds hold their
//!   followees' posts and `roost check` finds every counter equal to the items it counts;
//! - SIGTERM: a request in flight (an upload still being sent) completes and is kept, new
//!   connections are refused, event streams end at once, the process exits 0 well within
//!   `shutdown_grace_secs`; the jobs it had not run are run by the next instance at once
//!   (embedded: the restarted one; distributed: another, without waiting
//!   `job_claim_idle_secs`).

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::sse::EventReader;
use common::{eventually, ids_of, png, register_many, Client, Server, Setup};
use reqwest::Method;
use serde_json::{json, Value};

/// How many of a followee's newest posts a follow puts into the follower's feed.
const BACKFILL_POSTS: usize = 50;

/// Users writing at once.
const USERS: usize = 6;
/// Rounds of load, kill -9 and restart.
const ROUNDS: usize = 3;
/// How long each round's load runs before the kill.
const LOAD: Duration = Duration::from_millis(1500);

/// What a client knows of one write: acknowledged one way, or sent and never answered
/// (the kill cut it), which may have happened or not.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Known {
    Yes,
    No,
    Unsure,
}

/// Every write the server acknowledged, and the ones it may or may not have done.
#[derive(Clone, Default)]
struct Model {
    /// Acknowledged posts: (id, author).
    posts: Vec<(String, usize)>,
    /// Per author, creates sent and never answered.
    unsure_posts: HashMap<usize, i64>,
    /// (user, post id): the last like or unlike.
    likes: HashMap<(usize, String), Known>,
    /// (follower, followee): the last follow or unfollow.
    follows: HashMap<(usize, usize), Known>,
    /// Acknowledged comments: (post id, comment id).
    comments: Vec<(String, String)>,
    /// Per post, comments sent and never answered.
    unsure_comments: HashMap<String, i64>,
}

/// A small deterministic generator (xorshift): each task its own sequence.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }
}

/// Sends a request; `None` when no answer came (the server died under it).
async fn attempt(client: &Client, method: Method, path: &str, body: Option<Value>) -> Option<(u16, Value)> {
    let mut request = client.request(method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.ok()?;
    Some((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

/// Asserts a 2xx answer; false when there was none (the load ends).
fn acknowledged(answer: &Option<(u16, Value)>, what: &str) -> bool {
    match answer {
        Some((status, body)) => {
            assert!((200..300).contains(status), "{what}: {status} {body}");
            true
        }
        None => false,
    }
}

/// One user's writes, one at a time, until `stop` or the first request without an answer.
async fn load(
    user: usize,
    client: Client,
    ids: Arc<Vec<String>>,
    model: Arc<Mutex<Model>>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut dice = Dice(seed | 1);
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let post = {
            let model = model.lock().unwrap();
            match model.posts.len() {
                0 => None,
                len => Some(model.posts[dice.roll(len)].0.clone()),
            }
        };
        match (dice.roll(10), post) {
            (0..=1, _) | (_, None) => {
                *model.lock().unwrap().unsure_posts.entry(user).or_default() += 1;
                let answer = attempt(
                    &client,
                    Method::POST,
                    "/api/posts",
                    Some(json!({"text": format!("u{user} #{n}")})),
                )
                .await;
                if !acknowledged(&answer, "create post") {
                    return;
                }
                let mut model = model.lock().unwrap();
                *model.unsure_posts.get_mut(&user).unwrap() -= 1;
                model.posts.push((answer.unwrap().1["id"].as_str().unwrap().to_string(), user));
            }
            (2..=4, Some(post)) => {
                let key = (user, post.clone());
                let like = model.lock().unwrap().likes.insert(key.clone(), Known::Unsure) != Some(Known::Yes);
                let method = if like { Method::POST } else { Method::DELETE };
                let answer =
                    attempt(&client, method, &format!("/api/posts/{post}/like"), like.then(|| json!({})))
                        .await;
                if !acknowledged(&answer, "like") {
                    return;
                }
                model.lock().unwrap().likes.insert(key, if like { Known::Yes } else { Known::No });
            }
            (5..=6, _) => {
                let other = (user + 1 + dice.roll(USERS - 1)) % USERS;
                let key = (user, other);
                let follow = model.lock().unwrap().follows.insert(key, Known::Unsure) != Some(Known::Yes);
                let method = if follow { Method::POST } else { Method::DELETE };
                let path = format!("/api/users/{}/follow", ids[other]);
                let answer = attempt(&client, method, &path, follow.then(|| json!({}))).await;
                if !acknowledged(&answer, "follow") {
                    return;
                }
                model.lock().unwrap().follows.insert(key, if follow { Known::Yes } else { Known::No });
            }
            (_, Some(post)) => {
                *model.lock().unwrap().unsure_comments.entry(post.clone()).or_default() += 1;
                let body = json!({"text": format!("u{user} on it #{n}")});
                let answer =
                    attempt(&client, Method::POST, &format!("/api/posts/{post}/comments"), Some(body)).await;
                if !acknowledged(&answer, "comment") {
                    return;
                }
                let mut model = model.lock().unwrap();
                *model.unsure_comments.get_mut(&post).unwrap() -= 1;
                model.comments.push((post, answer.unwrap().1["id"].as_str().unwrap().to_string()));
            }
        }
    }
}

/// Asserts `low <= value <= high`.
fn within(value: &Value, low: i64, high: i64, what: &str) {
    let value = value.as_i64().unwrap_or_else(|| panic!("{what}: not a number: {value}"));
    assert!((low..=high).contains(&value), "{what}: {value} is not within {low}..={high}");
}

/// The first reads after a restart: every acknowledged write is there, and every counter
/// is within what the acknowledged and unanswered writes allow.
async fn every_acknowledged_write_is_visible(users: &[Client], ids: &[String], model: &Model, round: usize) {
    let at = |what: &str| format!("round {round}: {what}");
    for (author, client) in users.iter().enumerate() {
        let own: Vec<&String> = model.posts.iter().filter(|(_, a)| *a == author).map(|(id, _)| id).collect();
        let listed = ids_of(&client.walk(&format!("/api/users/{}/posts", ids[author]), 100).await);
        let feed = ids_of(&client.walk("/api/feed", 100).await);
        for id in &own {
            assert!(listed.contains(id), "{}", at(&format!("post {id} missing from its author's list")));
            assert!(feed.contains(id), "{}", at(&format!("post {id} missing from its author's feed")));
        }
        let unsure = model.unsure_posts.get(&author).copied().unwrap_or(0);
        let profile = client.get(&format!("/api/users/{}", ids[author])).await.expect(200);
        within(&profile["posts_count"], own.len() as i64, own.len() as i64 + unsure, &at("posts_count"));

        let following: Vec<String> =
            ids_of(&client.walk(&format!("/api/users/{}/following", ids[author]), 100).await);
        let edges = |from: Option<usize>, to: Option<usize>, known: Known| {
            model
                .follows
                .iter()
                .filter(move |((f, t), k)| {
                    **k == known && from.is_none_or(|x| x == *f) && to.is_none_or(|x| x == *t)
                })
                .count() as i64
        };
        for (&(follower, followee), known) in &model.follows {
            if follower == author && *known != Known::Unsure {
                let listed = following.contains(&ids[followee]);
                assert_eq!(listed, *known == Known::Yes, "{}", at(&format!("{follower} follows {followee}")));
            }
        }
        let (yes, unsure) = (edges(Some(author), None, Known::Yes), edges(Some(author), None, Known::Unsure));
        within(&profile["following_count"], yes, yes + unsure, &at("following_count"));
        let (yes, unsure) = (edges(None, Some(author), Known::Yes), edges(None, Some(author), Known::Unsure));
        within(&profile["followers_count"], yes, yes + unsure, &at("followers_count"));
    }

    for (post, _) in &model.posts {
        let likes =
            |known: Known| model.likes.iter().filter(|((_, p), k)| p == post && **k == known).count() as i64;
        let (yes, unsure) = (likes(Known::Yes), likes(Known::Unsure));
        let comments: Vec<&String> =
            model.comments.iter().filter(|(p, _)| p == post).map(|(_, c)| c).collect();
        let unsure_comments = model.unsure_comments.get(post).copied().unwrap_or(0);
        for (user, client) in users.iter().enumerate() {
            let read = client.get(&format!("/api/posts/{post}")).await.expect(200);
            within(&read["like_count"], yes, yes + unsure, &at(&format!("like_count of {post}")));
            let n = comments.len() as i64;
            within(&read["comment_count"], n, n + unsure_comments, &at(&format!("comment_count of {post}")));
            match model.likes.get(&(user, post.clone())) {
                Some(Known::Unsure) => {}
                known => {
                    let expected = known == Some(&Known::Yes);
                    assert_eq!(
                        read["liked_by_me"],
                        expected,
                        "{}",
                        at(&format!("liked_by_me of user {user} on {post}"))
                    );
                }
            }
        }
        if !comments.is_empty() {
            let thread = ids_of(&users[0].walk(&format!("/api/posts/{post}/comments"), 100).await);
            for comment in comments {
                assert!(
                    thread.contains(comment),
                    "{}",
                    at(&format!("comment {comment} missing under {post}"))
                );
            }
        }
    }
}

/// Waits until the workers have done every queued job.
async fn jobs_done(server: &Server) {
    eventually("the job queue is drained", Duration::from_secs(60), || async {
        let out = server.jobs(&["list"]);
        assert!(out.status.success(), "roost jobs list: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).contains("pending jobs: 0").then_some(())
    })
    .await;
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill9_during_mixed_load() {
    // A killed instance's claimed jobs wait this long before the restarted one takes them
    // (distributed; embedded runs them before serving): 2 s rather than 30 keeps the drain
    // below short. The reads straight after each restart do not depend on it.
    let mut server = Setup::new().env("ROOST_JOB_CLAIM_IDLE_SECS", "2").start().await;
    let registered = register_many(&server.client(), "user", USERS, USERS).await;
    let users: Vec<Client> = registered.iter().map(|(c, _)| c.clone()).collect();
    let ids: Arc<Vec<String>> =
        Arc::new(registered.iter().map(|(_, u)| u["id"].as_str().unwrap().to_string()).collect());
    let model = Arc::new(Mutex::new(Model::default()));

    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = users
            .iter()
            .enumerate()
            .map(|(user, client)| {
                let seed = ((round * USERS + user) as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                tokio::spawn(load(user, client.clone(), ids.clone(), model.clone(), stop.clone(), seed))
            })
            .collect();
        tokio::time::sleep(LOAD).await;
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await.unwrap();
        }
        server.restart().await;
        let model = model.lock().unwrap().clone();
        assert!(model.posts.len() > round, "round {round}: the load made no posts");
        every_acknowledged_write_is_visible(&users, &ids, &model, round).await;
    }

    // Eventually: followers' feeds hold their followees' posts (fan-out is a job), and the
    // counters equal the items they count.
    jobs_done(&server).await;
    let model = model.lock().unwrap().clone();
    for (&(follower, followee), known) in &model.follows {
        if *known == Known::Yes {
            let feed = ids_of(&users[follower].walk("/api/feed", 100).await);
            // A follow backfills the followee's 50 newest posts (older ones were never owed to
            // this feed); ids sort by time, so those are the 50 greatest. A create the kill cut
            // may have committed all the same: such a post can be one of the 50 the backfill
            // took, in place of the oldest acknowledged one, so those are owed one fewer each.
            let mut theirs: Vec<&String> =
                model.posts.iter().filter(|(_, author)| *author == followee).map(|(p, _)| p).collect();
            theirs.sort_unstable_by(|a, b| b.cmp(a));
            let unsure = model.unsure_posts.get(&followee).copied().unwrap_or(0).max(0) as usize;
            theirs.truncate(BACKFILL_POSTS.saturating_sub(unsure));
            for (i, post) in theirs.iter().enumerate() {
                assert!(feed.contains(post), "post {post} ({i} of {}) of {followee} missing from follower {follower}'s feed ({} items)", theirs.len(), feed.len());
            }
        }
    }
    let check = server.roost(&["check"]);
    assert!(
        check.status.success(),
        "roost check found drift:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[tokio::test]
async fn a_retried_follow_or_unfollow_finishes_what_a_crash_after_its_commit_left_undone() {
    // The crash comes exactly between the commit and what follows it (the cache forgetting
    // both profiles, the feed gaining or losing the followee's posts), which kill -9 under
    // load hits only by chance. A shared cache (distributed) outlives the process with both
    // profiles' old counts, so only the client's retry can put things right.
    // The crashed follow's backfill, owed in the outbox, is left to the retry: a relay
    // running it later could race the unfollow below (distributed; embedded runs it at
    // startup, before serving).
    let setup = Setup::new().env("ROOST_OUTBOX_GRACE_SECS", "600");
    let (setup, switch) = setup.switch("ROOST_TEST_CRASH_AFTER_COMMIT");
    let mut server = setup.start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    let bob_profile = format!("/api/users/{}", bob_user["id"].as_str().unwrap());
    let follow = format!("{bob_profile}/follow");
    let bobs_post = bob.create_post("written before the follow").await["id"].as_str().unwrap().to_string();

    for (write, method, following) in [("follow", Method::POST, true), ("unfollow", Method::DELETE, false)] {
        let send = || {
            let request = alice.request(method.clone(), &follow);
            if following { request.json(&json!({})) } else { request }.send()
        };
        // Both profiles are read first, so that a shared cache holds their old counts.
        let old = i64::from(!following);
        assert_eq!(alice.get(&bob_profile).await.expect(200)["followers_count"], old, "{write}: before");
        assert_eq!(alice.get("/api/me").await.expect(200)["following_count"], old, "{write}: before");

        std::fs::write(&switch, write).unwrap();
        let cut = send().await;
        assert!(cut.is_err(), "{write}: answered although the server was to crash: {cut:?}");
        let status = server.exited(Duration::from_secs(10)).await;
        assert!(!status.success(), "{write}: the server exited cleanly instead of crashing");
        std::fs::remove_file(&switch).unwrap();
        server.restart().await;

        let retried = send().await.unwrap();
        assert_eq!(retried.status().as_u16(), 200, "{write}: the retry");
        let new = i64::from(following);
        let profile = alice.get(&bob_profile).await.expect(200);
        assert_eq!(profile["followers_count"], new, "{write}: bob's profile after the retry");
        assert_eq!(alice.get("/api/me").await.expect(200)["following_count"], new, "{write}: alice's");
        let feed = ids_of(&alice.walk("/api/feed", 50).await);
        assert_eq!(feed.contains(&bobs_post), following, "{write}: bob's post in alice's feed");
    }
}

/// The shutdown deadline of the SIGTERM tests: far above what a clean stop takes, so a
/// stop that waits for it (on an event stream, say) is seen.
const GRACE_SECS: u64 = 10;

/// The body of a raw HTTP/1.1 answer, after checking its status line.
fn answer_body(raw: &str, status: u16) -> Value {
    assert!(raw.starts_with(&format!("HTTP/1.1 {status} ")), "answer: {raw}");
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {raw}"))
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight_refuses_new_ones_and_ends_streams() {
    let mut server = Setup::new().env("ROOST_SHUTDOWN_GRACE_SECS", &GRACE_SECS.to_string()).start().await;
    let (alice, _) = server.client().register("alice").await;
    let mut stream = EventReader::open(&alice).await;

    // An upload whose body is still on its way when SIGTERM arrives.
    let image = png(64, 48);
    let mut upload = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    let head = format!(
        "POST /api/media HTTP/1.1\r\nHost: roost\r\nAuthorization: Bearer {}\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        alice.token.as_deref().unwrap(),
        image.len()
    );
    upload.write_all(head.as_bytes()).unwrap();
    let (first, rest) = image.split_at(image.len() / 2);
    upload.write_all(first).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = std::time::Instant::now();
    server.sigterm();
    // The stream ends at once rather than holding the shutdown until its deadline.
    tokio::time::timeout(Duration::from_secs(2), stream.until_end())
        .await
        .expect("the event stream did not end within 2 s of SIGTERM");
    // No new connections: the listener is closed (so nothing can reach /readyz either). A
    // connection the kernel queued just before the close may still be completed, hence a
    // few tries.
    eventually("new connections are refused", Duration::from_secs(1), || async {
        TcpStream::connect(("127.0.0.1", server.port())).is_err().then_some(())
    })
    .await;

    tokio::time::sleep(Duration::from_millis(300)).await;
    upload.write_all(rest).unwrap();
    let mut raw = String::new();
    upload.read_to_string(&mut raw).unwrap();
    let media = answer_body(&raw, 201);

    let status = server.exited(Duration::from_secs(GRACE_SECS)).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(GRACE_SECS / 2), "the shutdown took {took:?}");

    server.restart().await;
    let path = format!("/api/media/{}", media["id"].as_str().unwrap());
    let kept = alice.request(Method::GET, &path).send().await.unwrap();
    assert_eq!(kept.status().as_u16(), 200, "the upload acknowledged during the drain is kept");
    assert_eq!(kept.bytes().await.unwrap().len(), image.len());
}

#[tokio::test]
async fn sigterm_hands_unfinished_jobs_to_the_next_instance_at_once() {
    // Jobs held by a worker that stopped without handing them back would wait the claim idle
    // time, 10 minutes here, far beyond the drain's minute. One job at a time, so that the workers hold read jobs not yet started when SIGTERM
    // comes (each batch is what queued while the last one ran).
    let setup = Setup::new()
        .env("ROOST_SHUTDOWN_GRACE_SECS", &GRACE_SECS.to_string())
        .env("ROOST_WORKER_CONCURRENCY", "1")
        .env("ROOST_JOB_CLAIM_IDLE_SECS", "600");
    let mut server = setup.start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let posts: Vec<Value> = futures::future::join_all((0..2).map(|i| {
        let alice = alice.clone();
        async move { alice.create_post(&format!("post {i}")).await }
    }))
    .await;
    // Enough like jobs that SIGTERM comes while the workers are among them: a few seconds'
    // work on moto, well under a second on SQLite.
    let likers = register_many(&client, "liker", if common::distributed() { 15 } else { 100 }, 8).await;
    let likes = likers.iter().flat_map(|(liker, _)| posts.iter().map(move |post| (liker, post)));
    futures::future::join_all(likes.map(|(liker, post)| async move {
        let path = format!("/api/posts/{}/like", post["id"].as_str().unwrap());
        liker.post(&path, json!({})).await.expect(200);
    }))
    .await;
    server.sigterm();
    let status = server.exited(Duration::from_secs(GRACE_SECS)).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");

    // The next instance: the same one restarted (embedded), or another (distributed).
    let next = match common::distributed() {
        true => setup.start().await,
        false => {
            server.restart().await;
            server
        }
    };
    jobs_done(&next).await;
    let alice = next.client().with_token(alice.token.as_deref().unwrap());
    for post in &posts {
        let read = alice.get(&format!("/api/posts/{}", post["id"].as_str().unwrap())).await.expect(200);
        assert_eq!(read["like_count"], likers.len() as i64);
    }
    let check = next.roost(&["check"]);
    assert!(check.status.success(), "roost check: {}", String::from_utf8_lossy(&check.stdout));
}
