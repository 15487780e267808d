//! Users and the social graph (docs/api.md, "users"), over HTTP against a real
//! `roost serve`: profiles, user search, follow/unfollow and the follower/following lists
//! with their cursor pagination, including a walk that stays exact while follows are being
//! written, and a storm of concurrent follows and unfollows of one pair that must leave the
//! counters equal to the real edges.

mod common;

use std::collections::HashSet;

use common::{Answer, Client, Server};
use serde_json::{json, Value};

/// Asserts a 422 whose message names `field`.
fn expect_invalid(answer: Answer, field: &str) {
    let body = answer.expect_error(422, "validation_failed");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(field), "the message should name {field}: {message}");
}

fn id(user: &Value) -> &str {
    user["id"].as_str().unwrap()
}

fn usernames(users: &[Value]) -> Vec<String> {
    users.iter().map(|u| u["username"].as_str().unwrap().to_string()).collect()
}

/// Registers `count` users named `{prefix}{i}`, in order.
async fn register_many(client: &Client, prefix: &str, count: usize) -> Vec<(Client, Value)> {
    let mut users = Vec::with_capacity(count);
    for i in 0..count {
        users.push(client.register(&format!("{prefix}{i}")).await);
    }
    users
}

async fn follow(who: &Client, target: &Value) -> Value {
    who.post(&format!("/api/users/{}/follow", id(target)), json!({})).await.expect(200)
}

async fn unfollow(who: &Client, target: &Value) -> Value {
    who.delete(&format!("/api/users/{}/follow", id(target))).await.expect(200)
}

/// `(followers_count, following_count)` of a profile.
async fn counts(client: &Client, user: &Value) -> (i64, i64) {
    let profile = client.get(&format!("/api/users/{}", id(user))).await.expect(200);
    (profile["followers_count"].as_i64().unwrap(), profile["following_count"].as_i64().unwrap())
}

async fn search(client: &Client, q: &str) -> Vec<String> {
    usernames(client.get(&format!("/api/users/search?q={q}")).await.expect(200)["items"].as_array().unwrap())
}

// ---- profiles ----

#[tokio::test]
async fn profile_has_every_user_field_and_followed_by_me_only_when_signed_in() {
    let server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;

    let profile = client.get("/api/users/alice").await.expect(200);
    let expected = [
        "id",
        "username",
        "display_name",
        "bio",
        "avatar_url",
        "followers_count",
        "following_count",
        "posts_count",
        "created_at",
    ];
    for field in expected {
        assert!(profile.get(field).is_some(), "{field} missing: {profile}");
    }
    assert_eq!(profile["id"], alice["id"]);
    assert!(profile.get("followed_by_me").is_none(), "anonymous callers get no followed_by_me: {profile}");

    assert_eq!(bob.get("/api/users/alice").await.expect(200)["followed_by_me"], false);
    follow(&bob, &alice).await;
    assert_eq!(bob.get("/api/users/alice").await.expect(200)["followed_by_me"], true);
    unfollow(&bob, &alice).await;
    assert_eq!(bob.get("/api/users/alice").await.expect(200)["followed_by_me"], false);
}

#[tokio::test]
async fn profile_is_found_by_id_as_well_as_by_username() {
    let server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    let by_id = client.get(&format!("/api/users/{}", id(&alice))).await.expect(200);
    assert_eq!(by_id["username"], "alice");
}

#[tokio::test]
async fn unknown_users_are_404_everywhere() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let unknown_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    for path in ["/api/users/nobody", &format!("/api/users/{unknown_id}")] {
        client.get(path).await.expect_error(404, "not_found");
    }
    for target in ["nobody", unknown_id] {
        let path = format!("/api/users/{target}");
        alice.post(&format!("{path}/follow"), json!({})).await.expect_error(404, "not_found");
        alice.delete(&format!("{path}/follow")).await.expect_error(404, "not_found");
        client.get(&format!("{path}/followers")).await.expect_error(404, "not_found");
        client.get(&format!("{path}/following")).await.expect_error(404, "not_found");
    }
}

// ---- search ----

