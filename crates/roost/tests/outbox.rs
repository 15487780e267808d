//! Committed writes always get their background work (docs/reliability.md): a post or a
//! delete committed while the job queue refuses is acknowledged, and its job runs once the
//! queue works again (the outbox relay queues it), even across a kill -9; a write whose
//! transaction failed queues nothing. The queue is made to refuse with the debug builds'
//! `ROOST_TEST_FAILING_ENQUEUE` switch file. Runs in both modes.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{eventually, ids_of, png, Client, Server, Setup};
use serde_json::json;

/// A deployment whose relay sweeps every second, and the file that, while it exists, makes
/// queuing a committed write's job fail.
fn refusing_queue() -> (Setup, PathBuf) {
    Setup::new().env("ROOST_OUTBOX_GRACE_SECS", "1").switch("ROOST_TEST_FAILING_ENQUEUE")
}

async fn feed_ids(reader: &Client) -> Vec<String> {
    ids_of(&reader.walk("/api/feed", 50).await)
}

/// The exposition text of `server`'s metrics.
async fn metrics(server: &Server) -> String {
    reqwest::get(format!("{}/metrics", server.base)).await.unwrap().text().await.unwrap()
}

/// The value of the sample of `name` whose labels contain `labels`, 0 if none.
fn sample(text: &str, name: &str, labels: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(labels))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

/// Alice and Bob, Bob following Alice.
async fn alice_and_her_follower(server: &Server) -> (Client, Client) {
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    bob.follow(alice_user["id"].as_str().unwrap()).await;
    (alice, bob)
}

#[tokio::test]
async fn a_post_committed_while_the_queue_refuses_is_fanned_out_once_it_works() {
    let (setup, switch) = refusing_queue();
    let server = setup.start().await;
    let (alice, bob) = alice_and_her_follower(&server).await;

    std::fs::write(&switch, b"refuse").unwrap();
    let post = alice.create_post("committed, not queued").await;
    let pid = post["id"].as_str().unwrap().to_string();
    assert_eq!(alice.get("/api/me").await.expect(200)["posts_count"], 1, "one post, committed");
    // Several relay sweeps pass: none can queue the fan-out while the queue refuses.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!feed_ids(&bob).await.contains(&pid), "fanned out although the queue refused");
    let text = metrics(&server).await;
    assert!(sample(&text, "roost_outbox_backlog", "") >= 1.0, "the backlog shows: {text}");

    std::fs::remove_file(&switch).unwrap();
    eventually("the relay queues the fan-out", Duration::from_secs(30), || async {
        feed_ids(&bob).await.contains(&pid).then_some(())
    })
    .await;
    assert_eq!(feed_ids(&bob).await.iter().filter(|id| **id == pid).count(), 1);
    eventually("the outbox item is gone", Duration::from_secs(30), || async {
        (sample(&metrics(&server).await, "roost_outbox_backlog", "") == 0.0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_post_whose_enqueue_was_lost_to_a_kill9_is_fanned_out_after_the_restart() {
    let (setup, switch) = refusing_queue();
    let mut server = setup.start().await;
    let (alice, bob) = alice_and_her_follower(&server).await;

    std::fs::write(&switch, b"refuse").unwrap();
    let pid = alice.create_post("the process dies before queuing").await["id"].as_str().unwrap().to_string();
    server.kill9();
    std::fs::remove_file(&switch).unwrap();
    server.restart().await;

    eventually("the fan-out runs after the restart", Duration::from_secs(30), || async {
        feed_ids(&bob).await.contains(&pid).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_delete_committed_while_the_queue_refuses_is_retracted_once_it_works() {
    let (setup, switch) = refusing_queue();
    let server = setup.start().await;
    let (alice, bob) = alice_and_her_follower(&server).await;
    let pid = alice.create_post("soon gone").await["id"].as_str().unwrap().to_string();
    eventually("the post reaches the follower", Duration::from_secs(30), || async {
        feed_ids(&bob).await.contains(&pid).then_some(())
    })
    .await;

    std::fs::write(&switch, b"refuse").unwrap();
    assert_eq!(alice.delete(&format!("/api/posts/{pid}")).await.status, 204);
    alice.get(&format!("/api/posts/{pid}")).await.expect_error(404, "not_found");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let retracted = r#"kind="retract",outcome="done""#;
    assert_eq!(sample(&metrics(&server).await, "roost_job_runs_total", retracted), 0.0);

    std::fs::remove_file(&switch).unwrap();
    eventually("the relay queues the retract", Duration::from_secs(30), || async {
        (sample(&metrics(&server).await, "roost_job_runs_total", retracted) >= 1.0).then_some(())
    })
    .await;
    assert!(!feed_ids(&bob).await.contains(&pid));
}

#[tokio::test]
async fn a_failed_transaction_queues_nothing() {
    let (setup, _switch) = refusing_queue();
    let server = setup.start().await;
    let (alice, bob) = alice_and_her_follower(&server).await;
    let form = || reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(png(4, 4)));
    let image = alice.post_form("/api/media", form()).await.expect(201);
    let media = json!({"text": "with the image", "media_ids": [image["id"]]});
    let first = alice.post("/api/posts", media.clone()).await.expect(201);
    // The image is attached already: the second post's transaction is cancelled.
    alice.post("/api/posts", json!({"text": "same image", "media_ids": [image["id"]]})).await.expect(422);
    eventually("the first post reaches the follower", Duration::from_secs(30), || async {
        feed_ids(&bob).await.contains(&first["id"].as_str().unwrap().to_string()).then_some(())
    })
    .await;
    // Past the grace and a few sweeps: the relay found nothing of the failed post to queue.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let text = metrics(&server).await;
    assert_eq!(sample(&text, "roost_job_runs_total", r#"kind="fan_out",outcome="done""#), 1.0, "{text}");
    assert_eq!(sample(&text, "roost_outbox_backlog", ""), 0.0);
    assert_eq!(feed_ids(&bob).await, [first["id"].as_str().unwrap()]);
    assert_eq!(alice.get("/api/me").await.expect(200)["posts_count"], 1);
}
