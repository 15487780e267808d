//! `MemoryCache`: the `Cache` of the embedded mode, in process (after mini-redis's `Db`).
//!
//! Hot data lives in a memory-bounded `keyspace` that evicts least recently used keys,
//! which is safe because the service never relies on a cached key staying. Pub/sub is
//! in-process broadcast. The work queue is the exception to "only a cache": jobs must
//! survive a crash, so it lives in a SQLite file (`queue`).

#[cfg(test)]
mod accounting;
mod footprint;
mod hyperloglog;
mod keyspace;
mod pubsub;
mod queue;
mod shard;
mod sorted_set;
mod value;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use roost_engines::{Cache, EngineError, EngineResult, QueueMessage, Subscription};

use keyspace::Keyspace;
use pubsub::PubSub;
use queue::Queue;
use shard::WrongType;
use value::{Hash, HyperLogLog, Set, SortedSet, Value};

/// The default memory bound of the keyspace.
pub const DEFAULT_MAX_BYTES: usize = 256 << 20;

/// A handle to one in-process cache; clones share it.
#[derive(Clone)]
pub struct MemoryCache {
    shared: Arc<Shared>,
}

struct Shared {
    /// Strings, sorted sets, sets and hashes, with TTLs and a memory bound. In an `Arc` of
    /// its own because the purge task holds it too.
    keyspace: Arc<Keyspace>,
    /// In an `Arc` of its own so that subscriptions can unregister themselves on drop.
    pubsub: Arc<PubSub>,
    /// The durable streams.
    queue: Queue,
}

impl Drop for Shared {
    /// The last handle is gone: stop the purge task, which would otherwise keep the
    /// keyspace alive.
    fn drop(&mut self) {
        self.keyspace.shut_down();
    }
}

impl MemoryCache {
    /// A cache whose keys hold at most about `max_bytes` of heap (see [`DEFAULT_MAX_BYTES`]
    /// and `footprint.rs`), with its queue in the SQLite file `queue_path` (created if
    /// missing, reopened with its jobs otherwise). Must be called inside a tokio runtime,
    /// which runs the expiry task.
    pub fn open(queue_path: &Path, max_bytes: usize) -> EngineResult<MemoryCache> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| EngineError::Invalid("MemoryCache::open needs a tokio runtime".into()))?;
        let queue = Queue::open(queue_path)?;
        let keyspace = Arc::new(Keyspace::new(max_bytes));
        runtime.spawn(keyspace::purge_expired_keys(Arc::clone(&keyspace)));
        Ok(MemoryCache { shared: Arc::new(Shared { keyspace, pubsub: Arc::default(), queue }) })
    }

    fn keys(&self) -> &Keyspace {
        &self.shared.keyspace
    }
}

impl From<WrongType> for EngineError {
    fn from(_: WrongType) -> Self {
        EngineError::Invalid("WRONGTYPE Operation against a key holding the wrong kind of value".into())
    }
}

/// Redis refuses NaN scores; letting one in would break the sorted order.
fn score(score: f64) -> EngineResult<f64> {
    if score.is_nan() {
        return Err(EngineError::Invalid("ERR score is not a valid float".into()));
    }
    Ok(score)
}

