//! Likes that cannot be lost (docs/reliability.md), over HTTP in both modes:
//! - after `kill -9` right after acknowledged likes and unlikes, the restarted server shows
//!   every one at once (no waiting for the dead worker's jobs to be claimed: the claim idle
//!   time stays at its default of 30 s here), round after round;
//! - a job that keeps failing ends in the dead letters, `roost jobs list` shows it, and
//!   `roost jobs replay` runs it again once the failure is gone;
//! - with `services`: a Redis without persistence is refused, unless
//!   `allow_volatile_cache`, and then a like outlives the loss of everything in Redis.

mod common;

use std::time::Duration;

use common::{eventually, register_many, Client, Setup};
use futures::StreamExt;
use serde_json::{json, Value};

fn like_path(post: &Value) -> String {
    format!("/api/posts/{}/like", post["id"].as_str().unwrap())
}

fn post_path(post: &Value) -> String {
    format!("/api/posts/{}", post["id"].as_str().unwrap())
}

/// `(like_count, liked_by_me)` of one read, now.
async fn seen_by(reader: &Client, post: &Value) -> (i64, bool) {
    let read = reader.get(&post_path(post)).await.expect(200);
    (read["like_count"].as_i64().unwrap(), read["liked_by_me"].as_bool().unwrap())
}

/// Each client likes (`true`) or unlikes the post, 16 at a time; every answer is 200.
async fn set_likes(clients: &[&Client], post: &Value, liked: bool) {
    futures::stream::iter(clients)
        .map(|client| async move {
            let path = like_path(post);
            let answer = if liked { client.post(&path, json!({})).await } else { client.delete(&path).await };
            assert_eq!(answer.expect(200)["liked"], liked);
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::test]
async fn every_acknowledged_like_is_visible_at_once_after_kill9() {
    let mut server = Setup::new().start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let post = alice.create_post("like me, then crash, again and again").await;
    let likers = register_many(&client, "liker", 60, 16).await;
    let mut liked: Vec<&Client> = Vec::new();
    for round in 0..3 {
        let new: Vec<&Client> = likers[round * 20..(round + 1) * 20].iter().map(|(c, _)| c).collect();
        set_likes(&new, &post, true).await;
        // Some of the previous round take theirs back.
        let undone: Vec<&Client> = liked.drain(..liked.len().min(5)).collect();
        set_likes(&undone, &post, false).await;
        liked.extend(new);
        server.kill9();
        server.restart().await;

        // One read each, straight after the restart: nothing may be missing.
        assert_eq!(seen_by(&alice, &post).await, (liked.len() as i64, false), "round {round}");
        for reader in &liked {
            assert_eq!(seen_by(reader, &post).await, (liked.len() as i64, true), "round {round}");
        }
        for reader in &undone {
            assert_eq!(seen_by(reader, &post).await, (liked.len() as i64, false), "round {round}");
        }
    }
}

fn output(out: std::process::Output) -> String {
    assert!(out.status.success(), "roost jobs failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_dead_lettered_listed_and_replayed() {
    let setup = Setup::new().env("ROOST_JOB_CLAIM_IDLE_SECS", "1");
    // The job-failure hook of debug builds (see `roost_service::jobs`): every job fails
    // while the switch file exists.
    let (setup, switch) = setup.switch("ROOST_TEST_FAILING_JOBS");
    let mut server = setup.start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let post = alice.create_post("a like whose job fails").await;
    eventually("the post's own jobs are done", Duration::from_secs(30), || async {
        output(server.jobs(&["list"])).contains("pending jobs: 0").then_some(())
    })
    .await;

    std::fs::write(&switch, b"fail").unwrap();
    assert_eq!(bob.post(&like_path(&post), json!({})).await.expect(200)["like_count"], 1);
    let listing = eventually("the like's job is dead-lettered", Duration::from_secs(90), || async {
        let listing = output(server.jobs(&["list"]));
        listing.contains("dead letters: 1").then_some(listing)
    })
    .await;
    assert!(listing.contains("pending jobs: 0"), "the queue no longer holds it: {listing}");
    let line = listing.lines().find(|l| l.contains("sync_like")).expect(&listing);
    assert!(line.contains("deliveries=10"), "{line}");
    assert!(line.contains("first_failed=20"), "{line}");
    assert!(line.contains("failing on purpose"), "{line}");
    let id = line.split('\t').next().unwrap().to_string();

    let missing = server.jobs(&["replay", "0-1"]);
    assert!(!missing.status.success(), "an unknown dead letter is an error");
    std::fs::remove_file(&switch).unwrap();
    assert!(output(server.jobs(&["replay", &id])).contains("queued again"));
    eventually("the replayed job ran", Duration::from_secs(30), || async {
        let listing = output(server.jobs(&["list"]));
        (listing.contains("pending jobs: 0") && listing.contains("dead letters: 0")).then_some(())
    })
    .await;

    // The like is in the store now: read with the like set gone from the cache.
    match setup.cache_namespace() {
        Some(ns) => {
            common::redis_cli(&["DEL", &format!("{ns}:likes:{{{}}}", post["id"].as_str().unwrap())]);
        }
        None => server.restart().await,
    }
    // A new connection: the old ones sat idle through the wait, and the server may close
    // one just as it is reused.
    let bob = Client { http: reqwest::Client::new(), ..bob };
    assert_eq!(seen_by(&bob, &post).await, (1, true));
}

/// A Redis with neither AOF nor RDB, on a free port, for as long as it is held.
#[cfg(feature = "services")]
struct VolatileRedis {
    child: std::process::Child,
    url: String,
}

#[cfg(feature = "services")]
impl VolatileRedis {
    fn start() -> VolatileRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (scripts/services.sh installs it)");
        // Held from here, so that a failure below still stops it (see `Drop`).
        let redis = VolatileRedis { child, url: format!("redis://127.0.0.1:{port}") };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return redis;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start");
    }

    fn cli(&self, args: &[&str]) {
        let status =
            std::process::Command::new("redis-cli").arg("-u").arg(&self.url).args(args).status().unwrap();
        assert!(status.success());
    }
}

#[cfg(feature = "services")]
impl Drop for VolatileRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(feature = "services")]
#[tokio::test]
async fn a_volatile_redis_is_refused_unless_allowed_and_then_likes_are_written_through() {
    let redis = VolatileRedis::start();
    let dir = std::env::temp_dir().join(format!("roost-volatile-{}", std::process::id()));
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_roost"))
        .args(["serve", "--listen", "127.0.0.1:0", "--redis-url", &redis.url, "--data-dir"])
        .arg(&dir)
        .env("ROOST_LOG", "off")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("allow_volatile_cache"), "{stderr}");

    // Allowed: SQLite + this Redis. A like is in the store before its answer, so it outlives
    // Redis losing everything (as a restart without persistence does).
    let setup = Setup::embedded()
        .env("ROOST_REDIS_URL", &redis.url)
        .env("ROOST_ALLOW_VOLATILE_CACHE", "true")
        .env("ROOST_CACHE_NAMESPACE", "volatile");
    let server = setup.start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let post = alice.create_post("written through").await;
    assert_eq!(bob.post(&like_path(&post), json!({})).await.expect(200)["like_count"], 1);
    redis.cli(&["FLUSHALL"]);
    assert_eq!(seen_by(&bob, &post).await, (1, true));
    let _ = std::fs::remove_dir_all(&dir);
}
