//! Accounts and sessions (docs/api.md, "accounts"), over HTTP against a real `roost serve`: register, login,
//! logout, `GET /api/me` and `PATCH /api/me`, with every error case of the contract
//! (malformed JSON → 400, missing/bad/revoked token → 401, taken username → 409, invalid
//! input → 422 naming the field). Export and erasure are tested with their own issue.

mod common;

use common::{Answer, Client, Server};
use serde_json::{json, Value};

/// Asserts a 422 whose message names `field`.
fn expect_invalid(answer: Answer, field: &str) {
    let body = answer.expect_error(422, "validation_failed");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(field), "the message should name {field}: {message}");
}

/// Asserts that `user` is a User of the contract, with every field of the right type.
fn assert_user_shape(user: &Value) {
    for field in ["id", "username", "display_name", "bio", "created_at"] {
        assert!(user[field].is_string(), "{field} should be a string: {user}");
    }
    for field in ["followers_count", "following_count", "posts_count"] {
        assert!(user[field].as_i64().is_some_and(|n| n >= 0), "{field} should be a count: {user}");
    }
    assert!(user.get("avatar_url").is_some_and(|a| a.is_null() || a.is_string()), "avatar_url: {user}");
    let created = user["created_at"].as_str().unwrap();
    assert!(
        roost_service::time::parse_rfc3339_millis(created).is_some(),
        "created_at is not RFC 3339: {created}"
    );
}

async fn register(client: &Client, body: Value) -> Answer {
    client.anonymous().post("/api/auth/register", body).await
}

async fn login(client: &Client, username: &str, password: &str) -> Answer {
    client.anonymous().post("/api/auth/login", json!({"username": username, "password": password})).await
}

#[tokio::test]
async fn register_answers_201_with_the_new_user_and_a_working_token() {
    let server = Server::start().await;
    let client = server.client();
    let body = register(
        &client,
        json!({"username": "alice", "password": "password123", "display_name": "Alice A."}),
    )
    .await
    .expect(201);
    let user = &body["user"];
    assert_user_shape(user);
    assert_eq!(user["username"], "alice");
    assert_eq!(user["display_name"], "Alice A.");
    assert_eq!(user["bio"], "");
    assert_eq!(user["avatar_url"], Value::Null);
    assert_eq!((user["followers_count"].as_i64(), user["following_count"].as_i64()), (Some(0), Some(0)));
    assert_eq!(user["posts_count"], 0);

    let me = client.with_token(body["token"].as_str().unwrap()).get("/api/me").await.expect(200);
    assert_eq!(me["id"], user["id"]);
    assert_eq!(me["username"], "alice");
}

#[tokio::test]
async fn register_without_display_name_uses_the_username() {
    let server = Server::start().await;
    let (_, user) = server.client().register("bob_42").await;
    assert_eq!(user["display_name"], "bob_42");
}

#[tokio::test]
async fn register_refuses_a_taken_username_case_insensitively() {
    let server = Server::start().await;
    let client = server.client();
    client.register("alice").await;
    for name in ["alice", "Alice", "ALICE"] {
        register(&client, json!({"username": name, "password": "password123"}))
            .await
            .expect_error(409, "username_taken");
    }
    // And the other way round: a name registered with capitals blocks its lower-case form.
    register(&client, json!({"username": "Carol", "password": "password123"})).await.expect(201);
    register(&client, json!({"username": "carol", "password": "password123"}))
        .await
        .expect_error(409, "username_taken");
}

#[tokio::test]
async fn register_refuses_invalid_usernames_naming_the_field() {
    let server = Server::start().await;
    let client = server.client();
    let too_long = "a".repeat(31);
    for name in [
        "ab",
        "",
        too_long.as_str(),
        "bad-name",
        "bad name",
        "bad.name",
        "élan",
        "search",
        "me",
        "suggestions",
    ] {
        expect_invalid(
            register(&client, json!({"username": name, "password": "password123"})).await,
            "username",
        );
    }
    // The bounds themselves are fine.
    register(&client, json!({"username": "abc", "password": "password123"})).await.expect(201);
    register(&client, json!({"username": "a".repeat(30), "password": "password123"})).await.expect(201);
}

