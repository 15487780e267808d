//! Threaded comments over HTTP: create (with replies nested to any depth), the thread read
//! back depth-first and oldest first across pages, `comment_count` kept exact through
//! deletes, who may delete, and the thread going with its post.

mod common;

use std::time::Duration;

use common::{eventually, ids_of, Client, Server};
use serde_json::{json, Value};

fn comments_path(post: &Value) -> String {
    format!("/api/posts/{}/comments", post["id"].as_str().unwrap())
}

async fn comment(client: &Client, post: &Value, text: &str, parent: Option<&Value>) -> Value {
    let body = match parent {
        Some(p) => json!({"text": text, "parent_id": p["id"]}),
        None => json!({ "text": text }),
    };
    client.post(&comments_path(post), body).await.expect(201)
}

async fn comment_count(client: &Client, post: &Value) -> i64 {
    let read = client.get(&format!("/api/posts/{}", post["id"].as_str().unwrap())).await.expect(200);
    read["comment_count"].as_i64().unwrap()
}

#[tokio::test]
async fn a_comment_has_the_contract_shape() {
    let server = Server::start().await;
    let (alice, alice_user) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    let post = alice.create_post("talk to me").await;
    let made = comment(&bob, &post, "  hello  ", None).await;
    assert_eq!(made["post_id"], post["id"]);
    assert_eq!(made["parent_id"], Value::Null);
    assert_eq!(made["text"], "hello");
    assert_eq!(made["depth"], 0);
    assert_eq!(made["deleted"], false);
    assert_eq!(made["author"]["username"], "bob");
    assert!(made["author"]["display_name"].is_string());
    assert!(made["created_at"].is_string());
    let reply = comment(&alice, &post, "hi bob", Some(&made)).await;
    assert_eq!(reply["parent_id"], made["id"]);
    assert_eq!(reply["depth"], 1);
    assert_eq!(reply["author"]["id"], alice_user["id"]);
    // Public read, anonymous.
    let page = server.client().get(&comments_path(&post)).await.expect(200);
    assert_eq!(page["items"], json!([made, reply]));
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(comment_count(&alice, &post).await, 2);
}

#[tokio::test]
async fn the_thread_is_depth_first_and_oldest_first_across_pages() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let post = alice.create_post("thread").await;
    let a = comment(&alice, &post, "a", None).await;
    let b = comment(&alice, &post, "b", None).await;
    let a1 = comment(&alice, &post, "a1", Some(&a)).await;
    let b1 = comment(&alice, &post, "b1", Some(&b)).await;
    let a2 = comment(&alice, &post, "a2", Some(&a)).await;
    let a1x = comment(&alice, &post, "a1x", Some(&a1)).await;
    let expected = ids_of(&[a, a1, a1x, a2, b, b1]);
    for limit in [1, 2, 4, 100] {
        let walked = alice.walk(&comments_path(&post), limit).await;
        assert_eq!(ids_of(&walked), expected, "limit {limit}");
    }
    let depths: Vec<i64> =
        alice.walk(&comments_path(&post), 100).await.iter().map(|c| c["depth"].as_i64().unwrap()).collect();
    assert_eq!(depths, vec![0, 1, 2, 1, 0, 1]);
}

#[tokio::test]
async fn deep_replies_are_capped_for_display_and_keep_their_parent() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let post = alice.create_post("deep").await;
    let mut parent = comment(&alice, &post, "level 0", None).await;
    let mut made = vec![parent.clone()];
    for level in 1..40 {
        parent = comment(&alice, &post, &format!("level {level}"), Some(&parent)).await;
        made.push(parent.clone());
    }
    let thread = alice.walk(&comments_path(&post), 100).await;
    assert_eq!(ids_of(&thread), ids_of(&made), "a chain of replies reads in order");
    for (i, c) in thread.iter().enumerate() {
        assert_eq!(c["depth"], (i as i64).min(8));
        let parent_id = if i == 0 { Value::Null } else { made[i - 1]["id"].clone() };
        assert_eq!(c["parent_id"], parent_id);
    }
    assert_eq!(comment_count(&alice, &post).await, 40);
}

