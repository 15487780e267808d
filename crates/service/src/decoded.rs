//! A process-local memo of decoded cache values, so that a hot post or profile is parsed
//! from JSON once rather than on every page that shows it.
//!
//! It is a memo, not a second cache: every read still asks the shared cache (which stays
//! the one place that says what is current), and a memoised value is used only when the
//! bytes the cache answered are exactly the bytes it was decoded from. An edit, a delete
//! or another instance's write therefore shows at once; what is saved is only the parse
//! (profiling put JSON decoding of cached posts and profiles at a quarter of a feed
//! page's CPU).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::de::DeserializeOwned;

/// Shards, so that concurrent requests rarely wait on one another's lookups.
const SHARDS: usize = 16;

/// One shard: each key's value and the cache bytes it was decoded from.
type Shard<T> = Mutex<HashMap<String, (Bytes, Arc<T>), foldhash::fast::RandomState>>;

pub(crate) struct DecodeMemo<T> {
    shards: Box<[Shard<T>]>,
    /// Entries a shard holds before it is emptied and starts over: a crude bound, but the
    /// memo only ever saves work, and the hot entries come straight back.
    shard_capacity: usize,
    hasher: foldhash::fast::RandomState,
}

impl<T: DeserializeOwned> DecodeMemo<T> {
    /// A memo of at most `capacity` values.
    pub(crate) fn new(capacity: usize) -> DecodeMemo<T> {
        DecodeMemo {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            shard_capacity: capacity.div_ceil(SHARDS).max(1),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// The value the cache's `bytes` under `key` encode; `None` if they are not valid JSON
    /// of `T` (treated by callers as a miss).
    pub(crate) fn decode(&self, key: &str, bytes: &Bytes) -> Option<Arc<T>> {
        let shard = &self.shards[self.hasher.hash_one(key) as usize % SHARDS];
        if let Some((seen, value)) = lock(shard).get(key) {
            if seen == bytes {
                return Some(value.clone());
            }
        }
        let value = Arc::new(serde_json::from_slice::<T>(bytes).ok()?);
        let mut map = lock(shard);
        if map.len() >= self.shard_capacity {
            map.clear();
        }
        map.insert(key.to_string(), (bytes.clone(), value.clone()));
        Some(value)
    }
}

/// A panic while the map was held cannot leave it half-updated in a way that matters here.
fn lock<M>(m: &Mutex<M>) -> std::sync::MutexGuard<'_, M> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_once_and_follows_changed_bytes() {
        let memo: DecodeMemo<Vec<u32>> = DecodeMemo::new(64);
        let first = memo.decode("k", &Bytes::from_static(b"[1,2]")).unwrap();
        let again = memo.decode("k", &Bytes::from_static(b"[1,2]")).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the same bytes are not parsed twice");
        let changed = memo.decode("k", &Bytes::from_static(b"[3]")).unwrap();
        assert_eq!(*changed, vec![3]);
        assert!(memo.decode("k", &Bytes::from_static(b"not json")).is_none());
        assert_eq!(*memo.decode("k", &Bytes::from_static(b"[3]")).unwrap(), vec![3]);
    }

    #[test]
    fn stays_within_its_capacity() {
        let memo: DecodeMemo<u32> = DecodeMemo::new(32);
        for i in 0..1000u32 {
            memo.decode(&format!("k{i}"), &Bytes::from(i.to_string())).unwrap();
        }
        let held: usize = memo.shards.iter().map(|s| lock(s).len()).sum();
        assert!(held <= 32 + SHARDS, "{held} entries");
    }
}
