//! The media store failing (docs/reliability.md, "Media store down"), in both modes: the
//! embedded server's media folder replaced by a file; the distributed server's S3 reached
//! through a proxy the test cuts (severing connections, refusing new ones).
//!
//! While it is down, uploads answer a clean 503 with `Retry-After` (not 500, not a hang),
//! text posts and every read still work (a post with an image uploaded before still renders),
//! and `/readyz` names the media; once it is back, uploads work again.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::{eventually, png, Client, Setup};
use serde_json::{json, Value};

/// The way this mode's media store is taken away.
enum Outage {
    /// The embedded media folder; the tests run as root, so permissions would not stop a
    /// write: it is moved aside and a file put in its place.
    Folder(PathBuf),
    /// The distributed server's S3 endpoint.
    Proxy(Proxy),
}

impl Outage {
    fn setup() -> (Setup, Outage) {
        if common::distributed() {
            let aws = std::env::var("ROOST_TEST_AWS_ENDPOINT").expect("run through scripts/test.sh");
            let proxy = Proxy::start(aws.trim_start_matches("http://"));
            (Setup::distributed().with_flag("--s3-endpoint", &proxy.url), Outage::Proxy(proxy))
        } else {
            let setup = Setup::embedded();
            let folder = setup.data_dir().join("media");
            (setup, Outage::Folder(folder))
        }
    }

    fn begin(&self) {
        match self {
            Outage::Folder(folder) => {
                std::fs::rename(folder, folder.with_extension("away")).unwrap();
                std::fs::write(folder, b"not a folder").unwrap();
            }
            Outage::Proxy(proxy) => proxy.cut(),
        }
    }

    fn end(&self) {
        match self {
            Outage::Folder(folder) => {
                std::fs::remove_file(folder).unwrap();
                std::fs::rename(folder.with_extension("away"), folder).unwrap();
            }
            Outage::Proxy(proxy) => proxy.restore(),
        }
    }
}

async fn upload(client: &Client) -> (reqwest::StatusCode, Option<String>, Value, Duration) {
    let started = Instant::now();
    let request = client.request(reqwest::Method::POST, "/api/media").header("content-type", "image/png");
    let response = request.body(png(32, 32)).send().await.unwrap();
    let status = response.status();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let body = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
    (status, retry_after, body, started.elapsed())
}

#[tokio::test]
async fn uploads_answer_503_while_the_media_store_is_down_and_the_rest_works() {
    let (setup, outage) = Outage::setup();
    let server = setup.start().await;
    let (alice, alice_user) = server.client().register("alice").await;
    let (bob, _) = server.client().register("bob").await;
    bob.follow(alice_user["id"].as_str().unwrap()).await;
    let image = alice.post_raw("/api/media", "image/png", png(16, 16)).await.expect(201);
    let pictured = alice
        .post("/api/posts", json!({"text": "with a picture", "media_ids": [image["id"]]}))
        .await
        .expect(201);

    outage.begin();
    let (status, retry_after, body, took) = upload(&alice).await;
    assert_eq!(status.as_u16(), 503, "upload while the media store is down: {body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("try again")), "{body}");
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().is_ok()), "no Retry-After");
    assert!(took < Duration::from_secs(5), "the refused upload took {took:?}");

    let ready = server.client().get("/readyz").await;
    assert_eq!(ready.status.as_u16(), 503, "{}", ready.body);
    assert_eq!(ready.body["engines"]["media"], "unavailable", "{}", ready.body);
    assert_eq!(ready.body["engines"]["store"], "ok", "{}", ready.body);
    assert_eq!(ready.body["engines"]["cache"], "ok", "{}", ready.body);
    assert!(ready.body["error"]["message"].as_str().unwrap().contains("media"), "{}", ready.body);

    // Text posts and reads do not need the media store.
    let text = alice.create_post("words only").await;
    let seen = bob.get(&format!("/api/posts/{}", pictured["id"].as_str().unwrap())).await.expect(200);
    assert_eq!(seen["media"][0]["id"], image["id"], "{seen}");
    eventually("both posts in the follower's feed", Duration::from_secs(15), || async {
        let feed = common::ids_of(&bob.walk("/api/feed", 100).await);
        [&text, &pictured].iter().all(|p| feed.iter().any(|id| p["id"] == id.as_str())).then_some(())
    })
    .await;
    bob.get("/api/users/alice/posts").await.expect(200);
    alice.get("/api/me").await.expect(200);

    outage.end();
    eventually("/readyz 200 once the media store is back", Duration::from_secs(15), || async {
        (server.client().get("/readyz").await.status == 200).then_some(())
    })
    .await;
    let (status, _, body, _) = upload(&alice).await;
    assert_eq!(status.as_u16(), 201, "upload after recovery: {body}");
    alice.post("/api/posts", json!({"text": "pictured again", "media_ids": [body["id"]]})).await.expect(201);
}