#[tokio::test]
async fn comment_count_stays_exact_through_deletes() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    let post = alice.create_post("count me").await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(comment(&bob, &post, &format!("c{i}"), made.first()).await);
    }
    assert_eq!(comment_count(&alice, &post).await, 5);
    let first = made[0]["id"].as_str().unwrap();
    bob.delete(&format!("/api/comments/{first}")).await.expect(204);
    assert_eq!(comment_count(&alice, &post).await, 4);
    // Deleting again changes nothing.
    bob.delete(&format!("/api/comments/{first}")).await.expect(204);
    assert_eq!(comment_count(&alice, &post).await, 4);
    // The deleted comment keeps its place, erased; its replies stay.
    let thread = alice.walk(&comments_path(&post), 100).await;
    assert_eq!(ids_of(&thread), ids_of(&made));
    assert_eq!(thread[0]["deleted"], true);
    assert_eq!(thread[0]["text"], "");
    assert_eq!(thread[1]["deleted"], false);
    assert_eq!(thread[1]["text"], "c1");
    // And replying to a deleted comment still works.
    comment(&alice, &post, "late reply", Some(&made[0])).await;
    assert_eq!(comment_count(&alice, &post).await, 5);
}

#[tokio::test]
async fn only_the_author_or_a_moderator_deletes() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    let post = alice.create_post("mine").await;
    let made = comment(&bob, &post, "bob's", None).await;
    let path = format!("/api/comments/{}", made["id"].as_str().unwrap());
    // Not even the post's author.
    alice.delete(&path).await.expect_error(403, "forbidden");
    server.client().delete(&path).await.expect_error(401, "unauthorized");
    bob.delete("/api/comments/01ARZ3NDEKTSV4RRFFQ69G5FAV").await.expect_error(404, "not_found");
    bob.delete("/api/comments/nonsense").await.expect_error(404, "not_found");
    bob.delete(&path).await.expect(204);
}

#[tokio::test]
async fn bad_input_is_refused() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let post = alice.create_post("rules").await;
    let other = alice.create_post("elsewhere").await;
    let path = comments_path(&post);
    for text in ["", "   ", &"x".repeat(501)] {
        let body = alice.post(&path, json!({ "text": text })).await.expect_error(422, "validation_failed");
        assert!(body["error"]["message"].as_str().unwrap().contains("text"), "{body}");
    }
    assert_eq!(alice.post(&path, json!({ "text": "é".repeat(500) })).await.expect(201)["depth"], 0);
    server.client().post(&path, json!({"text": "hi"})).await.expect_error(401, "unauthorized");
    alice
        .post("/api/posts/01ARZ3NDEKTSV4RRFFQ69G5FAV/comments", json!({"text": "hi"}))
        .await
        .expect_error(404, "not_found");
    server
        .client()
        .get("/api/posts/01ARZ3NDEKTSV4RRFFQ69G5FAV/comments")
        .await
        .expect_error(404, "not_found");
    // A parent that does not exist, or is on another post.
    alice
        .post(&path, json!({"text": "hi", "parent_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}))
        .await
        .expect_error(404, "not_found");
    let elsewhere = comment(&alice, &other, "there", None).await;
    alice
        .post(&path, json!({"text": "hi", "parent_id": elsewhere["id"]}))
        .await
        .expect_error(404, "not_found");
    alice.get(&format!("{path}?limit=0")).await.expect_error(422, "validation_failed");
    alice.get(&format!("{path}?cursor=garbage")).await.expect_error(400, "bad_request");
    assert_eq!(comment_count(&alice, &post).await, 1);
}

#[tokio::test]
async fn deleting_the_post_removes_its_thread() {
    let server = Server::start().await;
    let (alice, _) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    let post = alice.create_post("short-lived").await;
    let top = comment(&bob, &post, "top", None).await;
    comment(&alice, &post, "reply", Some(&top)).await;
    let path = format!("/api/comments/{}", top["id"].as_str().unwrap());
    alice.delete(&path).await.expect_error(403, "forbidden");
    alice.delete(&format!("/api/posts/{}", post["id"].as_str().unwrap())).await.expect(204);
    alice.get(&comments_path(&post)).await.expect_error(404, "not_found");
    // The comments' lookup items go with the thread (the retract job): once they have,
    // the comment is unknown rather than someone else's.
    eventually("the comment is gone", Duration::from_secs(30), || async {
        (alice.delete(&path).await.status.as_u16() == 404).then_some(())
    })
    .await;
    bob.post(&comments_path(&post), json!({"text": "too late"})).await.expect_error(404, "not_found");
}
