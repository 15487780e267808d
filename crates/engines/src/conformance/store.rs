//! Conformance cases for `Store`, run against every implementation through
//! [`store_conformance_tests!`](crate::store_conformance_tests).
//!
//! Each case checks one promise of the [`Store`] doc, in the terms a DynamoDB user would
//! expect. Cases put their keys (and index partition keys) under a
//! [`unique_prefix`](crate::conformance::unique_prefix), so they may share one table and run
//! concurrently; a full-table `scan` therefore only looks at its own items.
//!
//! One reading of the trait goes beyond its doc and is checked here: a page carries `limit`
//! items whenever `last_key` is `Some` (an implementation filtering expired items must keep
//! reading rather than hand back a short page).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::conformance::unique_prefix;
use crate::error::{EngineError, EngineResult};
use crate::store::{
    CancelReason, Cond, Index, Item, Key, KeyCondition, Page, QueryPage, SkCond, Store, TxOp, Update,
    WriteOp, MAX_TRANSACT_ITEMS,
};

/// Expands to one `#[tokio::test]` per conformance case. `$factory` is an async fn or a
/// closure returning a future of `Arc<dyn Store>`; it is called once per case.
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:expr) => {
        $crate::store_conformance_tests!(@cases $factory;
            put_get_replace,
            put_conditions,
            update_conditions,
            delete_conditions,
            update_is_upsert_returning_all_new,
            update_keeps_index_keys_and_ttl,
            update_add_counters,
            update_set_and_remove,
            query_table_sk_conditions,
            query_gsi1_sk_conditions,
            query_gsi2_sk_conditions,
            query_table_pagination,
            query_gsi1_pagination,
            query_gsi2_pagination,
            query_resumes_from_any_start_key,
            query_gsi_ties_ordered_by_table_key,
            query_sort_order_is_bytewise,
            transact_write_is_all_or_nothing,
            transact_write_applies_every_op_kind,
            transact_write_refuses_same_item_twice,
            transact_write_item_limit,
            batch_get_many_keys_with_missing,
            batch_write_many_mixed_ops,
            ttl_hides_expired_items,
            ttl_expired_items_do_not_count_for_last_key,
            scan_pages_every_item_once,
            attribute_types_round_trip,
            concurrent_counter_updates,
            concurrent_conditional_transactions,
            ping,
        );
    };
    (@cases $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let store: ::std::sync::Arc<dyn $crate::Store> = ($factory)().await;
                $crate::conformance::store::$case(store).await;
            }
        )+
    };
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock before 1970").as_secs() as i64
}

fn assert_condition_failed<T: std::fmt::Debug>(result: EngineResult<T>, what: &str) {
    match result {
        Err(EngineError::ConditionFailed) => {}
        other => panic!("{what}: expected ConditionFailed, got {other:?}"),
    }
}

fn assert_invalid<T: std::fmt::Debug>(result: EngineResult<T>, what: &str) {
    match result {
        Err(EngineError::Invalid(_)) => {}
        other => panic!("{what}: expected Invalid, got {other:?}"),
    }
}

fn cancel_reasons(result: EngineResult<()>, what: &str) -> Vec<Option<CancelReason>> {
    match result {
        Err(EngineError::TransactionCanceled { reasons }) => reasons,
        other => panic!("{what}: expected TransactionCanceled, got {other:?}"),
    }
}

/// `ascending` as a query in direction `forward` returns it.
fn in_direction<T: Clone>(ascending: &[T], forward: bool) -> Vec<T> {
    let mut v = ascending.to_vec();
    if !forward {
        v.reverse();
    }
    v
}

fn keys(items: &[Item]) -> Vec<Key> {
    items.iter().map(Item::key).collect()
}

fn sorted_keys(items: &[Item]) -> Vec<Key> {
    let mut keys = keys(items);
    keys.sort();
    keys
}

/// Pages through a query or scan from `page`, checking the paging contract on the way:
/// no page exceeds the limit, a page with `last_key` is full and is followed by a non-empty
/// one, and every `last_key` moves forward.
async fn walk(mut page: Page, fetch: impl AsyncFn(Page) -> EngineResult<QueryPage>) -> Vec<Item> {
    let mut items = Vec::new();
    loop {
        let got = fetch(page.clone()).await.expect("page");
        assert!(got.items.len() <= page.limit, "page of {} items over limit {}", got.items.len(), page.limit);
        if page.start.is_some() {
            assert!(!got.items.is_empty(), "previous page had a last_key, yet no more items matched");
        }
        let full = got.items.len() == page.limit;
        items.extend(got.items);
        match got.last_key {
            None => return items,
            Some(next) => {
                assert!(full, "a page with a last_key is short of its limit");
                assert_ne!(page.start.as_ref(), Some(&next), "last_key did not move");
                page.start = Some(next);
            }
        }
    }
}

async fn walk_query(store: &Arc<dyn Store>, index: Index, kc: &KeyCondition, page: Page) -> Vec<Item> {
    walk(page, async |p| store.query(index, kc.clone(), p).await).await
}

