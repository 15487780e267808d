//! Privacy-safe analytics over HTTP: `GET /api/admin/stats` after traffic by several users,
//! who may ask, the bounds of `days`, the roll-up into the store surviving the loss of the
//! cache, and no user id in any analytics key or value (the store's rolled-up items in both
//! modes; every Redis key and value in distributed mode).

mod common;

use std::time::Duration;

use common::{Client, Server, Setup};
use serde_json::{json, Value};

/// Registers `username`, makes it a moderator with `roost admin`, signs it in again.
async fn moderator(server: &Server, username: &str) -> (Client, Value) {
    let (_, user) = server.client().register(username).await;
    (server.grant_moderator(username).await, user)
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

/// Today's entry (the last) as (active, posts, likes, follows, comments, feed_reads).
fn today(stats: &Value) -> (u64, u64, u64, u64, u64, u64) {
    let day = stats["days"].as_array().unwrap().last().unwrap().clone();
    let n = |field: &str| day[field].as_u64().unwrap_or_else(|| panic!("{field} in {day}"));
    (n("active_users"), n("posts"), n("likes"), n("follows"), n("comments"), n("feed_reads"))
}

/// The rolled-up days in the store, one line each.
async fn rolled_up(server: &Server) -> Vec<String> {
    server.dump_store().await.into_iter().filter(|line| line.contains("DAY#")).collect()
}

#[tokio::test]
async fn stats_count_users_and_activity_per_day_without_keeping_ids() {
    let mut server = Setup::new().env("ROOST_STATS_ROLLUP_SECS", "1").start().await;
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    let (carol, carol_user) = client.register("carol").await;

    let first = alice.create_post("first").await;
    alice.create_post("second").await;
    bob.follow(&id(&alice_user)).await;
    carol.follow(&id(&alice_user)).await;
    bob.post(&format!("/api/posts/{}/like", id(&first)), json!({})).await.expect(200);
    bob.post(&format!("/api/posts/{}/like", id(&first)), json!({})).await.expect(200);
    carol.post(&format!("/api/posts/{}/comments", id(&first)), json!({"text": "hi"})).await.expect(201);
    for reader in [&bob, &bob, &carol] {
        reader.get("/api/feed").await.expect(200);
    }

    let (moderator, moderator_user) = moderator(&server, "mod").await;
    let stats = moderator.get("/api/admin/stats").await.expect(200);
    let days = stats["days"].as_array().unwrap();
    assert_eq!(days.len(), 30, "30 days by default: {stats}");
    let dates: Vec<&str> = days.iter().map(|d| d["date"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] < w[1]), "oldest first: {dates:?}");
    // Four users made requests (the moderator's own counts); a repeated like counts once.
    assert_eq!(today(&stats), (4, 2, 1, 2, 1, 3), "{stats}");
    assert!(days[..29].iter().all(|d| d["active_users"] == 0 && d["posts"] == 0), "{stats}");
    assert_eq!(stats["monthly_active_users"], 4);

    // Who may ask, and how many days.
    bob.get("/api/admin/stats").await.expect_error(403, "forbidden");
    client.get("/api/admin/stats").await.expect_error(401, "unauthorized");
    for bad in ["0", "91", "-1", "many"] {
        moderator.get(&format!("/api/admin/stats?days={bad}")).await.expect_error(400, "bad_request");
    }
    let one = moderator.get("/api/admin/stats?days=1").await.expect(200);
    assert_eq!(one["days"].as_array().unwrap().len(), 1);
    assert_eq!(one["days"][0]["date"], days[29]["date"]);
    assert_eq!(
        moderator.get("/api/admin/stats?days=90").await.expect(200)["days"].as_array().unwrap().len(),
        90
    );

    // The roll-up copies today into the store (each second here); wait for one that ran
    // after everything above was counted.
    common::eventually("a rolled-up day", Duration::from_secs(20), || async {
        (!rolled_up(&server).await.is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let ids: Vec<String> =
        [&alice_user, &bob_user, &carol_user, &moderator_user].into_iter().map(id).collect();
    let names = ["alice", "bob", "carol"];
    for line in rolled_up(&server).await {
        for secret in ids.iter().map(String::as_str).chain(names) {
            assert!(!line.contains(secret), "the rolled-up day holds {secret}: {line}");
        }
    }
    if common::distributed() {
        let ns = server.setup().cache_namespace().unwrap().to_string();
        let keys = common::redis_cli(&["--scan", "--pattern", &format!("{ns}:stats*")]);
        let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
        assert!(keys.iter().any(|k| k.ends_with(":events")), "{keys:?}");
        assert!(keys.iter().any(|k| k.ends_with(":active")), "{keys:?}");
        assert!(keys.iter().any(|k| k.contains("stats-window")), "{keys:?}");
        for key in &keys {
            let value = match common::redis_cli(&["TYPE", key]).trim() {
                "hash" => common::redis_cli(&["HGETALL", key]),
                "string" => common::redis_cli(&["GET", key]),
                other => panic!("{key} is a {other}"),
            };
            for secret in ids.iter().map(String::as_str).chain(names) {
                assert!(!key.contains(secret) && !value.contains(secret), "{key} holds {secret}: {value}");
            }
        }
        // Lose the cache's figures: the store's copy answers.
        let mut del = vec!["DEL"];
        del.extend(keys.iter().copied());
        common::redis_cli(&del);
    }
    // In embedded mode the cache is in the process: a restart loses it.
    server.restart().await;
    let after = moderator.get("/api/admin/stats?days=7").await.expect(200);
    assert_eq!(today(&after), (4, 2, 1, 2, 1, 3), "from the store after the cache was lost: {after}");
}
