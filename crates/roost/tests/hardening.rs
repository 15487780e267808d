//! Abuse limits and HTTP hardening, against a real server: repeated bad sign-ins are limited
//! (and then the right password too), slow request heads are cut off, JSON bodies are
//! capped, panics and crafted inputs never reset a connection or leak internals, every
//! answer carries the security headers, and names refuse invisible characters.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Server, Setup};
use serde_json::json;

#[tokio::test]
async fn repeated_bad_sign_ins_are_limited_even_with_the_right_password_after() {
    let server = Setup::new().rate_limited().env("ROOST_LIMIT_SIGN_IN_FAILURES", "3").start().await;
    let client = server.client();
    client.register("carol").await;
    let login =
        |password: &str| client.post("/api/auth/login", json!({"username": "carol", "password": password}));
    for _ in 0..3 {
        login("wrong password").await.expect_error(401, "invalid_credentials");
    }
    let refused = client
        .send(
            client
                .request(reqwest::Method::POST, "/api/auth/login")
                .json(&json!({"username": "carol", "password": "nope"})),
        )
        .await;
    refused.expect_error(429, "rate_limited");
    let answer = client
        .request(reqwest::Method::POST, "/api/auth/login")
        .json(&json!({"username": "carol", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 429, "the right password waits too");
    let retry_after: u64 = answer.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "Retry-After {retry_after}");
    // Another account is not affected.
    client.register("dave").await;
    client.post("/api/auth/login", json!({"username": "dave", "password": "password123"})).await.expect(200);
}

#[tokio::test]
async fn limits_are_off_when_configured_so() {
    let server = Setup::new().env("ROOST_LIMIT_SIGN_IN_FAILURES", "1").start().await;
    let client = server.client();
    client.register("erin").await;
    for _ in 0..3 {
        let answer =
            client.post("/api/auth/login", json!({"username": "erin", "password": "bad password"})).await;
        answer.expect_error(401, "invalid_credentials");
    }
}

#[tokio::test]
async fn posting_is_limited_per_account() {
    let server = Setup::new().rate_limited().env("ROOST_LIMIT_POSTS", "2").start().await;
    let (alice, _) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    alice.post("/api/posts", json!({"text": "one"})).await.expect(201);
    alice.post("/api/posts", json!({"text": "two"})).await.expect(201);
    alice.post("/api/posts", json!({"text": "three"})).await.expect_error(429, "rate_limited");
    bob.post("/api/posts", json!({"text": "mine"})).await.expect(201);
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off() {
    let server = Setup::new().env("ROOST_HEADER_READ_TIMEOUT_SECS", "1").start().await;
    let mut socket = TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    socket.write_all(b"GET /healthz HT").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    // The server closes the connection (possibly after a 408): the read ends.
    let _ = socket.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "the half-sent request was held {waited:?}");
    let text = String::from_utf8_lossy(&rest);
    assert!(!text.contains("200 OK"), "{text}");
}

/// Sends `head` and as much of `body` as the server takes (it may answer and close early,
/// which a client library reports as a broken pipe), then reads the answer.
fn send_raw(server: &Server, head: &str, body: impl Iterator<Item = Vec<u8>>) -> String {
    let mut socket = TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    socket.write_all(head.as_bytes()).unwrap();
    for part in body {
        if socket.write_all(&part).is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn oversized_json_is_413_before_anything_else() {
    let server = Server::start().await;
    let client = server.client();
    // With a Content-Length over the cap, the answer comes before the body is read.
    let huge = format!("{{\"username\": \"someone\", \"password\": \"{}\"}}", "x".repeat(2 << 20));
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        huge.len()
    );
    let answer = send_raw(&server, &head, huge.as_bytes().chunks(0x1000).map(<[u8]>::to_vec));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Without a Content-Length (chunked), the cap holds while reading.
    let head = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let chunks = (0..20).map(|_| format!("1000\r\n{}\r\n", " ".repeat(0x1000)).into_bytes());
    let answer = send_raw(&server, head, chunks.chain([b"0\r\n\r\n".to_vec()]));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Just under the cap is read as usual.
    let fits = format!("{{\"username\": \"someone\", \"password\": \"{}\"}}", "y".repeat(60_000));
    let answer = client.post_raw("/api/auth/login", "application/json", fits.into_bytes()).await;
    answer.expect_error(401, "invalid_credentials");
}

#[tokio::test]
async fn a_panic_is_a_json_500_with_a_request_id_and_no_detail() {
    let server = Setup::new()
        .env("ROOST_TEST_PANIC_ROUTE", "1")
        .env("ROOST_LOG", "off")
        .env("RUST_BACKTRACE", "0")
        .start()
        .await;
    let answer = server.client().http.get(format!("{}/api/debug/panic", server.base)).send().await.unwrap();
    assert_eq!(answer.status(), 500);
    let request_id = answer.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal");
    assert_eq!(body["error"]["request_id"], request_id.as_str());
    assert!(!body.to_string().contains("on purpose"), "the panic's message stays in the log: {body}");
    // The server lives on.
    server.client().get("/healthz").await.expect(200);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_no_cors_by_default() {
    let server = Server::start().await;
    for path in ["/healthz", "/api/me", "/api/no-such-route", "/api/timeline"] {
        let answer = server
            .client()
            .http
            .get(format!("{}{path}", server.base))
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        let headers = answer.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"),
            "{path}"
        );
        assert!(headers.contains_key("x-request-id"), "{path}");
        assert!(!headers.contains_key("access-control-allow-origin"), "{path}");
    }
}

#[tokio::test]
async fn cors_answers_listed_origins_only() {
    let server =
        Setup::new().env("ROOST_CORS_ORIGINS", "https://app.example, https://other.example").start().await;
    let http = &server.client().http;
    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{}/api/posts", server.base))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "https://app.example");
    assert!(preflight.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    let stranger = http
        .get(format!("{}/healthz", server.base))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!stranger.headers().contains_key("access-control-allow-origin"));
    let listed = http
        .get(format!("{}/healthz", server.base))
        .header("origin", "https://other.example")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.headers()["access-control-allow-origin"], "https://other.example");
}

#[tokio::test]
async fn crafted_cursors_are_400() {
    let server = Server::start().await;
    let (alice, user) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    bob.follow(user["id"].as_str().unwrap()).await;
    alice.create_post("hello").await;
    let id = user["id"].as_str().unwrap();
    let crafted = "eyJwayI6IngiLCJzayI6InkifQ";
    for path in [
        format!("/api/users/{id}/followers"),
        format!("/api/users/{id}/following"),
        format!("/api/users/{id}/posts"),
        "/api/feed".to_string(),
        "/api/notifications".to_string(),
        "/api/timeline".to_string(),
    ] {
        for cursor in [crafted, "not-a-cursor", "eyJwayI6IngiLCJzayI6InkifQ.AAAAAAAAAAAAAAAAAAAAAA"] {
            let answer = alice.get(&format!("{path}?cursor={cursor}")).await;
            answer.expect_error(400, "bad_request");
        }
    }
}

#[tokio::test]
async fn self_unfollow_is_422_like_self_follow() {
    let server = Server::start().await;
    let (alice, user) = server.client().register("alice").await;
    let id = user["id"].as_str().unwrap();
    alice.post(&format!("/api/users/{id}/follow"), json!({})).await.expect_error(422, "validation_failed");
    alice.delete(&format!("/api/users/{id}/follow")).await.expect_error(422, "validation_failed");
}

#[tokio::test]
async fn names_refuse_route_words_and_invisible_characters() {
    let server = Server::start().await;
    let client = server.client();
    for reserved in ["users", "posts", "media", "metrics", "admin", "api", "Search"] {
        let answer =
            client.post("/api/auth/register", json!({"username": reserved, "password": "password123"})).await;
        let body = answer.expect_error(422, "validation_failed");
        assert!(body["error"]["message"].as_str().unwrap().contains("username"), "{body}");
    }
    let bidi = json!({"username": "ev\u{202E}il", "password": "password123"});
    client.post("/api/auth/register", bidi).await.expect_error(422, "validation_failed");
    for sneaky in ["admin\u{202E}nimda", "zero\u{200B}width", "\u{2066}isolate"] {
        let body = json!({"username": "plainname", "password": "password123", "display_name": sneaky});
        let answer = client.post("/api/auth/register", body).await;
        let body = answer.expect_error(422, "validation_failed");
        assert!(body["error"]["message"].as_str().unwrap().contains("display_name"), "{body}");
    }
    let (alice, _) = client.register("alice").await;
    let answer = alice.patch("/api/me", json!({"display_name": "Zoe\u{0301}"})).await;
    assert_eq!(answer.expect(200)["display_name"], "Zo\u{e9}", "names are stored in NFC");
    let post = alice.create_post("cafe\u{0301}").await;
    assert_eq!(post["text"], "caf\u{e9}", "texts are stored in NFC");
}

#[tokio::test]
async fn a_token_in_the_url_counts_only_for_the_stream() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let token = alice.token.clone().unwrap();
    let anonymous = server.client();
    anonymous.get(&format!("/api/me?access_token={token}")).await.expect_error(401, "unauthorized");
}