#[tokio::test]
async fn search_matches_username_prefixes_in_any_case() {
    let server = Server::start().await;
    let client = server.client();
    for name in ["martha", "marty", "mary_jane", "tom"] {
        client.register(name).await;
    }
    let mut found = search(&client, "MART").await;
    found.sort();
    assert_eq!(found, ["martha", "marty"]);
    assert_eq!(search(&client, "mary").await, ["mary_jane"]);
    assert!(search(&client, "artha").await.is_empty(), "only prefixes match");
}

#[tokio::test]
async fn search_matches_display_name_prefixes_in_any_case() {
    let server = Server::start().await;
    let client = server.client();
    let body = json!({"username": "u_1234", "password": "password123", "display_name": "Zebedee Crossing"});
    client.post("/api/auth/register", body).await.expect(201);
    assert_eq!(search(&client, "zeb").await, ["u_1234"]);
    assert_eq!(search(&client, "ZEBEDEE%20C").await, ["u_1234"]);
}

#[tokio::test]
async fn search_answers_full_users_with_followed_by_me_for_signed_in_callers() {
    let server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    follow(&bob, &alice).await;

    let anonymous = client.get("/api/users/search?q=ali").await.expect(200);
    let item = &anonymous["items"][0];
    assert_eq!(item["id"], alice["id"]);
    assert_eq!(item["followers_count"], 1);
    assert!(item.get("followed_by_me").is_none(), "{item}");

    let signed_in = bob.get("/api/users/search?q=alic").await.expect(200);
    assert_eq!(signed_in["items"][0]["followed_by_me"], true);
}

