//! The metering decorator is transparent: `MeteredStore` over `SqliteStore`, billed by
//! estimate as `roost serve` runs it, passes the same `Store` conformance suite.

use std::sync::Arc;

use roost_embedded::store::SqliteStore;
use roost_engines::conformance::unique_prefix;
use roost_engines::{store_conformance_tests, Billing, MeteredStore, Store};

async fn fresh_store() -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join("roost-metered-conformance");
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let sqlite =
        SqliteStore::open(&dir.join(format!("{}.db", unique_prefix("metered")))).expect("open store");
    Arc::new(MeteredStore::new(Arc::new(sqlite), Billing::Estimated { table: "embedded".into() }))
}

store_conformance_tests!(fresh_store);
