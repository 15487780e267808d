//! The store slow, throttling and down (docs/reliability.md): through the store-fault hook of
//! debug builds (`roost_engines::faults`), a slow store still serves, a throttling burst is
//! retried unseen (and counted in `/metrics`), and an outage or a hung store answers 503 with
//! `Retry-After` within the store's deadline, `/readyz` naming the store; afterwards every
//! acknowledged write is there.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{store_faults, Answer, Client, Setup};
use reqwest::Method;
use serde_json::json;

/// The store deadline the servers here run with (`store_timeout_ms`).
const STORE_TIMEOUT: Duration = Duration::from_millis(1500);
/// What a debug server on a shared machine may add to that deadline before answering.
const SLACK: Duration = Duration::from_millis(2000);

/// A fresh deployment with the test's store deadline, and its fault file.
fn faulty() -> (Setup, PathBuf) {
    store_faults(Setup::new().env("ROOST_STORE_TIMEOUT_MS", &STORE_TIMEOUT.as_millis().to_string()))
}

/// A request and how long its answer took, with its `Retry-After`.
async fn timed(
    client: &Client,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (Answer, Option<String>, Duration) {
    let mut request = client.request(method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let started = Instant::now();
    let response = request.send().await.expect("an answer, not a dropped connection");
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let status = response.status();
    let body = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or_default();
    (Answer { status, body }, retry_after, started.elapsed())
}

async fn metric_sum(base: &str, prefix: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn a_slow_store_serves_and_a_hung_one_answers_503_within_the_deadline() {
    let (setup, faults) = faulty();
    let server = setup.start().await;
    let (alice, _) = server.client().register("alice").await;

    std::fs::write(&faults, "slow 300").unwrap();
    let post = alice.create_post("written to a slow store").await;
    alice.get(&format!("/api/posts/{}", post["id"].as_str().unwrap())).await.expect(200);
    alice.get("/api/users/alice/posts").await.expect(200);

    // Hung: no call ever answers. The deadline, not the request timeout (30 s), ends it.
    std::fs::write(&faults, "slow 600000").unwrap();
    for (method, path, body) in [
        (Method::POST, "/api/posts", Some(json!({"text": "into a hung store"}))),
        (Method::GET, "/api/users/alice/posts", None),
    ] {
        let (answer, retry_after, took) = timed(&alice, method, path, body).await;
        assert_eq!(answer.status, 503, "{path}: {}", answer.body);
        assert!(retry_after.is_some(), "{path}: a 503 says when to retry");
        assert!(took < STORE_TIMEOUT + SLACK, "{path} took {took:?}");
    }
    std::fs::remove_file(&faults).unwrap();
    let posts = alice.walk("/api/users/alice/posts", 50).await;
    assert_eq!(common::texts_of(&posts), ["written to a slow store"]);
}

#[tokio::test]
async fn a_throttling_burst_is_retried_unseen_and_counted() {
    let (setup, faults) = faulty();
    let server = setup.start().await;
    let (alice, _) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    let before = metric_sum(&server.base, "roost_store_retries_total{").await;

    // Three refusals in a row: fewer than a call's attempts (`store_attempts`, 4).
    std::fs::write(&faults, "throttle 3").unwrap();
    let post = alice.create_post("written through a throttling burst").await;
    let id = post["id"].as_str().unwrap();
    bob.post(&format!("/api/posts/{id}/like"), json!({})).await.expect(200);
    std::fs::write(&faults, "throttle 2").unwrap();
    bob.post(&format!("/api/posts/{id}/comments"), json!({"text": "throttled too"})).await.expect(201);
    assert_eq!(alice.get(&format!("/api/posts/{id}")).await.expect(200)["like_count"], 1);
    std::fs::remove_file(&faults).unwrap();

    let retried = metric_sum(&server.base, "roost_store_retries_total{").await - before;
    assert!(retried >= 5.0, "every refusal retried and counted: {retried}");
}

#[tokio::test]
async fn an_outage_answers_503_with_retry_after_and_loses_no_acknowledged_write() {
    let (setup, faults) = faulty();
    let server = setup.start().await;
    let (alice, _) = server.client().register("alice").await;
    let mut acknowledged = vec![alice.create_post("before the outage").await];

    std::fs::write(&faults, "down").unwrap();
    let post = format!("/api/posts/{}", acknowledged[0]["id"].as_str().unwrap());
    let requests = [
        (Method::POST, "/api/posts", Some(json!({"text": "during the outage"}))),
        (Method::PATCH, "/api/me", Some(json!({"bio": "written while down"}))),
        (Method::GET, post.as_str(), None),
        (Method::GET, "/api/users/alice/posts", None),
    ];
    for (method, path, body) in requests {
        let write = method != Method::GET;
        let (answer, retry_after, took) = timed(&alice, method, path, body).await;
        match answer.status.as_u16() {
            503 => {
                assert_eq!(answer.body["error"]["code"], "unavailable", "{path}: {}", answer.body);
                assert!(retry_after.is_some_and(|s| s.parse::<u64>().is_ok()), "{path}: Retry-After");
            }
            // A read the cache could answer without the store.
            200 if !write => {}
            other => panic!("{path}: {other} {}", answer.body),
        }
        assert!(took < STORE_TIMEOUT + SLACK, "{path} took {took:?}");
    }
    let ready = server.client().get("/readyz").await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.body["engines"]["store"], "unavailable", "{}", ready.body);

    std::fs::remove_file(&faults).unwrap();
    server.client().get("/readyz").await.expect(200);
    // The client retries what failed; all is served again.
    acknowledged.push(alice.create_post("after the outage").await);
    alice.patch("/api/me", json!({"bio": "written after"})).await.expect(200);
    let posts = alice.walk("/api/users/alice/posts", 50).await;
    let mut expected = common::ids_of(&acknowledged);
    let mut found = common::ids_of(&posts);
    expected.sort();
    found.sort();
    assert_eq!(found, expected, "every acknowledged post, and no other");
}
