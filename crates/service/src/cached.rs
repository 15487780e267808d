//! Cache-aside helpers shared by every use case.
//!
//! The cache is never the only copy of anything, so a cache that fails to answer is
//! treated as a miss (logged, and the store answers) rather than failing the request.

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