#[tokio::test]
async fn search_respects_the_limit() {
    let server = Server::start().await;
    let client = server.client();
    register_many(&client, "pre_", 6).await;
    let page = client.get("/api/users/search?q=pre&limit=4").await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    let page = client.get("/api/users/search?q=pre_&limit=1").await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let page = client.get("/api/users/search?q=pre_").await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn search_refuses_a_limit_out_of_range_and_an_empty_query() {
    let server = Server::start().await;
    let client = server.client();
    expect_invalid(client.get("/api/users/search?q=a&limit=0").await, "limit");
    expect_invalid(client.get("/api/users/search?q=a&limit=101").await, "limit");
    expect_invalid(client.get("/api/users/search?q=").await, "q");
    client.get("/api/users/search?q=a&limit=100").await.expect(200);
}

#[tokio::test]
async fn search_finds_a_user_by_a_new_display_name() {
    let server = Server::start().await;
    let client = server.client();
    let body = json!({"username": "reader", "password": "password123", "display_name": "Marmalade"});
    let token =
        client.post("/api/auth/register", body).await.expect(201)["token"].as_str().unwrap().to_string();
    client.with_token(&token).patch("/api/me", json!({"display_name": "Quixotic Quokka"})).await.expect(200);
    // Prefixes not asked before, so no cached answer from before the change can stand in.
    assert_eq!(search(&client, "quix").await, ["reader"]);
    assert!(search(&client, "marm").await.is_empty(), "the old display name is no longer indexed");
}

// ---- follow and unfollow ----

#[tokio::test]
async fn follow_answers_following_and_the_followees_new_count() {
    let server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let (carol, _) = client.register("carol").await;
    assert_eq!(follow(&bob, &alice).await, json!({"following": true, "followers_count": 1}));
    assert_eq!(follow(&carol, &alice).await, json!({"following": true, "followers_count": 2}));
}

#[tokio::test]
async fn follow_twice_is_the_same_as_once() {
    let server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    let first = follow(&bob, &alice).await;
    let second = follow(&bob, &alice).await;
    assert_eq!(first, second);
    assert_eq!(counts(&client, &alice).await, (1, 0));
    assert_eq!(counts(&client, &bob_user).await, (0, 1));
}

#[tokio::test]
async fn follow_by_username_works_like_by_id() {
    let server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    bob.post("/api/users/alice/follow", json!({})).await.expect(200);
    assert_eq!(counts(&client, &alice).await, (1, 0));
}

#[tokio::test]
async fn follow_counts_show_on_both_profiles() {
    let server = Server::start().await;
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    let (_, carol_user) = client.register("carol").await;
    follow(&bob, &alice_user).await;
    follow(&bob, &carol_user).await;
    follow(&alice, &bob_user).await;
    assert_eq!(counts(&client, &alice_user).await, (1, 1));
    assert_eq!(counts(&client, &bob_user).await, (1, 2));
    assert_eq!(counts(&client, &carol_user).await, (1, 0));
    let me = bob.get("/api/me").await.expect(200);
    assert_eq!((me["followers_count"].as_i64(), me["following_count"].as_i64()), (Some(1), Some(2)));
}

#[tokio::test]
async fn unfollow_answers_not_following_and_is_idempotent() {
    let server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    let (carol, _) = client.register("carol").await;
    follow(&bob, &alice).await;
    follow(&carol, &alice).await;
    assert_eq!(unfollow(&bob, &alice).await, json!({"following": false, "followers_count": 1}));
    assert_eq!(unfollow(&bob, &alice).await, json!({"following": false, "followers_count": 1}));
    assert_eq!(counts(&client, &alice).await, (1, 0));
    assert_eq!(counts(&client, &bob_user).await, (0, 0));
    // Unfollowing someone never followed is a no-op too.
    let (dave, _) = client.register("dave").await;
    assert_eq!(unfollow(&dave, &alice).await, json!({"following": false, "followers_count": 1}));
}

#[tokio::test]
async fn following_oneself_is_refused_with_422() {
    let server = Server::start().await;
    let (alice, user) = server.client().register("alice").await;
    let answer = alice.post(&format!("/api/users/{}/follow", id(&user)), json!({})).await;
    let body = answer.expect_error(422, "validation_failed");
    assert!(body["error"]["message"].as_str().unwrap().contains("id"), "{body}");
    alice.post("/api/users/alice/follow", json!({})).await.expect_error(422, "validation_failed");
    assert_eq!(counts(&alice, &user).await, (0, 0));
}

#[tokio::test]
async fn follow_and_unfollow_need_a_token() {
    let server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    let path = format!("/api/users/{}/follow", id(&alice));
    client.post(&path, json!({})).await.expect_error(401, "unauthorized");
    client.delete(&path).await.expect_error(401, "unauthorized");
    client.with_token("garbage").post(&path, json!({})).await.expect_error(401, "unauthorized");
}

// ---- followers and following lists ----

#[tokio::test]
async fn followers_walk_in_pages_of_three_yields_each_once_newest_first() {
    let server = Server::start().await;
    let client = server.client();
    let (_, star) = client.register("star").await;
    let fans = register_many(&client, "fan_", 10).await;
    for (fan, _) in &fans {
        follow(fan, &star).await;
    }
    let walked = client.walk(&format!("/api/users/{}/followers", id(&star)), 3).await;
    let newest_first: Vec<String> = (0..10).rev().map(|i| format!("fan_{i}")).collect();
    assert_eq!(usernames(&walked), newest_first);
}

#[tokio::test]
async fn following_walk_in_pages_of_three_yields_each_once_newest_first() {
    let server = Server::start().await;
    let client = server.client();
    let (fan, fan_user) = client.register("fan").await;
    let stars = register_many(&client, "star_", 10).await;
    for (_, star) in &stars {
        follow(&fan, star).await;
    }
    let walked = client.walk(&format!("/api/users/{}/following", id(&fan_user)), 3).await;
    let newest_first: Vec<String> = (0..10).rev().map(|i| format!("star_{i}")).collect();
    assert_eq!(usernames(&walked), newest_first);
}

#[tokio::test]
async fn next_cursor_is_null_on_the_last_page() {
    let server = Server::start().await;
    let client = server.client();
    let (_, star) = client.register("star").await;
    for (fan, _) in register_many(&client, "fan_", 10).await {
        follow(&fan, &star).await;
    }
    let path = format!("/api/users/{}/followers", id(&star));
    // Pages of 4: 4, 4, 2, and only the last has no cursor.
    let first = client.get(&format!("{path}?limit=4")).await.expect(200);
    let cursor = first["next_cursor"].as_str().expect("a cursor after the first page");
    let second = client.get(&format!("{path}?limit=4&cursor={cursor}")).await.expect(200);
    let cursor = second["next_cursor"].as_str().expect("a cursor after the second page");
    let third = client.get(&format!("{path}?limit=4&cursor={cursor}")).await.expect(200);
    assert_eq!(third["items"].as_array().unwrap().len(), 2);
    assert_eq!(third["next_cursor"], Value::Null);
    // A page that ends exactly at the last item has no cursor either (no empty extra page).
    for limit in [5, 10, 100] {
        let mut pages = 0;
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}?limit={limit}&cursor={c}"),
                None => format!("{path}?limit={limit}"),
            };
            let page = client.get(&url).await.expect(200);
            assert!(!page["items"].as_array().unwrap().is_empty(), "an empty page at limit={limit}");
            pages += 1;
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(pages, 10usize.div_ceil(limit), "pages at limit={limit}");
    }
    // Default limit is 20.
    let all = client.get(&path).await.expect(200);
    assert_eq!((all["items"].as_array().unwrap().len(), &all["next_cursor"]), (10, &Value::Null));
}