/// An item in partition `ipk` of `index` with index sort key `isk`. For a GSI the table key
/// is derived from the index key, so that it is unique within the case.
fn in_index(index: Index, ipk: &str, isk: &str) -> Item {
    match index {
        Index::Table => Item::new(ipk, isk),
        Index::Gsi1 => Item::new(format!("{ipk}|{isk}"), "S").with_gsi1(ipk, isk),
        Index::Gsi2 => Item::new(format!("{ipk}|{isk}"), "S").with_gsi2(ipk, isk),
    }
}

fn index_sk(index: Index, item: &Item) -> String {
    match index {
        Index::Table => Some(item.sk.clone()),
        Index::Gsi1 => item.gsi1.as_ref().map(|g| g.1.clone()),
        Index::Gsi2 => item.gsi2.as_ref().map(|g| g.1.clone()),
    }
    .expect("item not in the index queried")
}

async fn put_all(store: &Arc<dyn Store>, items: &[Item]) {
    for item in items {
        store.put(item.clone(), Cond::None).await.expect("put");
    }
}

// ---------------------------------------------------------------------------------------
// put / get / update / delete

/// `PutItem` replaces the whole item and `GetItem` reads back exactly what was put.
pub async fn put_get_replace(store: Arc<dyn Store>) {
    let p = unique_prefix("put_get_replace");
    let key = Key::new(format!("{p}#A"), "PROFILE");
    assert_eq!(store.get(&key).await.expect("get"), None);

    let first = Item::new(&key.pk, &key.sk)
        .with_gsi1(format!("{p}#G1"), "x")
        .with_gsi2(format!("{p}#G2"), "y")
        .with("name", "ada")
        .with("n", 1);
    store.put(first.clone(), Cond::None).await.expect("put");
    assert_eq!(store.get(&key).await.expect("get"), Some(first));

    // A put replaces the whole item: attributes and index keys it does not carry are gone.
    let second = Item::new(&key.pk, &key.sk).with("other", true);
    store.put(second.clone(), Cond::None).await.expect("replace");
    assert_eq!(store.get(&key).await.expect("get"), Some(second));
    for (index, ipk) in [(Index::Gsi1, format!("{p}#G1")), (Index::Gsi2, format!("{p}#G2"))] {
        let page = store.query(index, KeyCondition::pk(ipk), Page::forward(10)).await.expect("query");
        assert!(page.items.is_empty(), "replaced item still in {index:?}");
    }
}

/// Every condition against a missing and an existing item: `write` performs the operation
/// and returns the item it expects to find afterwards; a refused write must change nothing.
async fn cond_matrix(
    store: &Arc<dyn Store>,
    case: &str,
    write: impl AsyncFn(Key, Cond, Option<Item>) -> EngineResult<Option<Item>>,
) {
    let p = unique_prefix(case);
    let existing = |key: &Key| {
        Item::new(&key.pk, &key.sk).with("v", 1).with_gsi1(format!("{p}#G"), &key.pk).with_ttl(now() + 3600)
    };
    let rows = [
        (false, Cond::None, true),
        (false, Cond::Exists, false),
        (false, Cond::NotExists, true),
        (false, Cond::Equals("v".into(), json!(1)), false),
        (true, Cond::None, true),
        (true, Cond::Exists, true),
        (true, Cond::NotExists, false),
        (true, Cond::Equals("v".into(), json!(1)), true),
        (true, Cond::Equals("v".into(), json!(2)), false),
        (true, Cond::Equals("v".into(), json!("1")), false),
        (true, Cond::Equals("absent".into(), json!(1)), false),
    ];
    for (i, (exists, cond, holds)) in rows.into_iter().enumerate() {
        let key = Key::new(format!("{p}#{i}"), "S");
        let what = format!("{case}: {cond:?} on {} item", if exists { "an existing" } else { "a missing" });
        let before = exists.then(|| existing(&key));
        if let Some(item) = &before {
            store.put(item.clone(), Cond::None).await.expect("setup put");
        }
        let result = write(key.clone(), cond, before.clone()).await;
        let after = store.get(&key).await.expect("get");
        if holds {
            let expected = result.unwrap_or_else(|e| panic!("{what}: expected success, got {e:?}"));
            assert_eq!(after, expected, "{what}");
        } else {
            assert_condition_failed(result, &what);
            assert_eq!(after, before, "{what}: a refused write changed the item");
        }
    }
}

/// Every `Cond` on `put`, against a missing and an existing item.
pub async fn put_conditions(store: Arc<dyn Store>) {
    cond_matrix(&store, "put_conditions", async |key, cond, _before| {
        let item = Item::new(key.pk, key.sk).with("w", "put");
        store.put(item.clone(), cond).await?;
        Ok(Some(item))
    })
    .await;
}

/// Every `Cond` on `update`, against a missing and an existing item.
pub async fn update_conditions(store: Arc<dyn Store>) {
    cond_matrix(&store, "update_conditions", async |key, cond, before| {
        let new = store.update(&key, Update::new().set("w", "updated"), cond).await?;
        let mut expected = before.unwrap_or_else(|| Item::new(key.pk, key.sk));
        expected.attrs.insert("w".into(), json!("updated"));
        assert_eq!(new, expected, "update must return ALL_NEW");
        Ok(Some(expected))
    })
    .await;
}

