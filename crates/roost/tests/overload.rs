//! Overload (docs/reliability.md): with a low limit of requests in flight and a slow store
//! (the store-fault hook of debug builds), a burst of many times more concurrent requests
//! than the server admits is partly shed at once — 503 `overloaded` with `Retry-After` —
//! while every admitted request succeeds, `/healthz` stays fast, the server's memory stays
//! bounded, and afterwards it serves normally with every acknowledged write in place.

mod common;

use std::time::{Duration, Instant};

use common::{store_faults, Setup};
use futures::future::join_all;
use serde_json::json;

/// Requests in flight the server admits here (`max_in_flight`).
const LIMIT: usize = 4;
/// Concurrent requests of the burst.
const BURST: usize = 200;

/// The server's resident memory in KiB, from `/proc`.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_burst_beyond_the_limit_is_shed_at_once_and_health_stays_fast() {
    let (setup, faults) = store_faults(Setup::new().env("ROOST_MAX_IN_FLIGHT", &LIMIT.to_string()));
    let server = setup.start().await;
    let (alice, _) = server.client().register("alice").await;
    // Warm up the paths the burst takes, so memory measures the burst, not first use.
    let mut created = vec![alice.create_post("warm-up").await];
    let memory_before = resident_kib(server.pid());

    std::fs::write(&faults, "slow 200").unwrap();
    let health = async {
        let mut slowest = Duration::ZERO;
        let http = reqwest::Client::new();
        for _ in 0..20 {
            let started = Instant::now();
            let status = http.get(format!("{}/healthz", server.base)).send().await.unwrap().status();
            assert_eq!(status, 200);
            slowest = slowest.max(started.elapsed());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        slowest
    };
    let burst = join_all((0..BURST).map(|i| {
        // One connection each, as many clients would open.
        let http = reqwest::Client::new();
        let request = http
            .post(format!("{}/api/posts", server.base))
            .bearer_auth(alice.token.as_deref().unwrap())
            .json(&json!({ "text": format!("burst {i}") }));
        async move {
            let response = request.send().await.expect("an answer, not a dropped connection");
            let status = response.status().as_u16();
            let retry_after = response.headers().contains_key("retry-after");
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            (status, retry_after, body)
        }
    }));
    let (answers, slowest_health) = tokio::join!(burst, health);
    std::fs::remove_file(&faults).unwrap();

    let mut shed = 0;
    for (status, retry_after, body) in answers {
        match status {
            201 => created.push(body),
            503 | 429 => {
                assert!(retry_after, "a shed request says when to retry: {body}");
                shed += 1;
            }
            other => panic!("neither served nor shed: {other} {body}"),
        }
    }
    assert!(shed > 0, "nothing was shed");
    assert!(!created.is_empty(), "nothing was admitted");
    assert!(slowest_health < Duration::from_millis(500), "/healthz took {slowest_health:?} under load");
    let growth = resident_kib(server.pid()).saturating_sub(memory_before);
    assert!(growth < 64 * 1024, "memory grew by {growth} KiB");

    // Served normally afterwards, and every acknowledged post is there.
    created.push(alice.create_post("after the burst").await);
    let mut listed = common::ids_of(&alice.walk("/api/users/alice/posts", 100).await);
    let mut expected = common::ids_of(&created);
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
}