#[tokio::test]
async fn lists_of_nobody_are_empty() {
    let server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    for list in ["followers", "following"] {
        let page = client.get(&format!("/api/users/{}/{list}", id(&alice))).await.expect(200);
        assert_eq!(page, json!({"items": [], "next_cursor": null}));
    }
}

#[tokio::test]
async fn walk_stays_exact_while_new_follows_are_written() {
    let server = Server::start().await;
    let client = server.client();
    let (_, star) = client.register("star").await;
    for (fan, _) in register_many(&client, "early_", 10).await {
        follow(&fan, &star).await;
    }
    let late = register_many(&client, "late_", 24).await;
    let path = format!("/api/users/{}/followers", id(&star));

    // Late fans keep following in the background for the whole walk...
    let background = {
        let (star, late) = (star.clone(), late[12..].to_vec());
        tokio::spawn(async move {
            for (fan, _) in late {
                follow(&fan, &star).await;
            }
        })
    };
    // ...and two follow between any two pages, so every page boundary sees new writes.
    let mut between = late[..12].iter();
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?limit=3&cursor={c}"),
            None => format!("{path}?limit=3"),
        };
        let page = client.get(&url).await.expect(200);
        walked.extend(usernames(page["items"].as_array().unwrap()));
        for (fan, _) in between.by_ref().take(2) {
            follow(fan, &star).await;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    background.await.unwrap();
    for (fan, _) in between {
        follow(fan, &star).await;
    }

    let unique: HashSet<&String> = walked.iter().collect();
    assert_eq!(unique.len(), walked.len(), "duplicates in the walk: {walked:?}");
    let early: Vec<&String> = walked.iter().filter(|n| n.starts_with("early_")).collect();
    let newest_first: Vec<String> = (0..10).rev().map(|i| format!("early_{i}")).collect();
    assert_eq!(early, newest_first.iter().collect::<Vec<_>>(), "a follower from before the walk was skipped");
    // Everyone did end up in the list.
    assert_eq!(client.walk(&path, 100).await.len(), 34);
}