/// Every `Cond` on `delete`, against a missing and an existing item.
pub async fn delete_conditions(store: Arc<dyn Store>) {
    cond_matrix(&store, "delete_conditions", async |key, cond, before| {
        let old = store.delete(&key, cond).await?;
        assert_eq!(old, before, "delete must return ALL_OLD");
        Ok(None)
    })
    .await;
}

/// `update` creates a missing item and returns the item as it is after the write.
pub async fn update_is_upsert_returning_all_new(store: Arc<dyn Store>) {
    let p = unique_prefix("upsert");
    let key = Key::new(format!("{p}#U"), "META");
    let created = store.update(&key, Update::new().set("name", "x").add("hits", 3), Cond::None).await;
    let expected = Item::new(&key.pk, &key.sk).with("name", "x").with("hits", 3);
    assert_eq!(created.expect("upsert"), expected);
    assert_eq!(store.get(&key).await.expect("get"), Some(expected.clone()));

    let updated = store.update(&key, Update::new().add("hits", 1), Cond::None).await.expect("update");
    assert_eq!(updated, expected.with("hits", 4));
    assert_eq!(store.get(&key).await.expect("get"), Some(updated));
}

/// `update` leaves the item's index keys and TTL as they were.
pub async fn update_keeps_index_keys_and_ttl(store: Arc<dyn Store>) {
    let p = unique_prefix("update_keeps");
    let ttl = now() + 3600;
    let item = Item::new(format!("{p}#P"), "META")
        .with_gsi1(format!("{p}#G1"), "a")
        .with_gsi2(format!("{p}#G2"), "b")
        .with_ttl(ttl)
        .with("n", 1);
    store.put(item.clone(), Cond::None).await.expect("put");
    let new = store.update(&item.key(), Update::new().set("m", 2), Cond::Exists).await.expect("update");
    let expected = item.with("m", 2);
    assert_eq!(new, expected);
    for (index, ipk) in [(Index::Gsi1, format!("{p}#G1")), (Index::Gsi2, format!("{p}#G2"))] {
        let page = store.query(index, KeyCondition::pk(ipk), Page::forward(10)).await.expect("query");
        assert_eq!(page.items, vec![expected.clone()], "updated item as seen through {index:?}");
    }
}

/// `ADD` counts from 0 for a missing counter, may go below zero, and refuses a non-numeric
/// attribute without touching the item.
pub async fn update_add_counters(store: Arc<dyn Store>) {
    let p = unique_prefix("add");
    let key = Key::new(format!("{p}#C"), "META");
    store
        .put(Item::new(&key.pk, &key.sk).with("likes", 10).with("name", "n"), Cond::None)
        .await
        .expect("put");

    // A missing counter counts as 0; deltas may be negative and go below zero.
    let new = store.update(&key, Update::new().add("likes", -3).add("views", 5), Cond::None).await;
    let new = new.expect("add");
    assert_eq!((new.int("likes"), new.int("views")), (Some(7), Some(5)));
    let new = store.update(&key, Update::new().add("views", -8), Cond::None).await.expect("add");
    assert_eq!(new.int("views"), Some(-3));

    // ADD to a string is a caller bug, and must leave the item alone.
    let before = store.get(&key).await.expect("get");
    assert_invalid(
        store.update(&key, Update::new().add("name", 1).set("x", 1), Cond::None).await,
        "ADD to string",
    );
    assert_eq!(store.get(&key).await.expect("get"), before);
}

/// `SET` and `REMOVE` in one update touch only the attributes they name.
pub async fn update_set_and_remove(store: Arc<dyn Store>) {
    let p = unique_prefix("set_remove");
    let key = Key::new(format!("{p}#I"), "META");
    store
        .put(Item::new(&key.pk, &key.sk).with("a", 1).with("b", "two").with("c", true), Cond::None)
        .await
        .expect("put");
    let update =
        Update::new().set("a", json!({"nested": [1, 2]})).set("d", "new").remove("b").remove("never");
    let new = store.update(&key, update, Cond::Exists).await.expect("update");
    let expected =
        Item::new(&key.pk, &key.sk).with("a", json!({"nested": [1, 2]})).with("c", true).with("d", "new");
    assert_eq!(new, expected);
    assert_eq!(store.get(&key).await.expect("get"), Some(expected));
}

// ---------------------------------------------------------------------------------------
// query

const SKS: [&str; 6] = ["a", "b#1", "b#2", "b#3", "c", "d"];

