//! `DynamoStore` against a real DynamoDB API (moto's server, started by
//! `scripts/services.sh`, or anything `ROOST_TEST_AWS_ENDPOINT` points at): the shared
//! `Store` conformance suite, then what is specific to DynamoDB — the attribute types on the
//! wire, cancellation reasons, paging across DynamoDB's 1 MB pages, expired items that
//! DynamoDB still holds, batches beyond DynamoDB's limits, table creation and its protection (encryption,
//! point-in-time recovery).
//!
//! All cases share one table, created once per run of this binary under a unique name;
//! cases isolate themselves by key prefix. Every case builds its own handle because each
//! `#[tokio::test]` runs its own runtime, and the SDK's connections belong to one.
//!
//! Requests reach the server one at a time (see `OneAtATime`): moto serves requests on
//! concurrent threads without DynamoDB's per-item atomicity — two concurrent `ADD`s can both
//! read the old value, and a cancelled transaction restores a snapshot of the whole table,
//! wiping out whatever other requests wrote meanwhile. Real DynamoDB does neither, and the
//! store relies on that; the client side stays fully concurrent.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::config::http::HttpRequest;
use aws_sdk_dynamodb::types::{AttributeValue, PointInTimeRecoveryStatus, SseStatus, TimeToLiveStatus};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use roost_distributed::store::{DynamoConfig, DynamoStore};
use roost_engines::conformance::unique_prefix;
use roost_engines::store::MAX_TRANSACT_ITEMS;
use roost_engines::{
    CancelReason, Cond, EngineError, Index, Item, Key, KeyCondition, Page, SkCond, Store, TxOp, Update,
    WriteOp,
};
use serde_json::json;
use tokio::sync::OnceCell;

fn endpoint() -> String {
    std::env::var("ROOST_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "ROOST_TEST_AWS_ENDPOINT is not set: these tests need a DynamoDB API. Run them through \
             scripts/test.sh, or `source scripts/services.sh; services_install; services_start` first"
        )
    })
}

/// Holds each request's turn from sending it until its response arrives (moto has computed
/// the whole answer by then).
static SERVER_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The SDK's default HTTP client, letting one request at a time through to the server.
#[derive(Debug)]
struct OneAtATime(SharedHttpClient);

#[derive(Debug)]
struct OneAtATimeConnector(SharedHttpConnector);

impl HttpClient for OneAtATime {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(OneAtATimeConnector(self.0.http_connector(settings, components)))
    }
}

impl HttpConnector for OneAtATimeConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.0.clone();
        HttpConnectorFuture::new(async move {
            let _turn = SERVER_TURN.lock().await;
            inner.call(request).await
        })
    }
}

fn one_at_a_time() -> OneAtATime {
    let tls = tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc);
    OneAtATime(aws_smithy_http_client::Builder::new().tls_provider(tls).build_https())
}

async fn connect(table: &str) -> DynamoStore {
    DynamoStore::connect_with(config(table), |loader| loader.http_client(one_at_a_time()))
        .await
        .expect("connect")
}

fn config(table: &str) -> DynamoConfig {
    DynamoConfig {
        endpoint: Some(endpoint()),
        region: Some("us-east-1".into()),
        call_timeout: Duration::from_secs(30),
        ..DynamoConfig::new(table)
    }
}

/// The run's table, created on first use.
async fn table() -> &'static str {
    static TABLE: OnceCell<String> = OnceCell::const_new();
    TABLE
        .get_or_init(|| async {
            let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos();
            let name = format!("roost-test-{}-{nanos}", std::process::id());
            let store = connect(&name).await;
            store.create_table_if_missing().await.expect("create table");
            name
        })
        .await
}

async fn store() -> DynamoStore {
    connect(table().await).await
}

async fn factory() -> Arc<dyn Store> {
    Arc::new(store().await)
}

roost_engines::store_conformance_tests!(factory);