#[tokio::test]
async fn register_refuses_a_short_password_naming_the_field() {
    let server = Server::start().await;
    let client = server.client();
    expect_invalid(register(&client, json!({"username": "alice", "password": "short"})).await, "password");
    // Nothing was created: the name is still free.
    register(&client, json!({"username": "alice", "password": "password123"})).await.expect(201);
}

#[tokio::test]
async fn register_refuses_a_too_long_display_name_naming_the_field() {
    let server = Server::start().await;
    let client = server.client();
    let body = json!({"username": "alice", "password": "password123", "display_name": "x".repeat(51)});
    expect_invalid(register(&client, body).await, "display_name");
}

#[tokio::test]
async fn register_refuses_a_missing_field_naming_it() {
    let server = Server::start().await;
    expect_invalid(register(&server.client(), json!({"username": "alice"})).await, "password");
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let server = Server::start().await;
    let client = server.client();
    for path in ["/api/auth/register", "/api/auth/login"] {
        for body in
            [&b"{\"username\": \"alice\","[..], b"{\"username\": \"alice\", \"password\": \"password123\"} }"]
        {
            client.post_raw(path, "application/json", body.to_vec()).await.expect_error(400, "bad_request");
        }
    }
    let (alice, _) = client.register("alice").await;
    let request = alice
        .request(reqwest::Method::PATCH, "/api/me")
        .header("content-type", "application/json")
        .body("{bio:");
    alice.send(request).await.expect_error(400, "bad_request");
}

#[tokio::test]
async fn login_answers_200_with_the_user_and_a_new_session() {
    let server = Server::start().await;
    let client = server.client();
    let (first, user) = client.register("alice").await;
    let body = login(&client, "alice", "password123").await.expect(200);
    assert_user_shape(&body["user"]);
    assert_eq!(body["user"]["id"], user["id"]);
    let token = body["token"].as_str().unwrap();
    assert_ne!(Some(token), first.token.as_deref(), "a login opens a new session");
    assert_eq!(client.with_token(token).get("/api/me").await.expect(200)["id"], user["id"]);
}

#[tokio::test]
async fn login_takes_the_username_in_any_case() {
    let server = Server::start().await;
    let client = server.client();
    let (_, user) = client.register("alice").await;
    assert_eq!(login(&client, "ALICE", "password123").await.expect(200)["user"]["id"], user["id"]);
}

#[tokio::test]
async fn login_refuses_a_wrong_password_and_an_unknown_user_alike() {
    let server = Server::start().await;
    let client = server.client();
    client.register("alice").await;
    let wrong_password =
        login(&client, "alice", "password124").await.expect_error(401, "invalid_credentials");
    let unknown_user = login(&client, "nobody", "password123").await.expect_error(401, "invalid_credentials");
    // Same answer either way: the API does not tell which usernames exist.
    assert_eq!(wrong_password, unknown_user);
    login(&client, "no", "password123").await.expect_error(401, "invalid_credentials");
}

#[tokio::test]
async fn logout_revokes_that_session_only() {
    let server = Server::start().await;
    let client = server.client();
    let (first, _) = client.register("alice").await;
    let second = client
        .with_token(login(&client, "alice", "password123").await.expect(200)["token"].as_str().unwrap());
    first.get("/api/me").await.expect(200);

    let answer = first.post("/api/auth/logout", json!({})).await;
    assert_eq!(answer.status, 204);
    first.get("/api/me").await.expect_error(401, "unauthorized");
    first.post("/api/auth/logout", json!({})).await.expect_error(401, "unauthorized");
    second.get("/api/me").await.expect(200);
}

/// Requests that check the token while it is being revoked must not bring the session back
/// (say, by re-caching it after the logout cleared it).
#[tokio::test]
async fn logout_racing_requests_of_the_same_session_still_revokes_it() {
    let server = Server::start().await;
    let client = server.client();
    client.register("alice").await;
    for _ in 0..20 {
        let token =
            login(&client, "alice", "password123").await.expect(200)["token"].as_str().unwrap().to_string();
        let session = client.with_token(&token);
        let readers: Vec<_> = (0..8)
            .map(|_| {
                let session = session.clone();
                tokio::spawn(async move { session.get("/api/me").await.status })
            })
            .collect();
        assert_eq!(session.post("/api/auth/logout", json!({})).await.status, 204);
        for reader in readers {
            let status = reader.await.unwrap();
            assert!(status == 200 || status == 401, "{status}");
        }
        for _ in 0..3 {
            session.get("/api/me").await.expect_error(401, "unauthorized");
        }
    }
}

