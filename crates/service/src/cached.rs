//! Cache-aside helpers shared by every use case, and the one policy for cache failures.
//!
//! **Reads:** the cache is never the only copy of anything a read shows, so a cache that
//! fails to answer never fails a read. Single values (profiles, posts, sessions, search
//! answers) count as misses here and the store answers. The structures kept in the cache
//! (home feeds, like sets) are read through their own cached path first; when that path
//! meets [`ServiceError::Unavailable`](crate::ServiceError), the same answer is computed
//! from the store alone (`feed.rs`, `likes.rs`), without touching the cache again. Either
//! way the failure is logged at `warn`.
//!
//! **Writes:** the store is written first; cache updates after a committed write are
//! invalidations or best-effort mirrors, and a failed one is logged (the entry stays stale
//! until its TTL at worst). Writes whose acknowledgement depends on the cache (the job
//! queue behind likes and fan-out) answer 503 when it is down.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

use crate::decoded::DecodeMemo;
use crate::Service;

impl Service {
    pub(crate) async fn cache_get(&self, key: &str) -> Option<Bytes> {
        match self.cache.get(key).await {
            Ok(value) => value,
            Err(err) => {
                tracing::warn!(%err, key, "cache read failed; using the store");
                None
            }
        }
    }

    pub(crate) async fn cache_set(&self, key: &str, value: Bytes, ttl: Duration) {
        if let Err(err) = self.cache.set(key, value, Some(ttl)).await {
            tracing::warn!(%err, key, "cache write failed");
        }
    }

    /// Invalidation. A failure leaves a stale copy until its TTL, which we can only log.
    pub(crate) async fn cache_del(&self, keys: &[String]) {
        if let Err(err) = self.cache.del(keys).await {
            tracing::error!(%err, ?keys, "cache invalidation failed; stale until TTL");
        }
    }

    /// Many values at once (one `MGET`); a cache that fails to answer counts as all misses.
    pub(crate) async fn cache_mget(&self, keys: &[String]) -> Vec<Option<Bytes>> {
        match self.cache.mget(keys).await {
            Ok(values) => values,
            Err(err) => {
                tracing::warn!(%err, "cache read failed; using the store");
                vec![None; keys.len()]
            }
        }
    }

    /// Many JSON values at once; `None` where missing, unreadable or the cache failed.
    pub(crate) async fn cache_mget_json<T: DeserializeOwned>(&self, keys: &[String]) -> Vec<Option<T>> {
        let values = self.cache_mget(keys).await;
        values.into_iter().map(|v| v.and_then(|b| serde_json::from_slice(&b).ok())).collect()
    }

    /// Like [`Self::cache_mget_json`], decoding through `memo`: values whose bytes have been
    /// decoded before are not parsed again.
    pub(crate) async fn cache_mget_memo<T: DeserializeOwned>(
        &self,
        memo: &DecodeMemo<T>,
        keys: &[String],
    ) -> Vec<Option<Arc<T>>> {
        let values = self.cache_mget(keys).await;
        keys.iter().zip(values).map(|(k, v)| v.and_then(|b| memo.decode(k, &b))).collect()
    }

    pub(crate) async fn cache_set_json<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) {
        if let Ok(bytes) = serde_json::to_vec(value) {
            self.cache_set(key, bytes.into(), ttl).await;
        }
    }
}