/// A plain SDK client on the same endpoint, to look at what the store really wrote.
async fn raw_client() -> aws_sdk_dynamodb::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .http_client(one_at_a_time())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

async fn raw_get(key: &Key) -> Option<std::collections::HashMap<String, AttributeValue>> {
    raw_client()
        .await
        .get_item()
        .table_name(table().await)
        .key("pk", AttributeValue::S(key.pk.clone()))
        .key("sk", AttributeValue::S(key.sk.clone()))
        .consistent_read(true)
        .send()
        .await
        .expect("raw get")
        .item
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64
}

#[tokio::test]
async fn dynamo_attribute_types_on_the_wire() {
    let store = store().await;
    let p = unique_prefix("wire");
    let item = Item::new(format!("{p}#A"), "S")
        .with_gsi1(format!("{p}#G"), "g")
        .with_ttl(now() + 3600)
        .with("s", "x")
        .with("i", 42)
        .with("f", 2.5)
        .with("b", true)
        .with("n", json!(null))
        .with("l", json!([1, "a"]))
        .with("m", json!({"k": -1}));
    store.put(item.clone(), Cond::None).await.expect("put");

    let raw = raw_get(&item.key()).await.expect("item written");
    assert_eq!(raw["pk"], AttributeValue::S(item.pk.clone()));
    assert_eq!(raw["gsi1pk"], AttributeValue::S(format!("{p}#G")));
    assert_eq!(raw["gsi1sk"], AttributeValue::S("g".into()));
    assert!(matches!(raw["ttl"], AttributeValue::N(_)), "ttl must be a number for DynamoDB's TTL");
    assert_eq!(raw["s"], AttributeValue::S("x".into()));
    assert_eq!(raw["i"], AttributeValue::N("42".into()));
    assert_eq!(raw["f"], AttributeValue::N("2.5".into()));
    assert_eq!(raw["b"], AttributeValue::Bool(true));
    assert_eq!(raw["n"], AttributeValue::Null(true));
    assert_eq!(
        raw["l"],
        AttributeValue::L(vec![AttributeValue::N("1".into()), AttributeValue::S("a".into())])
    );
    assert_eq!(raw["m"], AttributeValue::M([("k".to_string(), AttributeValue::N("-1".into()))].into()));
    assert!(!raw.contains_key("gsi2pk"), "an item outside gsi2 must not carry its keys");

    let back = store.get(&item.key()).await.expect("get").expect("found");
    assert!(back.attrs["i"].is_i64(), "integers come back as integers");
    assert_eq!(back, item);
}

#[tokio::test]
async fn dynamo_reserved_attribute_names_are_invalid() {
    let store = store().await;
    let key = Key::new(unique_prefix("reserved"), "S");
    let item = Item::new(&key.pk, &key.sk).with("ttl", 5);
    assert!(matches!(store.put(item, Cond::None).await, Err(EngineError::Invalid(_))));
    let update = Update::new().set("gsi1pk", "x");
    assert!(matches!(store.update(&key, update, Cond::None).await, Err(EngineError::Invalid(_))));
    assert_eq!(raw_get(&key).await, None);
}

#[tokio::test]
async fn dynamo_cancellation_reasons_are_index_aligned() {
    let store = store().await;
    let p = unique_prefix("cancel");
    let existing = Item::new(format!("{p}#E"), "S").with("v", 1);
    let other = Item::new(format!("{p}#F"), "S").with("v", 1);
    store.put(existing.clone(), Cond::None).await.expect("put");
    store.put(other.clone(), Cond::None).await.expect("put");
    let ops = vec![
        TxOp::Put { item: Item::new(format!("{p}#A"), "S"), cond: Cond::NotExists },
        TxOp::Put { item: existing.clone().with("v", 2), cond: Cond::NotExists },
        TxOp::Check { key: other.key(), cond: Cond::Equals("v".into(), json!(1)) },
        TxOp::Update {
            key: Key::new(format!("{p}#B"), "S"),
            update: Update::new().add("c", 1),
            cond: Cond::Exists,
        },
        TxOp::Delete { key: Key::new(format!("{p}#C"), "S"), cond: Cond::None },
    ];
    let result = store.transact_write(ops).await;
    let cf = Some(CancelReason::ConditionFailed);
    match result {
        Err(EngineError::TransactionCanceled { reasons }) => {
            assert_eq!(reasons, vec![None, cf.clone(), None, cf, None])
        }
        other => panic!("expected TransactionCanceled, got {other:?}"),
    }
    assert_eq!(
        raw_get(&Key::new(format!("{p}#A"), "S")).await,
        None,
        "nothing of a cancelled transaction is written"
    );
}

