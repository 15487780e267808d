//! The keyspace: every cached key, spread over a few locked shards, with a background task
//! that purges expired keys (modelled on mini-redis's `Db`).
//!
//! Expiry is exact without the task (a shard drops an expired key the moment anyone looks
//! at it); the task only reclaims the memory of keys nobody reads again. Memory is bounded
//! per shard: each gets an equal part of the budget and evicts its least recently used keys
//! beyond it. Keys hash evenly enough that the total stays close to the configured bound.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::Notify;

use super::shard::{Shard, WrongType};
use super::value::{Typed, Value};

/// Enough shards that the service's concurrent requests rarely meet on one lock.
const SHARDS: usize = 16;

pub(super) struct Keyspace {
    shards: Box<[Mutex<Shard>]>,
    /// Picks a key's shard.
    hasher: RandomState,
    /// Each shard's share of the memory bound.
    shard_budget: usize,
    /// Wakes the purge task early: when a key gets a deadline sooner than any it sleeps
    /// towards, and at shutdown.
    purge_wakeup: Notify,
    /// Set when the last cache handle is dropped, so the purge task ends.
    shutdown: AtomicBool,
}

impl Keyspace {
    pub fn new(max_bytes: usize) -> Keyspace {
        Keyspace {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: RandomState::new(),
            shard_budget: max_bytes / SHARDS,
            purge_wakeup: Notify::new(),
            shutdown: AtomicBool::new(false),
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        // The modulo keeps the index below SHARDS, so the cast cannot truncate a valid index.
        self.shards[(self.hasher.hash_one(key) % SHARDS as u64) as usize].lock()
    }

    pub fn read<T: Typed, R>(&self, key: &str, f: impl FnOnce(&T) -> R) -> Result<Option<R>, WrongType> {
        self.shard(key).read(key, Instant::now(), f)
    }

    pub fn write<T: Typed, R>(&self, key: &str, f: impl FnOnce(&mut T) -> R) -> Result<R, WrongType> {
        let mut shard = self.shard(key);
        let result = shard.write(key, Instant::now(), f);
        shard.evict(self.shard_budget);
        result
    }

    /// Changes a live key of type `T` in place under one lock, its TTL kept; `None` (and
    /// nothing created) when the key is missing.
    pub fn write_existing<T: Typed, R>(
        &self,
        key: &str,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<Option<R>, WrongType> {
        let now = Instant::now();
        let mut shard = self.shard(key);
        if !shard.contains(key, now) {
            return Ok(None);
        }
        let result = shard.write(key, now, f)?;
        shard.evict(self.shard_budget);
        Ok(Some(result))
    }

    /// `SET` (or `SET NX` when `only_if_missing`): true when the value was stored.
    pub fn set(&self, key: &str, value: Value, ttl: Option<Duration>, only_if_missing: bool) -> bool {
        let now = Instant::now();
        let expires_at = ttl.map(|ttl| deadline(now, ttl));
        let mut shard = self.shard(key);
        if only_if_missing && shard.contains(key, now) {
            return false;
        }
        let wake = expires_at.is_some_and(|at| shard.next_expiration().is_none_or(|next| at < next));
        shard.set(key, value, expires_at, now);
        shard.evict(self.shard_budget);
        drop(shard);
        if wake {
            self.purge_wakeup.notify_one();
        }
        true
    }

    pub fn remove(&self, key: &str) -> bool {
        self.shard(key).remove(key, Instant::now())
    }

    pub fn contains(&self, key: &str) -> bool {
        self.shard(key).contains(key, Instant::now())
    }

    /// `EXPIRE`: false when there is no such key.
    pub fn expire(&self, key: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        let at = deadline(now, ttl);
        let mut shard = self.shard(key);
        let wake = shard.next_expiration().is_none_or(|next| at < next);
        let found = shard.expire(key, at, now);
        drop(shard);
        if found && wake {
            self.purge_wakeup.notify_one();
        }
        found
    }

    /// Changes a live key of type `T` and gives it a new TTL, under one lock; `None` (and
    /// nothing created) when the key is missing (see `Cache::supdate_if_exists`).
    pub fn write_if_exists<T: Typed, R>(
        &self,
        key: &str,
        ttl: Duration,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<Option<R>, WrongType> {
        let now = Instant::now();
        let at = deadline(now, ttl);
        let mut shard = self.shard(key);
        if !shard.contains(key, now) {
            return Ok(None);
        }
        let result = shard.write(key, now, f)?;
        let wake = shard.next_expiration().is_none_or(|next| at < next);
        // False when `f` emptied (so deleted) the collection: nothing left to expire.
        let found = shard.expire(key, at, now);
        shard.evict(self.shard_budget);
        drop(shard);
        if found && wake {
            self.purge_wakeup.notify_one();
        }
        Ok(Some(result))
    }

    /// A fixed-window counter under the shard's lock (see `Cache::incr_window`).
    pub fn incr_window(&self, key: &str, delta: u64, window: Duration) -> Result<(u64, Duration), WrongType> {
        let now = Instant::now();
        let mut shard = self.shard(key);
        let window_end = deadline(now, window);
        // Checked before the key may add this very deadline; a spare wake-up costs nothing.
        let wake = shard.next_expiration().is_none_or(|next| window_end < next);
        let (count, at) = shard.incr_window(key, delta, window_end, now)?;
        shard.evict(self.shard_budget);
        drop(shard);
        if wake {
            self.purge_wakeup.notify_one();
        }
        Ok((count, at.saturating_duration_since(now)))
    }

    /// Purges every shard; the soonest deadline still ahead.
    fn purge_expired(&self) -> Option<Instant> {
        let now = Instant::now();
        self.shards.iter().filter_map(|shard| shard.lock().purge_expired(now)).min()
    }

    /// Ends the purge task (called when the last cache handle goes).
    pub fn shut_down(&self) {
        self.shutdown.store(true, Ordering::Release);
        // `notify_one` keeps a permit if the task is not waiting yet, so it cannot miss this.
        self.purge_wakeup.notify_one();
    }
}

fn deadline(now: Instant, ttl: Duration) -> Instant {
    // A TTL too large for the clock would never fire anyway; a century is the same.
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    now.checked_add(ttl).unwrap_or(now + CENTURY)
}

/// Sleeps until the next deadline (or a wake-up), purges, repeats until shutdown.
pub(super) async fn purge_expired_keys(keyspace: Arc<Keyspace>) {
    while !keyspace.shutdown.load(Ordering::Acquire) {
        match keyspace.purge_expired() {
            Some(next) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(next.into()) => {}
                    _ = keyspace.purge_wakeup.notified() => {}
                }
            }
            None => keyspace.purge_wakeup.notified().await,
        }
    }
}
