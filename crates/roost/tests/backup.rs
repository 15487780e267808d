//! `roost backup` and `roost restore` (docs/operations.md, "Backups"): a network seeded
//! through the API is backed up while its server runs, restored into a fresh deployment,
//! and served again with the very same API answers — profiles, posts, likes as each user
//! sees them, follow lists, feeds (rebuilt from the store), comments, image bytes — and
//! the same sessions. Embedded → embedded always; embedded → DynamoDB + S3, DynamoDB →
//! DynamoDB and DynamoDB → embedded with the `services` feature (moto). A target that is
//! not empty, a damaged file and a backup without its manifest are refused, and nothing is
//! written.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{eventually, png, Client, Server, Setup};
use serde_json::{json, Value};

/// The users of the seeded network.
const USERS: [&str; 3] = ["alice", "bob", "carol"];

/// A folder of its own for one backup.
fn backup_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    std::env::temp_dir().join(format!("roost-backup-{name}-{}-{nanos}", std::process::id()))
}

/// Runs `roost ARGS` on `setup`'s engines; its stdout, or a panic with its stderr.
fn run_ok(setup: &Setup, args: &[&str]) -> String {
    let out = setup.run(args);
    assert!(out.status.success(), "roost {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `roost ARGS` on `setup`'s engines, which must fail; its stderr.
fn run_err(setup: &Setup, args: &[&str]) -> String {
    let out = setup.run(args);
    assert!(!out.status.success(), "roost {args:?} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Three users following each other, posts (one with an image), likes, comments; returns
/// the signed-in clients and the image's id, once every like has reached the store.
async fn seed(server: &Server) -> (Vec<Client>, String) {
    let mut clients = Vec::new();
    for name in USERS {
        clients.push(server.client().register(name).await.0);
    }
    let [alice, bob, carol] = [&clients[0], &clients[1], &clients[2]];
    alice.patch("/api/me", json!({"display_name": "Alice", "bio": "down the hole"})).await.expect(200);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(png(64, 48)).file_name("a.png").mime_str("image/png").unwrap(),
    );
    let media = alice.post_form("/api/media", form).await.expect(201);
    let media_id = media["id"].as_str().unwrap().to_string();
    let pic =
        alice.post("/api/posts", json!({"text": "a picture", "media_ids": [media_id]})).await.expect(201);
    let words = bob.create_post("bob's words").await;
    carol.create_post("carol was here").await;
    let id_of = |c: &Client| {
        let c = c.clone();
        async move { c.get("/api/me").await.expect(200)["id"].as_str().unwrap().to_string() }
    };
    let (a, b, c) = (id_of(alice).await, id_of(bob).await, id_of(carol).await);
    bob.follow(&a).await;
    carol.follow(&a).await;
    carol.follow(&b).await;
    alice.follow(&c).await;
    for (who, post) in [(bob, &pic), (carol, &pic), (alice, &words)] {
        who.post(&format!("/api/posts/{}/like", post["id"].as_str().unwrap()), json!({})).await.expect(200);
    }
    let pid = pic["id"].as_str().unwrap();
    carol.post(&format!("/api/posts/{pid}/comments"), json!({"text": "lovely"})).await.expect(201);
    eventually("the likes reach the store", Duration::from_secs(30), || async {
        let likes = server.dump_store().await.iter().filter(|line| line.contains("LIKE#")).count();
        (likes >= 3).then_some(())
    })
    .await;
    // Notifications and fan-out are queued work too: the backup must not race them.
    let settled = [(alice, 5, 2), (bob, 2, 2), (carol, 1, 3)];
    eventually("notifications and feeds settle", Duration::from_secs(30), || async {
        for (client, unread, feed) in settled {
            let me = client.get("/api/me").await.expect(200);
            let got = client.get("/api/feed?limit=10").await.expect(200)["items"].as_array().unwrap().len();
            if me["unread_notifications"] != unread || got != feed {
                return None;
            }
        }
        Some(())
    })
    .await;
    (clients, media_id)
}

/// What the API answers about the network, as each user sees it.
async fn answers(clients: &[Client], media_id: &str) -> Value {
    let mut out = serde_json::Map::new();
    for (name, client) in USERS.iter().zip(clients) {
        let me = client.get("/api/me").await.expect(200);
        let id = me["id"].as_str().unwrap().to_string();
        let mut posts = Vec::new();
        for post in client.walk(&format!("/api/users/{id}/posts"), 2).await {
            let pid = post["id"].as_str().unwrap();
            // Read as each user, so `liked_by_me` is checked from every side.
            for reader in clients {
                posts.push(reader.get(&format!("/api/posts/{pid}")).await.expect(200));
            }
            posts.push(Value::Array(client.walk(&format!("/api/posts/{pid}/comments"), 10).await));
        }
        let view = json!({
            "me": me,
            "profile": client.anonymous().get(&format!("/api/users/{id}")).await.expect(200),
            "posts": posts,
            "followers": client.walk(&format!("/api/users/{id}/followers"), 2).await,
            "following": client.walk(&format!("/api/users/{id}/following"), 2).await,
            "feed": client.walk("/api/feed", 2).await,
        });
        out.insert(name.to_string(), view);
    }
    let mut images = Vec::new();
    for path in [format!("/api/media/{media_id}"), format!("/api/media/{media_id}/thumbnail")] {
        let response = clients[0].anonymous().request(reqwest::Method::GET, &path).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        images.push(json!(response.bytes().await.unwrap().to_vec()));
    }
    out.insert("images".into(), Value::Array(images));
    Value::Object(out)
}

/// Where two answers first differ (a JSON path and both values), if they do.
fn first_difference(before: &Value, after: &Value, path: String) -> Option<String> {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) if a.len() == b.len() => {
            a.iter().find_map(|(k, v)| match b.get(k) {
                Some(w) => first_difference(v, w, format!("{path}.{k}")),
                None => Some(format!("{path}.{k} is gone")),
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().find_map(|(i, (v, w))| first_difference(v, w, format!("{path}[{i}]")))
        }
        _ if before == after => None,
        _ => Some(format!("{path}: before {before}, after {after}")),
    }
}

/// The same clients (same tokens) talking to `server`.
fn against(clients: &[Client], server: &Server) -> Vec<Client> {
    clients.iter().map(|c| Client { base: server.base.clone(), ..c.clone() }).collect()
}

/// Seeds `source`, backs it up to `to` while its server runs, restores into `target`, and
/// checks the restored server answers as the source did.
async fn round_trip(source: Setup, to: &str, target: Setup) {
    let server = source.start().await;
    let (clients, media_id) = seed(&server).await;
    let before = answers(&clients, &media_id).await;
    // The comparison is worth something only if the answers hold what was seeded.
    assert!(before.to_string().contains("\"liked_by_me\":true"), "{before}");
    assert_eq!(before["carol"]["feed"].as_array().unwrap().len(), 3, "{before}");
    assert_eq!(before["alice"]["followers"].as_array().unwrap().len(), 2, "{before}");

    let said = run_ok(&source, &["backup", "--to", to]);
    assert!(said.contains("backed up"), "{said}");
    // The source kept serving throughout.
    clients[1].create_post("written after the backup").await;

    let said = run_ok(&target, &["restore", "--from", to]);
    assert!(said.contains("restored"), "{said}");
    let restored = target.start().await;
    let leftover = restored.dump_store().await.into_iter().find(|line| line.contains("CONFIG#restore"));
    assert_eq!(leftover, None, "a finished restore removes its checkpoint");
    let after = answers(&against(&clients, &restored), &media_id).await;
    if let Some(difference) = first_difference(&before, &after, String::new()) {
        panic!("the restored deployment answers differently: {difference}");
    }

    let again = run_err(&target, &["restore", "--from", to]);
    assert!(again.contains("not empty"), "{again}");
}

#[tokio::test]
async fn embedded_to_embedded_gives_the_same_answers() {
    let dir = backup_dir("e2e");
    round_trip(Setup::embedded(), dir.to_str().unwrap(), Setup::embedded()).await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A seeded embedded deployment (its server running) and a backup of it.
async fn seeded_backup(name: &str) -> (Setup, Server, PathBuf) {
    let source = Setup::embedded();
    let server = source.start().await;
    seed(&server).await;
    let dir = backup_dir(name);
    run_ok(&source, &["backup", "--to", dir.to_str().unwrap()]);
    (source, server, dir)
}

#[tokio::test]
async fn a_damaged_or_unfinished_backup_is_refused_before_anything_is_written() {
    let (source, _server, dir) = seeded_backup("damaged").await;
    let refused = run_err(&source, &["backup", "--to", dir.to_str().unwrap()]);
    assert!(refused.contains("already holds a backup"), "{refused}");

    let chunk = dir.join("items-00001.jsonl");
    let mut bytes = std::fs::read(&chunk).unwrap();
    let at = bytes.iter().position(|b| *b == b'#').unwrap();
    bytes[at] = b'%';
    std::fs::write(&chunk, bytes).unwrap();
    let target = Setup::embedded();
    let refused = run_err(&target, &["restore", "--from", dir.to_str().unwrap()]);
    assert!(refused.contains("items-00001.jsonl is damaged"), "{refused}");
    assert!(!target.data_dir().join("roost.db").exists(), "nothing is written from a damaged backup");

    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    let refused = run_err(&target, &["restore", "--from", dir.to_str().unwrap()]);
    assert!(refused.contains("no manifest.json"), "{refused}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_deployment_in_use_is_not_a_restore_target() {
    let (source, _server, dir) = seeded_backup("nonempty").await;
    let refused = run_err(&source, &["restore", "--from", dir.to_str().unwrap()]);
    assert!(refused.contains("the target store is not empty"), "{refused}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Across engines, with moto: scripts/test.sh (or the services subshell) turns these on.
#[cfg(feature = "services")]
mod across {
    use super::*;

    #[tokio::test]
    async fn embedded_to_dynamodb_and_s3_is_the_migration_path() {
        let dir = backup_dir("migrate");
        round_trip(Setup::embedded(), dir.to_str().unwrap(), Setup::distributed()).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn dynamodb_to_dynamodb() {
        let dir = backup_dir("d2d");
        round_trip(Setup::distributed(), dir.to_str().unwrap(), Setup::distributed()).await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn dynamodb_to_embedded_through_an_s3_backup() {
        let source = Setup::distributed();
        let bucket = format!("{}-backups", source.flag("--s3-bucket").unwrap());
        let to = format!("s3://{bucket}/nightly/1");
        // The embedded target reaches the backup bucket on the same S3 endpoint.
        let endpoint = source.flag("--s3-endpoint").unwrap().to_string();
        let target = Setup::embedded().env("ROOST_S3_ENDPOINT", &endpoint);
        round_trip(source, &to, target).await;
    }
}