#[tokio::test]
async fn dynamo_transactions_are_checked_before_sending() {
    let store = store().await;
    let p = unique_prefix("tx_checks");
    let twice = vec![
        TxOp::Put { item: Item::new(format!("{p}#A"), "S"), cond: Cond::None },
        TxOp::Check { key: Key::new(format!("{p}#A"), "S"), cond: Cond::None },
    ];
    assert!(matches!(store.transact_write(twice).await, Err(EngineError::Invalid(_))));
    let too_many: Vec<TxOp> = (0..=MAX_TRANSACT_ITEMS)
        .map(|i| TxOp::Put { item: Item::new(format!("{p}#{i}"), "S"), cond: Cond::None })
        .collect();
    assert!(matches!(store.transact_write(too_many).await, Err(EngineError::Invalid(_))));
    assert_eq!(raw_get(&Key::new(format!("{p}#A"), "S")).await, None);
    store.transact_write(Vec::new()).await.expect("an empty transaction does nothing");
}

#[tokio::test]
async fn dynamo_add_to_a_string_is_invalid() {
    let store = store().await;
    let key = Key::new(unique_prefix("add_string"), "S");
    store.put(Item::new(&key.pk, &key.sk).with("name", "x"), Cond::None).await.expect("put");
    let result = store.update(&key, Update::new().add("name", 1), Cond::None).await;
    assert!(matches!(result, Err(EngineError::Invalid(_))), "got {result:?}");
}