fn count(n: usize) -> u64 {
    n as u64
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> EngineResult<Option<Bytes>> {
        Ok(self.keys().read(key, Bytes::clone)?)
    }

    async fn mget(&self, keys: &[String]) -> EngineResult<Vec<Option<Bytes>>> {
        // As in Redis, a key of another type reads as missing rather than failing the lot.
        Ok(keys.iter().map(|key| self.keys().read(key, Bytes::clone).ok().flatten()).collect())
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> EngineResult<()> {
        self.keys().set(key, Value::String(value), ttl, false);
        Ok(())
    }

    async fn set_nx(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> EngineResult<bool> {
        Ok(self.keys().set(key, Value::String(value), ttl, true))
    }

    async fn del(&self, keys: &[String]) -> EngineResult<u64> {
        Ok(count(keys.iter().filter(|key| self.keys().remove(key)).count()))
    }

    async fn exists(&self, key: &str) -> EngineResult<bool> {
        Ok(self.keys().contains(key))
    }

    async fn expire(&self, key: &str, ttl: Duration) -> EngineResult<bool> {
        Ok(self.keys().expire(key, ttl))
    }

    async fn incr_window(&self, key: &str, delta: u64, window: Duration) -> EngineResult<(u64, Duration)> {
        Ok(self.keys().incr_window(key, delta, window)?)
    }

    async fn zadd(&self, key: &str, members: &[(f64, String)]) -> EngineResult<u64> {
        for (s, _) in members {
            score(*s)?;
        }
        let added = self.keys().write(key, |set: &mut SortedSet| {
            members.iter().filter(|(score, member)| set.insert(member, *score)).count()
        })?;
        Ok(count(added))
    }

    async fn zincrby(&self, key: &str, delta: f64, member: &str) -> EngineResult<f64> {
        score(delta)?;
        self.keys().write(key, |set: &mut SortedSet| {
            // inf + -inf is NaN: refuse it and leave the member as it was.
            let new = score(set.score(member).unwrap_or(0.0) + delta)?;
            set.insert(member, new);
            Ok(new)
        })?
    }

    async fn zrem(&self, key: &str, members: &[String]) -> EngineResult<u64> {
        let removed =
            self.keys().write(key, |set: &mut SortedSet| members.iter().filter(|m| set.remove(m)).count())?;
        Ok(count(removed))
    }

    async fn zscore(&self, key: &str, member: &str) -> EngineResult<Option<f64>> {
        Ok(self.keys().read(key, |set: &SortedSet| set.score(member))?.flatten())
    }

    async fn zcard(&self, key: &str) -> EngineResult<u64> {
        Ok(count(self.keys().read(key, SortedSet::len)?.unwrap_or(0)))
    }

    async fn zrevrange(&self, key: &str, start: i64, stop: i64) -> EngineResult<Vec<(String, f64)>> {
        Ok(self.keys().read(key, |set: &SortedSet| set.rev_range(start, stop))?.unwrap_or_default())
    }

    async fn zrevrangebyscore(
        &self,
        key: &str,
        max: f64,
        max_exclusive: bool,
        min: f64,
        limit: usize,
    ) -> EngineResult<Vec<(String, f64)>> {
        let (max, min) = (score(max)?, score(min)?);
        let range = |set: &SortedSet| set.rev_range_by_score(max, max_exclusive, min, limit);
        Ok(self.keys().read(key, range)?.unwrap_or_default())
    }

    async fn zremrangebyrank(&self, key: &str, start: i64, stop: i64) -> EngineResult<u64> {
        Ok(self.keys().write(key, |set: &mut SortedSet| set.remove_range_by_rank(start, stop))?)
    }

    async fn zadd_capped_if_marked(
        &self,
        keys: &[String],
        marker: &str,
        score: f64,
        member: &str,
        keep: u64,
    ) -> EngineResult<u64> {
        self::score(score)?;
        let stop = -(keep as i64) - 1;
        let mut written = 0;
        for key in keys {
            let push = |set: &mut SortedSet| {
                let marked = set.score(marker).is_some();
                if marked {
                    set.insert(member, score);
                    set.remove_range_by_rank(0, stop);
                }
                marked
            };
            written += u64::from(self.keys().write_existing(key, push)? == Some(true));
        }
        Ok(written)
    }

    async fn sadd(&self, key: &str, members: &[String]) -> EngineResult<u64> {
        let added =
            self.keys().write(key, |set: &mut Set| members.iter().filter(|m| set.insert(m)).count())?;
        Ok(count(added))
    }

    async fn srem(&self, key: &str, members: &[String]) -> EngineResult<u64> {
        let removed =
            self.keys().write(key, |set: &mut Set| members.iter().filter(|m| set.remove(m)).count())?;
        Ok(count(removed))
    }

    async fn sismember(&self, key: &str, member: &str) -> EngineResult<bool> {
        Ok(self.keys().read(key, |set: &Set| set.members.contains(member))?.unwrap_or(false))
    }

    async fn scard(&self, key: &str) -> EngineResult<u64> {
        Ok(count(self.keys().read(key, |set: &Set| set.members.len())?.unwrap_or(0)))
    }

    async fn smembers(&self, key: &str) -> EngineResult<Vec<String>> {
        Ok(self.keys().read(key, |set: &Set| set.members.iter().cloned().collect())?.unwrap_or_default())
    }

    // The many-key forms read each key once and directly: calling `scard` and `sismember`
    // through the trait boxed two futures and took two shard locks per key, a tenth of a
    // feed page's CPU.
    async fn scard_many(&self, keys: &[String]) -> EngineResult<Vec<u64>> {
        let space = self.keys();
        keys.iter()
            .map(|key| Ok(count(space.read(key, |set: &Set| set.members.len())?.unwrap_or(0))))
            .collect()
    }

    async fn sismember_many(&self, pairs: &[(String, String)]) -> EngineResult<Vec<bool>> {
        let space = self.keys();
        pairs
            .iter()
            .map(|(key, member)| {
                Ok(space.read(key, |set: &Set| set.members.contains(member))?.unwrap_or(false))
            })
            .collect()
    }

    async fn scard_sismember_many(&self, keys: &[String], member: &str) -> EngineResult<Vec<(u64, bool)>> {
        let space = self.keys();
        keys.iter()
            .map(|key| {
                let answer =
                    space.read(key, |set: &Set| (count(set.members.len()), set.members.contains(member)))?;
                Ok(answer.unwrap_or((0, false)))
            })
            .collect()
    }

    async fn supdate_if_exists(
        &self,
        key: &str,
        member: &str,
        present: bool,
        ttl: Duration,
    ) -> EngineResult<Option<(bool, u64)>> {
        Ok(self.keys().write_if_exists(key, ttl, |set: &mut Set| {
            let changed = if present { set.insert(member) } else { set.remove(member) };
            (changed, count(set.members.len()))
        })?)
    }

    async fn hincrby(&self, key: &str, field: &str, delta: i64) -> EngineResult<i64> {
        self.keys()
            .write(key, |hash: &mut Hash| hash.incr(field, delta))?
            .ok_or_else(|| EngineError::Invalid("ERR increment or decrement would overflow".into()))
    }

    async fn hgetall(&self, key: &str) -> EngineResult<Vec<(String, i64)>> {
        let all = |hash: &Hash| hash.fields.iter().map(|(field, value)| (field.clone(), *value)).collect();
        Ok(self.keys().read(key, all)?.unwrap_or_default())
    }

    async fn pfadd(&self, key: &str, elements: &[String]) -> EngineResult<bool> {
        // Redis answers 1 for a key it creates, even with no element; only an empty PFADD
        // can tell, and a race with another creator only changes which of the two says so.
        let created = !self.keys().contains(key);
        let moved = self.keys().write(key, |hll: &mut HyperLogLog| {
            elements.iter().fold(false, |moved, element| hll.add(element.as_bytes()) | moved)
        })?;
        Ok(moved || created)
    }

    async fn pfcount(&self, keys: &[String]) -> EngineResult<u64> {
        if let [key] = keys {
            return Ok(self.keys().read(key, HyperLogLog::count)?.unwrap_or(0));
        }
        let mut union = HyperLogLog::default();
        for key in keys {
            self.keys().read(key, |hll: &HyperLogLog| union.merge(hll))?;
        }
        Ok(union.count())
    }

    async fn publish(&self, channel: &str, message: Bytes) -> EngineResult<()> {
        self.shared.pubsub.publish(channel, message);
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> EngineResult<Subscription> {
        Ok(self.shared.pubsub.subscribe(channel))
    }

    async fn xadd(&self, stream: &str, payload: Bytes) -> EngineResult<String> {
        self.shared.queue.xadd(stream, payload).await
    }

    async fn xgroup_create(&self, stream: &str, group: &str) -> EngineResult<()> {
        self.shared.queue.xgroup_create(stream, group).await
    }

    async fn xreadgroup(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> EngineResult<Vec<QueueMessage>> {
        self.shared.queue.xreadgroup(stream, group, consumer, count, block).await
    }

    async fn xack(&self, stream: &str, group: &str, ids: &[String]) -> EngineResult<u64> {
        self.shared.queue.xack(stream, group, ids).await
    }

    async fn xautoclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> EngineResult<Vec<QueueMessage>> {
        self.shared.queue.xautoclaim(stream, group, consumer, min_idle, count).await
    }

    async fn xclaim_idle(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
        idle: Duration,
    ) -> EngineResult<u64> {
        self.shared.queue.xclaim_idle(stream, group, consumer, ids, idle).await
    }

    async fn xrange(&self, stream: &str, count: usize) -> EngineResult<Vec<QueueMessage>> {
        self.shared.queue.xrange(stream, count).await
    }

    async fn xdel(&self, stream: &str, ids: &[String]) -> EngineResult<u64> {
        self.shared.queue.xdel(stream, ids).await
    }

    async fn xlen(&self, stream: &str) -> EngineResult<u64> {
        self.shared.queue.xlen(stream).await
    }

    async fn ping(&self) -> EngineResult<()> {
        self.shared.queue.ping().await
    }
}