#[tokio::test]
async fn lists_carry_full_users_with_followed_by_me_for_signed_in_callers() {
    let server = Server::start().await;
    let client = server.client();
    let (_, star) = client.register("star").await;
    let (fan, fan_user) = client.register("fan").await;
    let (other, other_user) = client.register("other").await;
    follow(&fan, &star).await;
    follow(&other, &star).await;
    follow(&fan, &other_user).await;

    let path = format!("/api/users/{}/followers", id(&star));
    let anonymous = client.get(&path).await.expect(200);
    for user in anonymous["items"].as_array().unwrap() {
        assert!(user["followers_count"].is_i64() && user["created_at"].is_string(), "{user}");
        assert!(user.get("followed_by_me").is_none(), "{user}");
    }
    // As fan: fan follows other, not itself.
    let seen = fan.get(&path).await.expect(200);
    let followed: Vec<(String, bool)> = seen["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["username"].as_str().unwrap().to_string(), u["followed_by_me"].as_bool().unwrap()))
        .collect();
    assert_eq!(followed, [("other".to_string(), true), ("fan".to_string(), false)]);
    assert_eq!(id(&fan_user), id(&seen["items"][1]));
}

#[tokio::test]
async fn unfollow_removes_from_both_lists_and_a_refollow_is_newest() {
    let server = Server::start().await;
    let client = server.client();
    let (_, star) = client.register("star").await;
    let fans = register_many(&client, "fan_", 3).await;
    for (fan, _) in &fans {
        follow(fan, &star).await;
    }
    let followers = format!("/api/users/{}/followers", id(&star));
    unfollow(&fans[0].0, &star).await;
    assert_eq!(usernames(&client.walk(&followers, 2).await), ["fan_2", "fan_1"]);
    assert!(client.walk(&format!("/api/users/{}/following", id(&fans[0].1)), 2).await.is_empty());
    follow(&fans[0].0, &star).await;
    assert_eq!(usernames(&client.walk(&followers, 2).await), ["fan_0", "fan_2", "fan_1"]);
}

#[tokio::test]
async fn lists_refuse_a_garbage_cursor_with_400() {
    let server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    for list in ["followers", "following"] {
        for cursor in ["garbage", "!!!", "eyJub3QiOiJhIGtleSJ9"] {
            let path = format!("/api/users/{}/{list}?cursor={cursor}", id(&alice));
            client.get(&path).await.expect_error(400, "bad_request");
        }
    }
}

#[tokio::test]
async fn lists_refuse_a_limit_out_of_range_with_422() {
    let server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    for list in ["followers", "following"] {
        for limit in [0, 101] {
            expect_invalid(
                client.get(&format!("/api/users/{}/{list}?limit={limit}", id(&alice))).await,
                "limit",
            );
        }
        client.get(&format!("/api/users/{}/{list}?limit=100", id(&alice))).await.expect(200);
    }
}

// ---- concurrency ----

/// 50 concurrent clients per round follow and unfollow one pair, in both directions, and
/// read the profiles, for several rounds; the counters (as stored, and as the profile cache
/// serves them) must always match the real edges.
#[tokio::test]
async fn concurrent_follows_and_unfollows_of_one_pair_keep_counts_equal_to_edges() {
    let server = Server::start().await;
    let client = server.client();
    let (_, alice) = client.register("alice").await;
    let (_, bob) = client.register("bob").await;
    // 25 sessions each, as 25 devices would have.
    let mut sessions = Vec::new();
    for i in 0..50 {
        let name = if i % 2 == 0 { "alice" } else { "bob" };
        let login =
            client.post("/api/auth/login", json!({"username": name, "password": "password123"})).await;
        sessions.push(client.with_token(login.expect(200)["token"].as_str().unwrap()));
    }

    for round in 0..6 {
        let mut tasks = Vec::new();
        for (i, session) in sessions.iter().enumerate() {
            let session = session.clone();
            let target = if i % 2 == 0 { bob.clone() } else { alice.clone() };
            let follows = (i / 2 + round) % 2 == 0;
            tasks.push(tokio::spawn(async move {
                let path = format!("/api/users/{}/follow", id(&target));
                let answer =
                    if follows { session.post(&path, json!({})).await } else { session.delete(&path).await };
                let body = answer.expect(200);
                assert_eq!(body["following"], follows, "{body}");
                let count = body["followers_count"].as_i64().unwrap();
                assert!(count == 0 || count == 1, "a followers_count of {count} for one possible follower");
                // Reads in the middle of the storm fill the profile cache while writes go on.
                session.get(&format!("/api/users/{}", id(&target))).await.expect(200);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }

        for (me, other) in [(&alice, &bob), (&bob, &alice)] {
            let followers = client.walk(&format!("/api/users/{}/followers", id(me)), 10).await;
            let following = client.walk(&format!("/api/users/{}/following", id(me)), 10).await;
            assert!(followers.len() <= 1 && following.len() <= 1, "round {round}: duplicate edges");
            assert!(followers.iter().chain(&following).all(|u| u["id"] == other["id"]));
            let (followers_count, following_count) = counts(&client, me).await;
            assert_eq!(
                (followers_count, following_count),
                (followers.len() as i64, following.len() as i64),
                "round {round}: counts of {} differ from its edges",
                me["username"]
            );
        }
        // Each edge is the same fact seen from its two ends.
        let alice_follows_bob =
            !client.walk(&format!("/api/users/{}/following", id(&alice)), 10).await.is_empty();
        let bob_has_alice = !client.walk(&format!("/api/users/{}/followers", id(&bob)), 10).await.is_empty();
        assert_eq!(alice_follows_bob, bob_has_alice, "round {round}: the two edges of a follow disagree");
    }
}