#[tokio::test]
async fn logout_without_a_token_is_a_401() {
    let server = Server::start().await;
    server.client().post("/api/auth/logout", json!({})).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn me_refuses_a_missing_or_bad_token() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    client.get("/api/me").await.expect_error(401, "unauthorized");
    client.with_token("not-a-token").get("/api/me").await.expect_error(401, "unauthorized");

    // A genuine token with one character of its signature changed.
    let token = alice.token.clone().unwrap();
    let (head, last) = token.split_at(token.len() - 2);
    let flipped = if last.starts_with('A') { "B" } else { "A" };
    let forged = format!("{head}{flipped}{}", &last[1..]);
    client.with_token(&forged).get("/api/me").await.expect_error(401, "unauthorized");

    // A token of another deployment (another signing key).
    let other = Server::start().await;
    let (stranger, _) = other.client().register("alice").await;
    client
        .with_token(stranger.token.as_deref().unwrap())
        .get("/api/me")
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn me_answers_the_signed_in_user() {
    let server = Server::start().await;
    let (alice, user) = server.client().register("alice").await;
    let me = alice.get("/api/me").await.expect(200);
    assert_user_shape(&me);
    assert_eq!(me["id"], user["id"]);
    assert_eq!(me["username"], "alice");
}

#[tokio::test]
async fn patch_me_changes_only_the_fields_given() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, user) = client.register("alice").await;

    let edited = alice
        .patch("/api/me", json!({"display_name": "Alice Liddell", "bio": "down the hole"}))
        .await
        .expect(200);
    assert_user_shape(&edited);
    assert_eq!(
        (edited["display_name"].as_str(), edited["bio"].as_str()),
        (Some("Alice Liddell"), Some("down the hole"))
    );

    let edited = alice.patch("/api/me", json!({"bio": "through the glass"})).await.expect(200);
    assert_eq!(edited["display_name"], "Alice Liddell", "display_name was not in the edit");
    assert_eq!(edited["bio"], "through the glass");

    let edited = alice.patch("/api/me", json!({"display_name": "A. L."})).await.expect(200);
    assert_eq!(edited["bio"], "through the glass", "bio was not in the edit");

    // An empty edit changes nothing.
    let unchanged = alice.patch("/api/me", json!({})).await.expect(200);
    assert_eq!(unchanged, edited);

    // Every read agrees, and what is not editable stayed put.
    let me = alice.get("/api/me").await.expect(200);
    let profile = client.get("/api/users/alice").await.expect(200);
    for view in [&me, &profile] {
        assert_eq!(view["display_name"], "A. L.");
        assert_eq!(view["bio"], "through the glass");
        for field in ["id", "username", "created_at"] {
            assert_eq!(view[field], user[field]);
        }
    }
}

#[tokio::test]
async fn patch_me_refuses_invalid_fields_naming_them() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    expect_invalid(alice.patch("/api/me", json!({"display_name": "x".repeat(51)})).await, "display_name");
    expect_invalid(alice.patch("/api/me", json!({"bio": "x".repeat(301)})).await, "bio");
    expect_invalid(alice.patch("/api/me", json!({"bio": 42})).await, "bio");
    // A refused edit changes nothing, not even its valid fields.
    expect_invalid(
        alice.patch("/api/me", json!({"display_name": "Fine", "bio": "x".repeat(301)})).await,
        "bio",
    );
    let me = alice.get("/api/me").await.expect(200);
    assert_eq!((me["display_name"].as_str(), me["bio"].as_str()), (Some("alice"), Some("")));
    // The bounds themselves are fine.
    alice.patch("/api/me", json!({"display_name": "x".repeat(50), "bio": "y".repeat(300)})).await.expect(200);
}

#[tokio::test]
async fn patch_me_needs_a_token() {
    let server = Server::start().await;
    server.client().patch("/api/me", json!({"bio": "hi"})).await.expect_error(401, "unauthorized");
}
