//! Discovery over HTTP (docs/api.md, "Discovery"): who to follow (friends of friends by mutual
//! count, then popular accounts; never yourself or someone you follow), trending posts
//! (recent engagement outranks, deleted posts leave) and post search (every word, the last
//! as a prefix, newest first, paginated; deleted posts leave).

mod common;

use common::{ids_of, Client};
use serde_json::Value;

fn id(user: &Value) -> &str {
    user["id"].as_str().unwrap()
}

async fn suggested(client: &Client) -> Vec<String> {
    ids_of(client.get("/api/users/suggestions").await.expect(200)["items"].as_array().unwrap())
}

#[tokio::test]
async fn suggestions_rank_friends_of_friends_then_popular_accounts() {
    let server = common::Server::start().await;
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (bob, bob_user) = client.register("bob").await;
    let (carol, carol_user) = client.register("carol").await;
    let (_dave, dave_user) = client.register("dave").await;
    let (erin, erin_user) = client.register("erin").await;
    let (frank, frank_user) = client.register("frank").await;
    alice.follow(id(&bob_user)).await;
    alice.follow(id(&carol_user)).await;
    // Dave is followed by both of Alice's followings, Erin by one; Bob follows Alice back.
    bob.follow(id(&dave_user)).await;
    bob.follow(id(&erin_user)).await;
    bob.follow(id(&alice_user)).await;
    carol.follow(id(&dave_user)).await;
    erin.follow(id(&dave_user)).await;

    let for_alice = suggested(&alice).await;
    assert_eq!(for_alice[..2], [id(&dave_user), id(&erin_user)], "mutual count first: {for_alice:?}");
    for never in [&alice_user, &bob_user, &carol_user] {
        assert!(
            !for_alice.contains(&id(never).to_string()),
            "{} suggested: {for_alice:?}",
            never["username"]
        );
    }
    // Following a suggestion takes it out at once, cached answer or not.
    alice.follow(id(&dave_user)).await;
    assert!(!suggested(&alice).await.contains(&id(&dave_user).to_string()));

    // Frank follows nobody: the most followed accounts, Dave (4 followers) first.
    let for_frank = suggested(&frank).await;
    assert_eq!(for_frank.first().map(String::as_str), Some(id(&dave_user)), "{for_frank:?}");
    assert!(!for_frank.contains(&id(&frank_user).to_string()));
    let one = frank.get("/api/users/suggestions?limit=1").await.expect(200);
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn suggestions_need_a_caller_and_a_sane_limit() {
    let server = common::Server::start().await;
    let client = server.client();
    client.get("/api/users/suggestions").await.expect_error(401, "unauthorized");
    let (alice, _) = client.register("alice").await;
    for limit in ["0", "51"] {
        let body = alice.get(&format!("/api/users/suggestions?limit={limit}")).await.expect(422);
        assert!(body["error"]["message"].as_str().unwrap().contains("limit"), "{body}");
    }
    // Nobody to suggest but the caller: an empty list, not the caller.
    assert_eq!(suggested(&alice).await, Vec::<String>::new());
}

async fn trending(client: &Client, window: &str) -> Vec<String> {
    ids_of(
        client.get(&format!("/api/trending?window={window}")).await.expect(200)["items"].as_array().unwrap(),
    )
}

#[tokio::test]
async fn trending_ranks_engagement_and_drops_deleted_posts() {
    let server = common::Server::start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let (carol, _) = client.register("carol").await;
    let loud = alice.create_post("the loud one").await;
    let quiet = alice.create_post("the quiet one").await;
    for fan in [&bob, &carol] {
        fan.post(&format!("/api/posts/{}/like", id(&loud)), serde_json::json!({})).await.expect(200);
    }
    // Liking again is not new engagement: the order stays.
    bob.post(&format!("/api/posts/{}/like", id(&loud)), serde_json::json!({})).await.expect(200);
    let expected = [id(&loud).to_string(), id(&quiet).to_string()];
    for window in ["1h", "24h"] {
        assert_eq!(trending(&client.anonymous(), window).await, expected, "window {window}");
    }
    let default = client.anonymous().get("/api/trending").await.expect(200);
    assert_eq!(ids_of(default["items"].as_array().unwrap()), expected);
    assert_eq!(default["items"][0]["like_count"], 2);

    alice.delete(&format!("/api/posts/{}", id(&loud))).await.expect(204);
    for window in ["1h", "24h"] {
        assert_eq!(trending(&client, window).await, [id(&quiet).to_string()], "window {window}");
    }
}

#[tokio::test]
async fn trending_names_a_bad_window_or_limit() {
    let server = common::Server::start().await;
    let client = server.client();
    for query in ["window=7d", "window=", "limit=0", "limit=51"] {
        let body = client.get(&format!("/api/trending?{query}")).await.expect_error(422, "validation_failed");
        let field = query.split('=').next().unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains(field), "{query}: {body}");
    }
    assert_eq!(trending(&client, "1h").await, Vec::<String>::new());
}

async fn search(client: &Client, q: &str) -> Vec<String> {
    common::texts_of(
        client.get(&format!("/api/search/posts?q={q}")).await.expect(200)["items"].as_array().unwrap(),
    )
}

#[tokio::test]
async fn search_matches_every_word_the_last_as_a_prefix() {
    let server = common::Server::start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    for text in ["Rust is great for servers", "Python servers, too", "rusty nails", "hello world"] {
        alice.create_post(text).await;
    }
    let anonymous = client.anonymous();
    assert_eq!(search(&anonymous, "rust").await, ["rusty nails", "Rust is great for servers"]);
    assert_eq!(search(&anonymous, "SERVERS").await, ["Python servers, too", "Rust is great for servers"]);
    assert_eq!(search(&anonymous, "servers%20ru").await, ["Rust is great for servers"]);
    assert_eq!(search(&anonymous, "great%20py").await, Vec::<String>::new());
    assert_eq!(search(&anonymous, "zebra").await, Vec::<String>::new());

    let gone = alice.create_post("rust will be deleted").await;
    assert_eq!(search(&anonymous, "deleted").await, ["rust will be deleted"]);
    alice.delete(&format!("/api/posts/{}", id(&gone))).await.expect(204);
    assert_eq!(search(&anonymous, "deleted").await, Vec::<String>::new());
    assert_eq!(search(&anonymous, "rust").await, ["rusty nails", "Rust is great for servers"]);
}

#[tokio::test]
async fn search_pages_newest_first_and_names_bad_input() {
    let server = common::Server::start().await;
    let client = server.client();
    let (alice, _) = client.register("alice").await;
    let mut texts = Vec::new();
    for i in 0..5 {
        texts.push(
            alice.create_post(&format!("paged post number {i}")).await["text"].as_str().unwrap().to_string(),
        );
        alice.create_post(&format!("other post {i}")).await;
    }
    texts.reverse();
    for q in ["paged", "pag", "number%20pa"] {
        let walked = common::texts_of(&client.walk(&format!("/api/search/posts?q={q}"), 2).await);
        assert_eq!(walked, texts, "q={q}");
    }
    for path in ["/api/search/posts", "/api/search/posts?q=", "/api/search/posts?q=a%20!"] {
        let body = client.get(path).await.expect_error(422, "validation_failed");
        assert!(body["error"]["message"].as_str().unwrap().contains('q'), "{path}: {body}");
    }
    client.get("/api/search/posts?q=paged&limit=0").await.expect_error(422, "validation_failed");
    client.get("/api/search/posts?q=paged&cursor=garbage!").await.expect(400);
}
