//! `roost check [--repair]` over a real deployment: counters broken on purpose (written
//! straight into the store, as damage would) are found with exit status 1, repaired, shown
//! right by the API, and a second check is clean.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::Server;
use serde_json::json;

/// Writes `counter = value` into the item (`pk`, `sk`) behind the service's back.
async fn break_counter(server: &Server, pk: &str, sk: &str, counter: &str, value: i64) {
    match server.setup().flag("--dynamodb-table") {
        Some(table) => {
            let endpoint = server.setup().flag("--dynamodb-endpoint").unwrap();
            let config = aws_config::from_env().endpoint_url(endpoint).load().await;
            aws_sdk_dynamodb::Client::new(&config)
                .update_item()
                .table_name(table)
                .key("pk", AttributeValue::S(pk.into()))
                .key("sk", AttributeValue::S(sk.into()))
                .update_expression("SET #c = :v")
                .expression_attribute_names("#c", counter)
                .expression_attribute_values(":v", AttributeValue::N(value.to_string()))
                .send()
                .await
                .unwrap();
        }
        None => {
            let db = rusqlite::Connection::open(server.setup().data_dir().join("roost.db")).unwrap();
            let sql = "UPDATE items SET attrs = json_set(attrs, '$.' || ?1, ?2) WHERE pk = ?3 AND sk = ?4";
            assert_eq!(db.execute(sql, rusqlite::params![counter, value, pk, sk]).unwrap(), 1);
        }
    }
}

/// `roost check ARGS`: its exit code and stdout.
fn check(server: &Server, args: &[&str]) -> (i32, String) {
    let mut all = vec!["check"];
    all.extend(args);
    let out = server.roost(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code().unwrap_or_else(|| panic!("roost check died: {out:?}"));
    assert!(code <= 1, "roost check failed ({code}): {}", String::from_utf8_lossy(&out.stderr));
    (code, stdout)
}

#[tokio::test]
async fn check_finds_and_repairs_broken_counters() {
    let mut server = Server::start().await;
    let client = server.client();
    let (alice, alice_user) = client.register("alice").await;
    let (bob, _) = client.register("bob").await;
    let (carol, _) = client.register("carol").await;
    let alice_id = alice_user["id"].as_str().unwrap().to_string();
    let post = alice.create_post("hello").await;
    let pid = post["id"].as_str().unwrap().to_string();
    bob.follow(&alice_id).await;
    carol.follow(&alice_id).await;
    bob.post(&format!("/api/posts/{pid}/comments"), json!({"text": "hi"})).await.expect(201);

    assert_eq!(check(&server, &[]), (0, "every counter matches its items\n".into()), "clean to start with");

    // The damage. The embedded server is stopped for it (its cache is in its process); the
    // distributed one keeps running, its cached copies dropped so that it shows the damage.
    if !common::distributed() {
        server.kill9();
    }
    break_counter(&server, &format!("USER#{alice_id}"), "PROFILE", "followers_count", 7).await;
    break_counter(&server, &format!("POST#{pid}"), "META", "comment_count", 5).await;
    if common::distributed() {
        let ns = server.setup().cache_namespace().unwrap().to_string();
        common::redis_cli(&["DEL", &format!("{ns}:user:{{{alice_id}}}"), &format!("{ns}:post:{{{pid}}}")]);
    } else {
        server.restart().await;
    }
    assert_eq!(client.get(&format!("/api/users/{alice_id}")).await.expect(200)["followers_count"], 7);
    assert_eq!(client.get(&format!("/api/posts/{pid}")).await.expect(200)["comment_count"], 5);

    let (code, report) = check(&server, &[]);
    assert_eq!(code, 1, "{report}");
    let user_line =
        report.lines().find(|l| l.contains("followers_count")).unwrap_or_else(|| panic!("{report}"));
    assert!(user_line.contains("user alice") && user_line.contains(&alice_id), "{report}");
    let numbers: Vec<&str> = user_line.split_whitespace().rev().take(2).collect();
    assert_eq!(numbers, ["2", "7"], "stored 7, counted 2: {report}");
    let post_line =
        report.lines().find(|l| l.contains("comment_count")).unwrap_or_else(|| panic!("{report}"));
    assert!(post_line.contains(&pid) && post_line.ends_with("5        1"), "{report}");
    assert_eq!(report.lines().filter(|l| l.contains("_count")).count(), 2, "nothing else drifted: {report}");

    // Repaired while the server runs (conditional writes); the distributed server's cached
    // copies are dropped by the repair itself, the embedded one is restarted to see it.
    let (code, report) = check(&server, &["--repair"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report.lines().filter(|l| l.contains("_count") && l.ends_with("  repaired")).count(),
        2,
        "{report}"
    );
    if !common::distributed() {
        server.restart().await;
    }
    assert_eq!(client.get(&format!("/api/users/{alice_id}")).await.expect(200)["followers_count"], 2);
    assert_eq!(client.get(&format!("/api/posts/{pid}")).await.expect(200)["comment_count"], 1);
    assert_eq!(check(&server, &[]).0, 0, "clean after the repair");
}
