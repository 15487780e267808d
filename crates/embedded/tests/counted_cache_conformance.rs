//! The counting decorator is transparent: `CountedCache` over `MemoryCache`, as `roost serve`
//! runs it, passes the same `Cache` conformance suite, and counts one round trip a call.

use std::sync::Arc;

use roost_embedded::cache::{MemoryCache, DEFAULT_MAX_BYTES};
use roost_engines::conformance::unique_prefix;
use roost_engines::usage::count_cache_round_trips;
use roost_engines::{Cache, CountedCache};

async fn fresh_cache() -> Arc<dyn Cache> {
    let path = std::env::temp_dir()
        .join("roost-counted-conformance")
        .join(format!("{}.sqlite", unique_prefix("queue")));
    let memory = MemoryCache::open(&path, DEFAULT_MAX_BYTES).expect("open MemoryCache");
    Arc::new(CountedCache::new(Arc::new(memory)))
}

roost_engines::cache_conformance_tests!(fresh_cache);

#[tokio::test]
async fn every_call_is_one_round_trip_however_many_keys() {
    let cache = fresh_cache().await;
    let keys: Vec<String> = (0..20).map(|i| format!("{}:{i}", unique_prefix("counted"))).collect();
    let (answers, trips) = count_cache_round_trips(async {
        cache.sadd(&keys[0], &["u1".to_string()]).await.unwrap();
        cache.mget(&keys).await.unwrap();
        cache.scard_sismember_many(&keys, "u1").await.unwrap()
    })
    .await;
    assert_eq!(answers[0], (1, true));
    assert_eq!(trips, 3);
}