/// 40 items of ~100 KB each: 4 MB in one partition, so DynamoDB answers in several 1 MB
/// pages whatever the `Limit`, and the store must keep reading to fill a page.
#[tokio::test]
async fn dynamo_query_and_scan_read_across_dynamodb_pages() {
    let store = store().await;
    let p = unique_prefix("big_pages");
    let pk = format!("{p}#P");
    let blob = "x".repeat(100_000);
    let items: Vec<Item> = (0..40)
        .map(|i| {
            Item::new(&pk, format!("k{i:02}"))
                .with_gsi2(format!("{p}#G"), format!("k{i:02}"))
                .with("blob", blob.as_str())
        })
        .collect();
    store.batch_write(items.iter().cloned().map(WriteOp::Put).collect()).await.expect("batch_write");

    for index in [Index::Table, Index::Gsi2] {
        let ipk = if index == Index::Table { pk.clone() } else { format!("{p}#G") };
        let first = store.query(index, KeyCondition::pk(&ipk), Page::forward(25)).await.expect("query");
        assert_eq!(first.items, items[..25], "{index:?}");
        assert!(first.last_key.is_some(), "{index:?}: more items match");
        let rest = store.query(index, KeyCondition::pk(&ipk), Page::forward(25).after(first.last_key)).await;
        let rest = rest.expect("query");
        assert_eq!((rest.items, rest.last_key), (items[25..].to_vec(), None), "{index:?}");
    }

    let mut seen = 0;
    let mut page = Page::forward(30);
    loop {
        let got = store.scan(page.clone()).await.expect("scan");
        seen += got.items.iter().filter(|i| i.pk == pk).count();
        match got.last_key {
            Some(next) => page.start = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, items.len());
}

/// Expired items are still in DynamoDB until its sweeper runs; no read may return them and
/// no condition may see them.
#[tokio::test]
async fn dynamo_expired_items_are_invisible_but_present() {
    let store = store().await;
    let p = unique_prefix("expired");
    let pk = format!("{p}#P");
    let expired =
        |sk: &str| Item::new(&pk, sk).with_gsi1(format!("{p}#G"), sk).with_ttl(now() - 60).with("old", true);
    for sk in ["a", "b", "c", "d"] {
        store.put(expired(sk), Cond::None).await.expect("put");
    }
    let key = |sk: &str| Key::new(&pk, sk);
    assert!(raw_get(&key("a")).await.is_some(), "DynamoDB still holds the expired item");

    assert_eq!(store.get(&key("a")).await.expect("get"), None);
    assert!(store.batch_get(vec![key("a"), key("b")]).await.expect("batch_get").is_empty());
    for (index, ipk) in [(Index::Table, pk.clone()), (Index::Gsi1, format!("{p}#G"))] {
        let page = store.query(index, KeyCondition::pk(ipk), Page::forward(1)).await.expect("query");
        assert_eq!((page.items, page.last_key), (vec![], None), "{index:?}");
    }

    // Conditions treat the expired item as absent...
    let fresh = Item::new(&pk, "a").with("new", true);
    store.put(fresh.clone(), Cond::NotExists).await.expect("put over an expired item");
    assert_eq!(store.get(&key("a")).await.expect("get"), Some(fresh));
    let refused = store.update(&key("b"), Update::new().set("x", 1), Cond::Exists).await;
    assert!(matches!(refused, Err(EngineError::ConditionFailed)), "got {refused:?}");
    assert!(matches!(store.delete(&key("b"), Cond::Exists).await, Err(EngineError::ConditionFailed)));
    // ...and an upsert starts from nothing rather than from the stale attributes.
    let upserted = store.update(&key("c"), Update::new().add("n", 1), Cond::None).await.expect("upsert");
    assert_eq!(upserted, Item::new(&pk, "c").with("n", 1));
    let created = store.update(&key("d"), Update::new().set("y", 2), Cond::NotExists).await.expect("create");
    assert_eq!(created, Item::new(&pk, "d").with("y", 2));
    // The same inside a transaction.
    let ops = vec![TxOp::Update { key: key("b"), update: Update::new().add("n", 5), cond: Cond::None }];
    store.transact_write(ops).await.expect("transaction over an expired item");
    assert_eq!(store.get(&key("b")).await.expect("get"), Some(Item::new(&pk, "b").with("n", 5)));
    // A delete of an expired item finds nothing to return.
    store.put(expired("e"), Cond::None).await.expect("put");
    assert_eq!(store.delete(&key("e"), Cond::None).await.expect("delete"), None);
}

#[tokio::test]
async fn dynamo_batches_beyond_dynamodb_limits_with_duplicates() {
    let store = store().await;
    let p = unique_prefix("batches");
    let item = |i: usize, v: i64| Item::new(format!("{p}#{}", i % 3), format!("S{i:03}")).with("v", v);
    // 260 writes on 130 keys (each written twice, then some deleted): the last op per key wins.
    let mut ops: Vec<WriteOp> = (0..130).map(|i| WriteOp::Put(item(i, 1))).collect();
    ops.extend((0..130).map(|i| WriteOp::Put(item(i, 2))));
    ops.extend((0..10).map(|i| WriteOp::Delete(item(i, 0).key())));
    store.batch_write(ops).await.expect("batch_write");

    let mut keys: Vec<Key> = (0..130).map(|i| item(i, 0).key()).collect();
    keys.extend(keys.clone());
    keys.push(Key::new(format!("{p}#missing"), "S"));
    let mut found = store.batch_get(keys).await.expect("batch_get");
    found.sort_by_key(Item::key);
    let mut expected: Vec<Item> = (10..130).map(|i| item(i, 2)).collect();
    expected.sort_by_key(Item::key);
    assert_eq!(found, expected);
}

#[tokio::test]
async fn dynamo_gsi_resume_inside_a_tie_group() {
    let store = store().await;
    let p = unique_prefix("ties_resume");
    let ipk = format!("{p}#G");
    let tie = |pk: &str| Item::new(format!("{p}#{pk}"), "S").with_gsi1(&ipk, "t");
    let items = vec![
        Item::new(format!("{p}#0"), "S").with_gsi1(&ipk, "a"),
        tie("c"),
        tie("a"),
        tie("b"),
        Item::new(format!("{p}#1"), "S").with_gsi1(&ipk, "z"),
    ];
    for item in &items {
        store.put(item.clone(), Cond::None).await.expect("put");
    }
    let kc = KeyCondition::pk(&ipk).with_sk(SkCond::Ge("b".into()));
    let page = store.query(Index::Gsi1, kc.clone(), Page::forward(1)).await.expect("query");
    assert_eq!(page.items, vec![tie("a")]);
    let page =
        store.query(Index::Gsi1, kc.clone(), Page::forward(2).after(page.last_key)).await.expect("query");
    assert_eq!(page.items, vec![tie("b"), tie("c")]);
    let page = store.query(Index::Gsi1, kc, Page::forward(2).after(page.last_key)).await.expect("query");
    assert_eq!((page.items, page.last_key), (vec![items[4].clone()], None));
}

#[tokio::test]
async fn dynamo_table_creation_is_idempotent_and_enables_ttl() {
    let store = store().await;
    store.create_table_if_missing().await.expect("second create_table_if_missing");
    let ttl = raw_client()
        .await
        .describe_time_to_live()
        .table_name(table().await)
        .send()
        .await
        .expect("describe ttl");
    let ttl = ttl.time_to_live_description.expect("ttl description");
    assert_eq!(ttl.attribute_name.as_deref(), Some("ttl"));
    assert!(matches!(ttl.time_to_live_status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)));
}

