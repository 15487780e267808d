//! The counting decorator over any [`Cache`]: every call is one round trip to the cache (a
//! pipeline or a script is one, as on Redis), counted for the request or job in progress
//! (`usage::count_cache_round_trips`). Written once above both engines; the binary wraps
//! whichever cache it opened, so the figure is the same for the embedded cache (where a
//! call is a lock, not a network trip) and for Redis, and shows what a deployment on Redis
//! would pay.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::cache::{Cache, QueueMessage, Subscription};
use crate::error::EngineResult;
use crate::usage::cache_round_trip;

/// A cache that counts every call to the cache it wraps.
pub struct CountedCache {
    inner: Arc<dyn Cache>,
}

impl CountedCache {
    /// Counts the calls made to `inner`.
    pub fn new(inner: Arc<dyn Cache>) -> Self {
        Self { inner }
    }

    /// The wrapped cache, counted: each use of it is one round trip.
    fn trip(&self) -> &dyn Cache {
        cache_round_trip();
        self.inner.as_ref()
    }
}

#[async_trait]
impl Cache for CountedCache {
    async fn get(&self, key: &str) -> EngineResult<Option<Bytes>> {
        self.trip().get(key).await
    }
    async fn mget(&self, keys: &[String]) -> EngineResult<Vec<Option<Bytes>>> {
        self.trip().mget(keys).await
    }
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> EngineResult<()> {
        self.trip().set(key, value, ttl).await
    }
    async fn set_nx(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> EngineResult<bool> {
        self.trip().set_nx(key, value, ttl).await
    }
    async fn del(&self, keys: &[String]) -> EngineResult<u64> {
        self.trip().del(keys).await
    }
    async fn exists(&self, key: &str) -> EngineResult<bool> {
        self.trip().exists(key).await
    }
    async fn expire(&self, key: &str, ttl: Duration) -> EngineResult<bool> {
        self.trip().expire(key, ttl).await
    }
    async fn incr_window(&self, key: &str, delta: u64, window: Duration) -> EngineResult<(u64, Duration)> {
        self.trip().incr_window(key, delta, window).await
    }
    async fn zadd(&self, key: &str, members: &[(f64, String)]) -> EngineResult<u64> {
        self.trip().zadd(key, members).await
    }
    async fn zincrby(&self, key: &str, delta: f64, member: &str) -> EngineResult<f64> {
        self.trip().zincrby(key, delta, member).await
    }
    async fn zrem(&self, key: &str, members: &[String]) -> EngineResult<u64> {
        self.trip().zrem(key, members).await
    }
    async fn zscore(&self, key: &str, member: &str) -> EngineResult<Option<f64>> {
        self.trip().zscore(key, member).await
    }
    async fn zcard(&self, key: &str) -> EngineResult<u64> {
        self.trip().zcard(key).await
    }
    async fn zrevrange(&self, key: &str, start: i64, stop: i64) -> EngineResult<Vec<(String, f64)>> {
        self.trip().zrevrange(key, start, stop).await
    }
    async fn zrevrangebyscore(
        &self,
        key: &str,
        max: f64,
        max_exclusive: bool,
        min: f64,
        limit: usize,
    ) -> EngineResult<Vec<(String, f64)>> {
        self.trip().zrevrangebyscore(key, max, max_exclusive, min, limit).await
    }
    async fn zremrangebyrank(&self, key: &str, start: i64, stop: i64) -> EngineResult<u64> {
        self.trip().zremrangebyrank(key, start, stop).await
    }
    async fn zadd_capped_if_marked(
        &self,
        keys: &[String],
        marker: &str,
        score: f64,
        member: &str,
        keep: u64,
    ) -> EngineResult<u64> {
        self.trip().zadd_capped_if_marked(keys, marker, score, member, keep).await
    }
    async fn sadd(&self, key: &str, members: &[String]) -> EngineResult<u64> {
        self.trip().sadd(key, members).await
    }
    async fn srem(&self, key: &str, members: &[String]) -> EngineResult<u64> {
        self.trip().srem(key, members).await
    }
    async fn sismember(&self, key: &str, member: &str) -> EngineResult<bool> {
        self.trip().sismember(key, member).await
    }
    async fn scard(&self, key: &str) -> EngineResult<u64> {
        self.trip().scard(key).await
    }
    async fn smembers(&self, key: &str) -> EngineResult<Vec<String>> {
        self.trip().smembers(key).await
    }
    async fn scard_many(&self, keys: &[String]) -> EngineResult<Vec<u64>> {
        self.trip().scard_many(keys).await
    }
    async fn sismember_many(&self, pairs: &[(String, String)]) -> EngineResult<Vec<bool>> {
        self.trip().sismember_many(pairs).await
    }
    async fn scard_sismember_many(&self, keys: &[String], member: &str) -> EngineResult<Vec<(u64, bool)>> {
        self.trip().scard_sismember_many(keys, member).await
    }
    async fn supdate_if_exists(
        &self,
        key: &str,
        member: &str,
        present: bool,
        ttl: Duration,
    ) -> EngineResult<Option<(bool, u64)>> {
        self.trip().supdate_if_exists(key, member, present, ttl).await
    }
    async fn hincrby(&self, key: &str, field: &str, delta: i64) -> EngineResult<i64> {
        self.trip().hincrby(key, field, delta).await
    }
    async fn hgetall(&self, key: &str) -> EngineResult<Vec<(String, i64)>> {
        self.trip().hgetall(key).await
    }
    async fn pfadd(&self, key: &str, elements: &[String]) -> EngineResult<bool> {
        self.trip().pfadd(key, elements).await
    }
    async fn pfcount(&self, keys: &[String]) -> EngineResult<u64> {
        self.trip().pfcount(keys).await
    }
    async fn publish(&self, channel: &str, message: Bytes) -> EngineResult<()> {
        self.trip().publish(channel, message).await
    }
    async fn subscribe(&self, channel: &str) -> EngineResult<Subscription> {
        self.trip().subscribe(channel).await
    }
    async fn xadd(&self, stream: &str, payload: Bytes) -> EngineResult<String> {
        self.trip().xadd(stream, payload).await
    }
    async fn xgroup_create(&self, stream: &str, group: &str) -> EngineResult<()> {
        self.trip().xgroup_create(stream, group).await
    }
    async fn xreadgroup(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> EngineResult<Vec<QueueMessage>> {
        self.trip().xreadgroup(stream, group, consumer, count, block).await
    }
    async fn xack(&self, stream: &str, group: &str, ids: &[String]) -> EngineResult<u64> {
        self.trip().xack(stream, group, ids).await
    }
    async fn xautoclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> EngineResult<Vec<QueueMessage>> {
        self.trip().xautoclaim(stream, group, consumer, min_idle, count).await
    }
    async fn xclaim_idle(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
        idle: Duration,
    ) -> EngineResult<u64> {
        self.trip().xclaim_idle(stream, group, consumer, ids, idle).await
    }
    async fn xrange(&self, stream: &str, count: usize) -> EngineResult<Vec<QueueMessage>> {
        self.trip().xrange(stream, count).await
    }
    async fn xdel(&self, stream: &str, ids: &[String]) -> EngineResult<u64> {
        self.trip().xdel(stream, ids).await
    }
    async fn xlen(&self, stream: &str) -> EngineResult<u64> {
        self.trip().xlen(stream).await
    }
    async fn ping(&self) -> EngineResult<()> {
        self.trip().ping().await
    }
}