fn sk_cond_cases() -> Vec<(SkCond, Vec<&'static str>)> {
    let s = |v: &str| v.to_string();
    vec![
        (SkCond::All, SKS.to_vec()),
        (SkCond::Eq(s("b#2")), vec!["b#2"]),
        (SkCond::Eq(s("b")), vec![]),
        (SkCond::BeginsWith(s("b#")), vec!["b#1", "b#2", "b#3"]),
        (SkCond::BeginsWith(s("b#2")), vec!["b#2"]),
        (SkCond::BeginsWith(s("e")), vec![]),
        (SkCond::Between(s("b#2"), s("c")), vec!["b#2", "b#3", "c"]),
        (SkCond::Between(s("b#2"), s("b#2")), vec!["b#2"]),
        (SkCond::Between(s("a0"), s("b")), vec![]),
        (SkCond::Lt(s("b#2")), vec!["a", "b#1"]),
        (SkCond::Le(s("b#2")), vec!["a", "b#1", "b#2"]),
        (SkCond::Gt(s("b#3")), vec!["c", "d"]),
        (SkCond::Ge(s("b#3")), vec!["b#3", "c", "d"]),
    ]
}

/// Every sort-key condition, both directions, in one page and in pages of 2 (which also
/// puts a page end exactly on the last match, with more items beyond the condition).
async fn query_sk_conditions(store: Arc<dyn Store>, index: Index) {
    let p = unique_prefix("sk_conditions");
    let ipk = format!("{p}#P");
    // A neighbouring partition whose key extends ours must never leak into the answers.
    let neighbour = format!("{ipk}x");
    for isk in SKS {
        put_all(&store, &[in_index(index, &ipk, isk).with("isk", isk), in_index(index, &neighbour, isk)])
            .await;
    }
    for (cond, expected) in sk_cond_cases() {
        for forward in [true, false] {
            let expected: Vec<String> =
                in_direction(&expected, forward).iter().map(|s| s.to_string()).collect();
            let kc = KeyCondition::pk(&ipk).with_sk(cond.clone());
            let what = format!("{index:?} {cond:?} forward={forward}");
            let page = Page { limit: 100, forward, start: None };
            let one = store.query(index, kc.clone(), page.clone()).await.expect("query");
            assert_eq!(one.last_key, None, "{what}: everything fit in one page");
            let walked = walk_query(&store, index, &kc, Page { limit: 2, ..page }).await;
            for items in [one.items, walked] {
                let got: Vec<String> = items.iter().map(|i| index_sk(index, i)).collect();
                assert_eq!(got, expected, "{what}");
                assert!(items.iter().all(|i| i.str("isk").is_some()), "{what}: item from another partition");
            }
        }
    }
}

/// Every sort-key condition on a table query, in both directions.
pub async fn query_table_sk_conditions(store: Arc<dyn Store>) {
    query_sk_conditions(store, Index::Table).await;
}

/// Every sort-key condition on a `gsi1` query, in both directions.
pub async fn query_gsi1_sk_conditions(store: Arc<dyn Store>) {
    query_sk_conditions(store, Index::Gsi1).await;
}

/// Every sort-key condition on a `gsi2` query, in both directions.
pub async fn query_gsi2_sk_conditions(store: Arc<dyn Store>) {
    query_sk_conditions(store, Index::Gsi2).await;
}

/// Walks 7 items with page sizes that divide, do not divide, equal and exceed the count.
async fn query_pagination(store: Arc<dyn Store>, index: Index) {
    let p = unique_prefix("pagination");
    let ipk = format!("{p}#P");
    let items: Vec<Item> = (0..7).map(|i| in_index(index, &ipk, &format!("k{i}")).with("i", i)).collect();
    put_all(&store, &items).await;
    put_all(&store, &[in_index(index, &format!("{ipk}x"), "k0")]).await;
    for forward in [true, false] {
        let expected = in_direction(&items, forward);
        for limit in [1, 3, 6, 7, 8] {
            let page = Page { limit, forward, start: None };
            let walked = walk_query(&store, index, &KeyCondition::pk(&ipk), page).await;
            assert_eq!(walked, expected, "{index:?} limit={limit} forward={forward}");
        }
    }
}

/// Paging a table query at several limits obeys the paging contract.
pub async fn query_table_pagination(store: Arc<dyn Store>) {
    query_pagination(store, Index::Table).await;
}

/// Paging a `gsi1` query at several limits obeys the paging contract.
pub async fn query_gsi1_pagination(store: Arc<dyn Store>) {
    query_pagination(store, Index::Gsi1).await;
}

/// Paging a `gsi2` query at several limits obeys the paging contract.
pub async fn query_gsi2_pagination(store: Arc<dyn Store>) {
    query_pagination(store, Index::Gsi2).await;
}

/// A start key need not come from the previous page: `QueryPage::start_key_of` any item
/// resumes after it, in either direction, even once that item is deleted.
pub async fn query_resumes_from_any_start_key(store: Arc<dyn Store>) {
    for index in [Index::Table, Index::Gsi1, Index::Gsi2] {
        let p = unique_prefix("resume");
        let ipk = format!("{p}#P");
        let items: Vec<Item> = (0..6).map(|i| in_index(index, &ipk, &format!("k{i}"))).collect();
        put_all(&store, &items).await;
        let kc = KeyCondition::pk(&ipk);

        let first = store.query(index, kc.clone(), Page::forward(2)).await.expect("query");
        assert_eq!(first.items, items[0..2]);
        store.delete(&items[1].key(), Cond::None).await.expect("delete");
        let second = store.query(index, kc.clone(), Page::forward(2).after(first.last_key)).await;
        assert_eq!(second.expect("query").items, items[2..4], "{index:?} resume after a deleted item");

        let from_k3 = Some(QueryPage::start_key_of(index, &items[3]));
        let after = store.query(index, kc.clone(), Page::forward(10).after(from_k3.clone())).await;
        let after = after.expect("query");
        assert_eq!((after.items, after.last_key), (items[4..6].to_vec(), None), "{index:?} forward from k3");
        let before = store.query(index, kc, Page::backward(10).after(from_k3)).await.expect("query");
        let expected = vec![items[2].clone(), items[0].clone()];
        assert_eq!((before.items, before.last_key), (expected, None), "{index:?} backward from k3");
    }
}

