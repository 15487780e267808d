//! `GET /metrics` and `GET /api/admin/cost` after real traffic: the metric names and their
//! labels (route templates, statuses, cache kinds, store operations, consumed capacity),
//! `metrics_listen` moving the exposition off the public port, and the cost report's shape
//! and access rules. Runs in both modes (the embedded store's capacity is estimated, the
//! DynamoDB store's reported).

mod common;

use std::time::Duration;

use common::{eventually, Client, Server, Setup};
use serde_json::{json, Value};

/// The exposition text from `base` (a server's public or metrics address).
async fn scrape(base: &str) -> (u16, String) {
    let answer = reqwest::get(format!("{base}/metrics")).await.expect("GET /metrics");
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// Sample lines (not `# HELP`/`# TYPE`) of metric `name` carrying every label in `labels`.
fn samples<'a>(text: &'a str, name: &str, labels: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .collect()
}

fn assert_has(text: &str, name: &str, labels: &[&str]) {
    assert!(
        !samples(text, name, labels).is_empty(),
        "no sample of {name} with {labels:?} in:\n{}",
        text.lines().filter(|l| l.contains(name)).collect::<Vec<_>>().join("\n")
    );
}

/// The value of the first sample of `name` with `labels`.
fn value(text: &str, name: &str, labels: &[&str]) -> f64 {
    let line = samples(text, name, labels).first().copied().unwrap_or_else(|| panic!("no {name} {labels:?}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Registers two users, follows, posts, likes, comments and reads feeds.
async fn drive_traffic(server: &Server) -> (Client, Client) {
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    alice.follow(bob_user["id"].as_str().unwrap()).await;
    let post = bob.create_post("hello metrics").await;
    let pid = post["id"].as_str().unwrap();
    alice.post(&format!("/api/posts/{pid}/like"), json!({})).await.expect(200);
    alice.post(&format!("/api/posts/{pid}/comments"), json!({"text": "nice"})).await.expect(201);
    eventually("the post reaches alice's feed", Duration::from_secs(30), || async {
        let feed = alice.get("/api/feed").await.expect(200);
        feed["items"].as_array().is_some_and(|items| !items.is_empty()).then_some(())
    })
    .await;
    alice.get("/api/feed").await.expect(200);
    bob.get(&format!("/api/posts/{pid}")).await.expect(200);
    bob.get("/api/users/alice").await.expect(200);
    client.get("/api/no/such/route").await;
    // A taken name: the store refuses the claim's condition, which counts as a store error.
    client
        .anonymous()
        .post("/api/auth/register", json!({"username": "alice", "password": "password123"}))
        .await
        .expect(409);
    (alice, bob)
}

#[tokio::test]
async fn metrics_carry_routes_caches_store_and_capacity() {
    let server = Server::start().await;
    let (alice, _) = drive_traffic(&server).await;
    let (status, text) = scrape(&server.base).await;
    assert_eq!(status, 200);

    // Routes are templates, never raw paths; unmatched paths share one label.
    assert_has(
        &text,
        "roost_http_requests_total",
        &[r#"route="/api/feed""#, r#"method="GET""#, r#"status="200""#],
    );
    assert_has(&text, "roost_http_requests_total", &[r#"route="/api/posts/{id}/like""#, r#"method="POST""#]);
    assert_has(&text, "roost_http_requests_total", &[r#"route="unmatched""#, r#"status="404""#]);
    assert!(!text.contains("/api/no/such/route"), "a raw path became a label");
    assert_has(
        &text,
        "roost_http_request_duration_seconds_bucket",
        &[r#"route="/api/auth/register""#, "le="],
    );

    for kind in ["feed", "post", "profile", "likes"] {
        assert_has(&text, "roost_cache_lookups_total", &[&format!(r#"kind="{kind}""#)]);
    }
    assert_has(&text, "roost_feed_generation_duration_seconds_count", &[]);
    for op in ["get", "query", "transact_write", "batch_get"] {
        assert_has(&text, "roost_store_operation_duration_seconds_count", &[&format!(r#"op="{op}""#)]);
    }
    assert_has(&text, "roost_store_errors_total", &[r#"op="#, r#"error="#]);
    assert!(value(&text, "roost_dynamodb_read_units_consumed", &[r#"index="table""#]) > 0.0);
    assert!(value(&text, "roost_dynamodb_write_units_consumed", &[r#"index="table""#]) > 0.0);
    for kind in ["post", "like", "follow", "comment"] {
        assert_eq!(value(&text, "roost_engagement_total", &[&format!(r#"kind="{kind}""#)]), 1.0, "{kind}");
    }
    // A feed page reads the cache (session, feed ids, posts, ...): counted for its route.
    let feed_trips = value(&text, "roost_cache_round_trips_total", &[r#"route="/api/feed""#]);
    let feeds = value(&text, "roost_http_requests_total", &[r#"route="/api/feed""#, r#"status="200""#]);
    assert!(feed_trips >= 3.0 * feeds, "{feed_trips} cache round trips for {feeds} feed pages");
    assert_has(&text, "roost_job_runs_total", &[r#"kind="fan_out""#, r#"outcome="done""#]);
    assert_has(&text, "roost_fanout_lag_seconds_count", &[]);
    assert_has(&text, "roost_job_queue_depth", &[]);
    if common::distributed() {
        // Read from Redis's INFO and SLOWLOG LEN at start-up, then periodically.
        for name in
            ["roost_redis_used_memory_bytes", "roost_redis_connected_clients", "roost_redis_slowlog_length"]
        {
            assert_has(&text, name, &[]);
        }
        assert_has(&text, "roost_redis_evicted_keys_total", &[]);
    }

    // A warm page costs five trips: the session (with the hidden set), the feed's ids,
    // the posts, then authors and like states together. A sixth would be a regression.
    let feed_trips = || async {
        let text = scrape(&server.base).await.1;
        value(&text, "roost_cache_round_trips_total", &[r#"route="/api/feed""#])
    };
    let before = feed_trips().await;
    for _ in 0..10 {
        alice.get("/api/feed").await.expect(200);
    }
    let per_page = (feed_trips().await - before) / 10.0;
    assert!(per_page <= 5.0, "a warm feed page took {per_page} cache round trips");
}

#[tokio::test]
async fn metrics_listen_moves_metrics_off_the_public_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Setup::new().env("ROOST_METRICS_LISTEN", &format!("127.0.0.1:{port}")).start().await;
    server.client().get("/healthz").await.expect(200);
    let (public, _) = scrape(&server.base).await;
    assert_eq!(public, 404, "/metrics still on the public port");
    let (status, text) = eventually("the metrics listener", Duration::from_secs(10), || async {
        reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.ok()?;
        Some(scrape(&format!("http://127.0.0.1:{port}")).await)
    })
    .await;
    assert_eq!(status, 200);
    assert_has(&text, "roost_http_requests_total", &[r#"route="/healthz""#]);
    let (other, _) = scrape(&format!("http://127.0.0.1:{port}/api")).await;
    assert_eq!(other, 404, "the metrics listener serves nothing else");
}

fn assert_number(entry: &Value, field: &str) {
    assert!(entry[field].is_number(), "{field} is not a number in {entry}");
}

#[tokio::test]
async fn cost_report_for_moderators() {
    let server = Server::start().await;
    let (alice, _) = drive_traffic(&server).await;
    alice.get("/api/admin/cost").await.expect_error(403, "forbidden");
    alice.anonymous().get("/api/admin/cost").await.expect_error(401, "unauthorized");

    let moderator = server.grant_moderator("bob").await;
    let report = moderator.get("/api/admin/cost").await.expect(200);

    assert!(report["since"].as_str().is_some_and(|s| s.ends_with('Z')), "{report}");
    assert_eq!(report["prices"]["read_request_units_per_million_usd"], 0.125);
    assert_eq!(report["prices"]["write_request_units_per_million_usd"], 0.625);
    let routes = report["routes"].as_array().expect("routes");
    let feed = routes.iter().find(|r| r["route"] == "GET /api/feed").expect("GET /api/feed in the report");
    assert!(feed["requests"].as_u64().unwrap() >= 2, "{feed}");
    assert!(feed["read_units"].as_f64().unwrap() > 0.0, "{feed}");
    for route in routes {
        for field in ["requests", "read_units", "write_units", "usd_per_1000_requests"] {
            assert_number(route, field);
        }
    }
    let costs: Vec<f64> = routes.iter().map(|r| r["usd_per_1000_requests"].as_f64().unwrap()).collect();
    assert!(costs.windows(2).all(|w| w[0] >= w[1]), "not dearest first: {costs:?}");
    let register = routes.iter().find(|r| r["route"] == "POST /api/auth/register").expect("register");
    assert!(register["write_units"].as_f64().unwrap() > 0.0, "{register}");

    let background = report["background"].as_array().expect("background");
    let fan_out = background.iter().find(|j| j["job"] == "fan_out").expect("fan_out in background");
    assert!(fan_out["runs"].as_u64().unwrap() >= 1, "{fan_out}");
    assert!(fan_out["write_units"].as_f64().unwrap() > 0.0, "{fan_out}");
    for job in background {
        for field in ["runs", "read_units", "write_units", "usd_per_1000_runs"] {
            assert_number(job, field);
        }
    }
}