#[tokio::test]
async fn dynamo_tables_are_encrypted_and_recover_to_a_point_in_time() {
    let store = store().await;
    let client = raw_client().await;
    let described = client.describe_table().table_name(table().await).send().await.expect("describe table");
    let sse = described.table.and_then(|t| t.sse_description).expect("an SSE description");
    assert_eq!(sse.status, Some(SseStatus::Enabled));

    store.enable_point_in_time_recovery().await.expect("enable PITR");
    store.enable_point_in_time_recovery().await.expect("enable PITR again, as a second `--init` would");
    let backups = client
        .describe_continuous_backups()
        .table_name(table().await)
        .send()
        .await
        .expect("describe backups");
    let pitr = backups
        .continuous_backups_description
        .and_then(|d| d.point_in_time_recovery_description)
        .and_then(|p| p.point_in_time_recovery_status);
    assert_eq!(pitr, Some(PointInTimeRecoveryStatus::Enabled));
}

#[tokio::test]
async fn dynamo_missing_table_is_unavailable() {
    let store = connect(&unique_prefix("no-such-table")).await;
    match store.ping().await {
        Err(EngineError::Unavailable { engine: "dynamodb", .. }) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match store.get(&Key::new("a", "b")).await {
        Err(EngineError::Unavailable { engine: "dynamodb", message }) => {
            assert!(message.contains("GetItem"), "message names the call: {message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn dynamo_consumed_capacity_is_counted() {
    let store = store().await;
    let key = Key::new(unique_prefix("capacity"), "S");
    store.put(Item::new(&key.pk, &key.sk), Cond::None).await.expect("put");
    store.get(&key).await.expect("get");
    let capacity = store.consumed_capacity();
    let units = |kind: &str| capacity.iter().find(|(k, _)| *k == kind).map(|(_, u)| *u).expect("kind listed");
    assert!(units("put") > 0.0 && units("get") > 0.0, "{capacity:?}");
    assert_eq!(units("scan"), 0.0);
}