/// Items with equal index sort keys come out of a GSI query ordered by their table key.
pub async fn query_gsi_ties_ordered_by_table_key(store: Arc<dyn Store>) {
    for index in [Index::Gsi1, Index::Gsi2] {
        let p = unique_prefix("ties");
        let ipk = format!("{p}#G");
        let tie = |pk: &str, sk: &str| {
            let item = Item::new(format!("{p}#{pk}"), sk);
            match index {
                Index::Gsi1 => item.with_gsi1(&ipk, "same"),
                _ => item.with_gsi2(&ipk, "same"),
            }
        };
        let mut ties = vec![tie("b", "2"), tie("a", "9"), tie("b", "1"), tie("c", "0"), tie("a", "10")];
        put_all(&store, &ties).await;
        put_all(&store, &[in_index(index, &ipk, "samd"), in_index(index, &ipk, "same0")]).await;
        ties.sort_by_key(Item::key);
        let kc = KeyCondition::pk(&ipk).with_sk(SkCond::Eq("same".into()));
        for forward in [true, false] {
            let expected = in_direction(&ties, forward);
            for limit in [2, 5, 100] {
                let walked = walk_query(&store, index, &kc, Page { limit, forward, start: None }).await;
                assert_eq!(keys(&walked), keys(&expected), "{index:?} limit={limit} forward={forward}");
            }
        }
    }
}

/// Strings compare by their UTF-8 bytes, as DynamoDB compares them (so "Z" < "a" < "é").
pub async fn query_sort_order_is_bytewise(store: Arc<dyn Store>) {
    let sks = ["é", "a", "Z", "日本", "🎉", "a b", "a#", "A", "10", "9", "ü"];
    let mut expected: Vec<String> = sks.iter().map(|s| s.to_string()).collect();
    expected.sort();
    for index in [Index::Table, Index::Gsi1] {
        let ipk = format!("{}#P", unique_prefix("bytewise"));
        let items: Vec<Item> = sks.iter().map(|sk| in_index(index, &ipk, sk)).collect();
        put_all(&store, &items).await;
        let page = store.query(index, KeyCondition::pk(&ipk), Page::forward(100)).await.expect("query");
        let got: Vec<String> = page.items.iter().map(|i| index_sk(index, i)).collect();
        assert_eq!(got, expected, "{index:?}");
        let page = store.query(index, KeyCondition::begins_with(&ipk, "a"), Page::forward(100)).await;
        let got: Vec<String> = page.expect("query").items.iter().map(|i| index_sk(index, i)).collect();
        assert_eq!(got, ["a", "a b", "a#"], "{index:?} begins_with");
    }
}

// ---------------------------------------------------------------------------------------
// transactions

/// A transaction whose condition fails writes nothing and says which operation failed.
pub async fn transact_write_is_all_or_nothing(store: Arc<dyn Store>) {
    let p = unique_prefix("tx_atomic");
    let a = Item::new(format!("{p}#A"), "S").with("n", 1);
    let b = Item::new(format!("{p}#B"), "S").with("c", 5);
    put_all(&store, &[a.clone(), b.clone()]).await;
    let fresh = Item::new(format!("{p}#N"), "S").with("new", true);
    let ops = vec![
        TxOp::Put { item: fresh.clone(), cond: Cond::NotExists },
        TxOp::Update { key: b.key(), update: Update::new().add("c", 1), cond: Cond::Exists },
        TxOp::Delete { key: a.key(), cond: Cond::Equals("n".into(), json!(2)) },
        TxOp::Check { key: Key::new(format!("{p}#M"), "S"), cond: Cond::Exists },
        TxOp::Update {
            key: Key::new(format!("{p}#U"), "S"),
            update: Update::new().add("c", 1),
            cond: Cond::None,
        },
    ];
    let reasons = cancel_reasons(store.transact_write(ops).await, "two failing conditions");
    let cf = Some(CancelReason::ConditionFailed);
    assert_eq!(reasons, vec![None, None, cf.clone(), cf, None]);
    let found = store
        .batch_get(vec![a.key(), b.key(), fresh.key(), Key::new(format!("{p}#U"), "S")])
        .await
        .expect("batch_get");
    assert_eq!(sorted_keys(&found), vec![a.key(), b.key()], "a cancelled transaction wrote something");
    assert_eq!(store.get(&b.key()).await.expect("get"), Some(b));
}

