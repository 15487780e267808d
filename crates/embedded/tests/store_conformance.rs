//! `SqliteStore` against the shared `Store` conformance suite, plus what only a store on a
//! file can show: items surviving a close and reopen, the TTL sweeper reclaiming rows, and
//! consistent snapshots for backups.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use roost_embedded::store::SqliteStore;
use roost_engines::{
    store_conformance_tests, Cond, Index, Item, Key, KeyCondition, Page, Store, TxOp, Update,
};

/// A fresh database path per call, under the target directory so `cargo clean` removes it.
fn temp_db() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("store_conformance");
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir.join(format!("{}-{}.db", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)))
}

async fn fresh_store() -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(&temp_db()).expect("open store"))
}

store_conformance_tests!(fresh_store);

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

#[tokio::test]
async fn items_survive_reopen() {
    let path = temp_db();
    let profile = Item::new("USER#1", "PROFILE").with_gsi1("USERNAME#ada", "PROFILE").with("name", "Ada");
    let session = Item::new("SESSION#s", "META").with_ttl(now() + 3600).with("user", "1");
    let edge = Item::new("USER#1", "FOLLOWER#2").with_gsi1("FOLLOWERS#1", "100#2");
    {
        let store = SqliteStore::open(&path).expect("open");
        store.put(profile.clone(), Cond::NotExists).await.expect("put");
        store.put(session.clone(), Cond::None).await.expect("put");
        let follow = vec![
            TxOp::Put { item: edge.clone(), cond: Cond::NotExists },
            TxOp::Update {
                key: profile.key(),
                update: Update::new().add("followers", 1),
                cond: Cond::Exists,
            },
        ];
        store.transact_write(follow).await.expect("transaction");
    }

    let store = SqliteStore::open(&path).expect("reopen");
    let profile = profile.with("followers", 1);
    assert_eq!(store.get(&profile.key()).await.expect("get"), Some(profile.clone()));
    assert_eq!(store.get(&session.key()).await.expect("get"), Some(session));
    let by_name = store.query(Index::Gsi1, KeyCondition::pk("USERNAME#ada"), Page::forward(10)).await;
    assert_eq!(by_name.expect("query").items, vec![profile.clone()]);
    let partition = store.query(Index::Table, KeyCondition::pk("USER#1"), Page::forward(10)).await;
    assert_eq!(partition.expect("query").items, vec![edge, profile]);
}

#[tokio::test]
async fn purge_deletes_only_expired_rows() {
    let store = SqliteStore::open(&temp_db()).expect("open");
    let live = Item::new("FEED#1", "live").with_ttl(now() + 3600);
    let forever = Item::new("FEED#1", "forever");
    store.put(live.clone(), Cond::None).await.expect("put");
    store.put(forever.clone(), Cond::None).await.expect("put");
    for i in 0..1200 {
        store
            .put(Item::new("FEED#1", format!("old{i:04}")).with_ttl(now() - 10), Cond::None)
            .await
            .expect("put");
    }
    // More than one sweep batch, so the purge has to loop.
    assert_eq!(store.purge_expired().await.expect("purge"), 1200);
    assert_eq!(store.purge_expired().await.expect("purge"), 0);
    let found = store.batch_get(vec![live.key(), forever.key(), Key::new("FEED#1", "old0000")]).await;
    assert_eq!(found.expect("batch_get").len(), 2);
}

#[tokio::test]
async fn a_snapshot_holds_the_items_at_its_moment_and_not_later_writes() {
    let store = SqliteStore::open(&temp_db()).expect("open");
    let before = Item::new("USER#1", "PROFILE").with_gsi1("USERNAME#ada", "PROFILE").with_ttl(now() + 60);
    store.put(before.clone(), Cond::None).await.expect("put");
    let path = temp_db();
    store.snapshot_into(&path).await.expect("snapshot");
    store.put(Item::new("USER#2", "PROFILE"), Cond::None).await.expect("put after");

    let snapshot = SqliteStore::open(&path).expect("open the snapshot");
    let all = snapshot.scan(Page::forward(10)).await.expect("scan");
    assert_eq!(all.items, vec![before]);
    assert!(store.snapshot_into(&path).await.is_err(), "an existing file is never overwritten");
}