/// Put, update, delete and condition check all take effect in one transaction.
pub async fn transact_write_applies_every_op_kind(store: Arc<dyn Store>) {
    let p = unique_prefix("tx_ops");
    let a = Item::new(format!("{p}#A"), "S").with("n", 1);
    let b = Item::new(format!("{p}#B"), "S").with("c", 5);
    let checked = Item::new(format!("{p}#C"), "S").with("state", "open");
    let replaced = Item::new(format!("{p}#R"), "S").with("old", true).with_gsi1(format!("{p}#G"), "r");
    put_all(&store, &[a.clone(), b.clone(), checked.clone(), replaced.clone()]).await;
    let fresh = Item::new(format!("{p}#N"), "S").with_gsi1(format!("{p}#G"), "n").with("new", true);
    let replacement = Item::new(&replaced.pk, &replaced.sk).with("new", true);
    let upserted = Key::new(format!("{p}#U"), "S");
    let ops = vec![
        TxOp::Put { item: fresh.clone(), cond: Cond::NotExists },
        TxOp::Put { item: replacement.clone(), cond: Cond::None },
        TxOp::Update {
            key: b.key(),
            update: Update::new().add("c", 1).set("s", "x"),
            cond: Cond::Equals("c".into(), json!(5)),
        },
        TxOp::Update { key: upserted.clone(), update: Update::new().add("c", 1), cond: Cond::None },
        TxOp::Delete { key: a.key(), cond: Cond::Equals("n".into(), json!(1)) },
        TxOp::Check { key: checked.key(), cond: Cond::Equals("state".into(), json!("open")) },
    ];
    store.transact_write(ops).await.expect("transaction");
    assert_eq!(store.get(&fresh.key()).await.expect("get"), Some(fresh.clone()));
    assert_eq!(store.get(&replaced.key()).await.expect("get"), Some(replacement));
    assert_eq!(store.get(&b.key()).await.expect("get"), Some(b.with("c", 6).with("s", "x")));
    let upserted_item = Item::new(&upserted.pk, &upserted.sk).with("c", 1);
    assert_eq!(store.get(&upserted).await.expect("get"), Some(upserted_item));
    assert_eq!(store.get(&a.key()).await.expect("get"), None);
    assert_eq!(store.get(&checked.key()).await.expect("get"), Some(checked));
    let gsi = store.query(Index::Gsi1, KeyCondition::pk(format!("{p}#G")), Page::forward(10)).await;
    assert_eq!(gsi.expect("query").items, vec![fresh], "index after the transaction");
}

/// A transaction touching the same item twice is refused as invalid.
pub async fn transact_write_refuses_same_item_twice(store: Arc<dyn Store>) {
    let p = unique_prefix("tx_twice");
    let item = Item::new(format!("{p}#A"), "S");
    let other = Item::new(format!("{p}#B"), "S");
    let pairs = [
        TxOp::Update { key: item.key(), update: Update::new().add("c", 1), cond: Cond::None },
        TxOp::Check { key: item.key(), cond: Cond::NotExists },
        TxOp::Delete { key: item.key(), cond: Cond::None },
    ];
    for second in pairs {
        let ops = vec![
            TxOp::Put { item: other.clone(), cond: Cond::None },
            TxOp::Put { item: item.clone(), cond: Cond::None },
            second.clone(),
        ];
        assert_invalid(store.transact_write(ops).await, &format!("put and {second:?} of one item"));
    }
    let found = store.batch_get(vec![item.key(), other.key()]).await.expect("batch_get");
    assert!(found.is_empty(), "an invalid transaction wrote {found:?}");
}

/// A transaction of `MAX_TRANSACT_ITEMS` operations succeeds; one more is refused and
/// writes nothing.
pub async fn transact_write_item_limit(store: Arc<dyn Store>) {
    let p = unique_prefix("tx_limit");
    let puts = |n: usize, tag: &str| -> Vec<TxOp> {
        (0..n)
            .map(|i| TxOp::Put { item: Item::new(format!("{p}#{tag}{i}"), "S"), cond: Cond::None })
            .collect()
    };
    let over = puts(MAX_TRANSACT_ITEMS + 1, "over");
    let over_keys: Vec<Key> = over.iter().map(TxOp::key).collect();
    assert_invalid(store.transact_write(over).await, "MAX_TRANSACT_ITEMS + 1 operations");
    assert!(store.batch_get(over_keys).await.expect("batch_get").is_empty());

    let max = puts(MAX_TRANSACT_ITEMS, "max");
    let max_keys: Vec<Key> = max.iter().map(TxOp::key).collect();
    store.transact_write(max).await.expect("MAX_TRANSACT_ITEMS operations");
    assert_eq!(store.batch_get(max_keys).await.expect("batch_get").len(), MAX_TRANSACT_ITEMS);
}

// ---------------------------------------------------------------------------------------
// batches, TTL, scan

/// `batch_get` of many keys returns the live items and leaves missing and expired ones out.
pub async fn batch_get_many_keys_with_missing(store: Arc<dyn Store>) {
    let p = unique_prefix("batch_get");
    let items: Vec<Item> =
        (0..150).map(|i| Item::new(format!("{p}#{}", i % 7), format!("S{i}")).with("i", i)).collect();
    store.batch_write(items.iter().cloned().map(WriteOp::Put).collect()).await.expect("batch_write");
    let expired = Item::new(format!("{p}#x"), "S").with_ttl(now() - 3600);
    store.put(expired.clone(), Cond::None).await.expect("put");

    let mut wanted: Vec<Key> = items.iter().map(Item::key).collect();
    wanted.extend((0..100).map(|i| Key::new(format!("{p}#missing"), format!("S{i}"))));
    wanted.push(expired.key());
    let mut found = store.batch_get(wanted).await.expect("batch_get");
    found.sort_by_key(Item::key);
    let mut expected = items;
    expected.sort_by_key(Item::key);
    assert_eq!(found, expected);
    assert!(store.batch_get(Vec::new()).await.expect("empty batch_get").is_empty());
}

/// `batch_write` of many puts and deletes applies them all.
pub async fn batch_write_many_mixed_ops(store: Arc<dyn Store>) {
    let p = unique_prefix("batch_write");
    let pk = format!("{p}#P");
    let item = |i: usize, v: i64| Item::new(&pk, format!("S{i:03}")).with("v", v);
    store.batch_write((0..60).map(|i| WriteOp::Put(item(i, 1))).collect()).await.expect("batch_write puts");

    let mut ops: Vec<WriteOp> = (0..30).map(|i| WriteOp::Delete(item(i, 1).key())).collect();
    ops.extend((30..45).map(|i| WriteOp::Put(item(i, 2))));
    ops.extend((60..80).map(|i| WriteOp::Put(item(i, 3))));
    ops.push(WriteOp::Delete(Key::new(&pk, "never-written")));
    store.batch_write(ops).await.expect("batch_write mixed");

    let expected: Vec<Item> = (30..80)
        .map(|i| {
            item(
                i,
                if i < 45 {
                    2
                } else if i < 60 {
                    1
                } else {
                    3
                },
            )
        })
        .collect();
    let walked = walk_query(&store, Index::Table, &KeyCondition::pk(&pk), Page::forward(100)).await;
    assert_eq!(walked, expected);
}

/// Items whose TTL has passed vanish from get, query and batch reads.
pub async fn ttl_hides_expired_items(store: Arc<dyn Store>) {
    let p = unique_prefix("ttl");
    let (pk, g1, g2) = (format!("{p}#P"), format!("{p}#G1"), format!("{p}#G2"));
    let item = |sk: &str| Item::new(&pk, sk).with_gsi1(&g1, sk).with_gsi2(&g2, sk);
    let expired = item("a-expired").with_ttl(now() - 3600);
    let just_expired = item("b-just-expired").with_ttl(now() - 1);
    let future = item("c-future").with_ttl(now() + 3600);
    let forever = item("d-forever");
    put_all(&store, &[expired.clone(), just_expired.clone(), future.clone(), forever.clone()]).await;

    assert_eq!(store.get(&expired.key()).await.expect("get"), None);
    assert_eq!(store.get(&just_expired.key()).await.expect("get"), None);
    assert_eq!(store.get(&future.key()).await.expect("get"), Some(future.clone()));
    let live = vec![future.clone(), forever.clone()];
    for (index, ipk) in [(Index::Table, &pk), (Index::Gsi1, &g1), (Index::Gsi2, &g2)] {
        let page = store.query(index, KeyCondition::pk(ipk), Page::forward(10)).await.expect("query");
        assert_eq!((page.items, page.last_key), (live.clone(), None), "{index:?}");
    }
    let wanted = vec![expired.key(), just_expired.key(), future.key(), forever.key()];
    let mut found = store.batch_get(wanted).await.expect("batch_get");
    found.sort_by_key(Item::key);
    assert_eq!(found, live);
}

/// Expired items neither fill a page nor make `last_key` claim that more items match.
pub async fn ttl_expired_items_do_not_count_for_last_key(store: Arc<dyn Store>) {
    let p = unique_prefix("ttl_paging");
    let pk = format!("{p}#P");
    let past = now() - 3600;
    let items = [
        Item::new(&pk, "a").with_ttl(past),
        Item::new(&pk, "b"),
        Item::new(&pk, "c").with_ttl(past),
        Item::new(&pk, "d"),
        Item::new(&pk, "e").with_ttl(past),
        Item::new(&pk, "f").with_ttl(past),
    ];
    put_all(&store, &items).await;
    let live = vec![items[1].clone(), items[3].clone()];
    for forward in [true, false] {
        let expected = in_direction(&live, forward);
        let kc = KeyCondition::pk(&pk);
        let page = store.query(Index::Table, kc.clone(), Page { limit: 2, forward, start: None }).await;
        let page = page.expect("query");
        assert_eq!((page.items, page.last_key), (expected.clone(), None), "forward={forward}");
        let walked = walk_query(&store, Index::Table, &kc, Page { limit: 1, forward, start: None }).await;
        assert_eq!(walked, expected, "forward={forward}, pages of 1");
    }
}

/// A full-table scan (the table may hold other cases' items) meets each of ours once.
pub async fn scan_pages_every_item_once(store: Arc<dyn Store>) {
    let p = unique_prefix("scan");
    let items: Vec<Item> = (0..25).map(|i| Item::new(format!("{p}#{}", i % 5), format!("S{i}"))).collect();
    put_all(&store, &items).await;
    store.put(Item::new(format!("{p}#0"), "expired").with_ttl(now() - 3600), Cond::None).await.expect("put");

    let scanned = walk(Page::forward(10), async |page| store.scan(page).await).await;
    let ours: Vec<Item> = scanned.into_iter().filter(|i| i.pk.starts_with(&p)).collect();
    let unique: HashSet<Key> = ours.iter().map(Item::key).collect();
    assert_eq!(unique.len(), ours.len(), "scan returned an item twice");
    assert_eq!(sorted_keys(&ours), sorted_keys(&items));
}

/// Every JSON attribute type survives a write and a read unchanged.
pub async fn attribute_types_round_trip(store: Arc<dyn Store>) {
    let p = unique_prefix("types");
    let attrs = json!({
        "string": "hello",
        "empty": "",
        "unicode": "héllo wörld ✓ 日本語 🎉 \u{0} \"quoted\" \\",
        "int": 42,
        "negative": -7,
        "zero": 0,
        "big": 9_007_199_254_740_993_i64,
        "min": i64::MIN,
        "float": 3.25,
        "tiny": 1.5e-100,
        "precise": 0.001_480_587_874_049_491_9,
        "sum": 0.1 + 0.2,
        "yes": true,
        "no": false,
        "nothing": null,
        "array": [1, "two", null, [3.5, []], {"k": "v"}, false],
        "object": {"a": {"b": [true, {}], "c": ""}, "empty_array": [], "empty_object": {}},
    });
    let Value::Object(attrs) = attrs else { unreachable!("json! object") };
    let item = Item { attrs: attrs.clone(), ..Item::new(format!("{p}#ü🎉"), "sk ✓") };
    store.put(item.clone(), Cond::None).await.expect("put");
    assert_eq!(store.get(&item.key()).await.expect("get"), Some(item.clone()));
    let page = store.query(Index::Table, KeyCondition::pk(&item.pk), Page::forward(10)).await.expect("query");
    assert_eq!(page.items, vec![item.clone()]);

    // The same values written through SET come back identical too.
    let key = Key::new(format!("{p}#set"), "S");
    let update = attrs.iter().fold(Update::new(), |u, (name, value)| u.set(name, value.clone()));
    store.update(&key, update, Cond::None).await.expect("update");
    let expected = Item { attrs, ..Item::new(&key.pk, &key.sk) };
    assert_eq!(store.get(&key).await.expect("get"), Some(expected));
}

// ---------------------------------------------------------------------------------------
// concurrency

const TASKS: i64 = 50;

/// Concurrent ADDs on one item never lose an increment, and each sees a distinct value.
pub async fn concurrent_counter_updates(store: Arc<dyn Store>) {
    let key = Key::new(format!("{}#C", unique_prefix("concurrent_add")), "META");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..TASKS {
        let (store, key) = (store.clone(), key.clone());
        tasks.spawn(async move { store.update(&key, Update::new().add("n", 1), Cond::None).await });
    }
    let mut seen: Vec<i64> =
        tasks.join_all().await.into_iter().map(|r| r.expect("update").int("n").expect("counter")).collect();
    seen.sort();
    assert_eq!(seen, (1..=TASKS).collect::<Vec<_>>(), "values returned by concurrent ADDs");
    assert_eq!(store.get(&key).await.expect("get").and_then(|i| i.int("n")), Some(TASKS));
}

/// The follow pattern: "create the edge if absent, and count it", raced by many callers.
pub async fn concurrent_conditional_transactions(store: Arc<dyn Store>) {
    let p = unique_prefix("concurrent_tx");
    let edge = Item::new(format!("{p}#U1"), "FOLLOWER#u2");
    let counter = Key::new(format!("{p}#U1"), "PROFILE");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..TASKS {
        let ops = vec![
            TxOp::Put { item: edge.clone().with("by", i), cond: Cond::NotExists },
            TxOp::Update {
                key: counter.clone(),
                update: Update::new().add("followers", 1),
                cond: Cond::None,
            },
        ];
        let store = store.clone();
        tasks.spawn(async move { store.transact_write(ops).await });
    }
    let mut won = 0;
    for result in tasks.join_all().await {
        match result {
            Ok(()) => won += 1,
            other => {
                let reasons = cancel_reasons(other, "losing transaction");
                assert_eq!(reasons, vec![Some(CancelReason::ConditionFailed), None]);
            }
        }
    }
    assert_eq!(won, 1, "transactions that created the edge");
    let count = store.get(&counter).await.expect("get").and_then(|i| i.int("followers"));
    assert_eq!(count, Some(1));
    assert!(store.get(&edge.key()).await.expect("get").is_some());
}

/// `ping` succeeds against a working store.
pub async fn ping(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
}
