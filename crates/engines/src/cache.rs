//! `Cache`: the subset of Redis the service needs, named as Redis names it.
//!
//! The cache holds hot copies (profiles, posts, feeds as sorted sets, like sets), carries
//! live events between instances (pub/sub), and feeds the workers (a durable work queue with
//! the semantics of Redis Streams and consumer groups). It is never the only copy of
//! anything except queued jobs, which is why the queue must be durable in every
//! implementation (Redis persistence; in embedded mode a SQLite file).
//!
//! Semantics every implementation must share (the conformance suite checks each):
//! - A key with a TTL is gone once the TTL passes; writing a collection keeps its TTL.
//! - Ranks in `zrevrange`/`zremrangebyrank` follow Redis: 0-based, negative from the end,
//!   `stop` inclusive. Ties in score order by member, as Redis does.
//! - A queue message is delivered to one consumer of a group; it stays pending until
//!   `xack`, and `xautoclaim` hands messages idle longer than `min_idle` to another
//!   consumer. Acknowledged messages are deleted (Roost uses one group per stream).

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

use crate::error::EngineResult;

/// Messages published on a channel, from the moment of `subscribe` on.
pub type Subscription = Pin<Box<dyn Stream<Item = Bytes> + Send>>;

/// One job read from a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueMessage {
    /// Stream entry id; ids of one stream increase in the order of `xadd`.
    pub id: String,
    /// The job as `xadd` received it.
    pub payload: Bytes,
    /// How many times the message was delivered (1 the first time).
    pub deliveries: u64,
}

/// `Cache`: hot copies, pub/sub and a durable work queue, with Redis's semantics.
#[async_trait]
pub trait Cache: Send + Sync + 'static {
    // --- strings ---
    /// `GET`: `None` when the key is missing or expired.
    async fn get(&self, key: &str) -> EngineResult<Option<Bytes>>;
    /// `MGET`: one answer per key, in order.
    async fn mget(&self, keys: &[String]) -> EngineResult<Vec<Option<Bytes>>>;
    /// `SET key value [EX ttl]`.
    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> EngineResult<()>;
    /// `SET key value NX [EX ttl]`: true when the key was set.
    async fn set_nx(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> EngineResult<bool>;
    /// `DEL`: how many keys existed.
    async fn del(&self, keys: &[String]) -> EngineResult<u64>;
    /// `EXISTS` for one key.
    async fn exists(&self, key: &str) -> EngineResult<bool>;
    /// `EXPIRE`: false when the key does not exist.
    async fn expire(&self, key: &str, ttl: Duration) -> EngineResult<bool>;
    /// A fixed-window counter, atomically: `INCRBY key delta`, then `PEXPIRE key window`
    /// if the key has no TTL yet (it was just created). Answers the new count and the time
    /// left before the key, and so the window, expires. `delta` 0 reads the count (and
    /// opens a window if none is running). Rate limits count with it across instances.
    async fn incr_window(&self, key: &str, delta: u64, window: Duration) -> EngineResult<(u64, Duration)>;

    // --- sorted sets ---
    /// `ZADD key score member ...`: how many members were new.
    async fn zadd(&self, key: &str, members: &[(f64, String)]) -> EngineResult<u64>;
    /// `ZINCRBY`: the member's new score.
    async fn zincrby(&self, key: &str, delta: f64, member: &str) -> EngineResult<f64>;
    /// `ZREM`: how many members were removed.
    async fn zrem(&self, key: &str, members: &[String]) -> EngineResult<u64>;
    /// `ZSCORE`: `None` when the key or the member is missing.
    async fn zscore(&self, key: &str, member: &str) -> EngineResult<Option<f64>>;
    /// `ZCARD`: 0 for a missing key.
    async fn zcard(&self, key: &str) -> EngineResult<u64>;
    /// `ZREVRANGE key start stop WITHSCORES`: highest score first.
    async fn zrevrange(&self, key: &str, start: i64, stop: i64) -> EngineResult<Vec<(String, f64)>>;
    /// `ZREVRANGEBYSCORE key max min LIMIT 0 limit WITHSCORES`; `max_exclusive` writes `(max`.
    async fn zrevrangebyscore(
        &self,
        key: &str,
        max: f64,
        max_exclusive: bool,
        min: f64,
        limit: usize,
    ) -> EngineResult<Vec<(String, f64)>>;
    /// `ZREMRANGEBYRANK`: ranks in ascending score order; how many were removed.
    async fn zremrangebyrank(&self, key: &str, start: i64, stop: i64) -> EngineResult<u64>;
    /// For each of `keys` that has `marker` as a member, atomically: `ZADD key score member`,
    /// then `ZREMRANGEBYRANK key 0 -(keep + 1)` (the `keep` highest members stay); keys
    /// without the marker, missing ones included, are left alone. Answers how many keys were
    /// written. One round trip: in Redis a pipeline of one small Lua script per key, so the
    /// keys need not share a hash slot, and a set cannot lose its marker between the check
    /// and the write. Fan-out pushes a post into a page of complete cached feeds with it.
    async fn zadd_capped_if_marked(
        &self,
        keys: &[String],
        marker: &str,
        score: f64,
        member: &str,
        keep: u64,
    ) -> EngineResult<u64>;

    // --- sets ---
    /// `SADD`: how many members were new.
    async fn sadd(&self, key: &str, members: &[String]) -> EngineResult<u64>;
    /// `SREM`: how many members were removed.
    async fn srem(&self, key: &str, members: &[String]) -> EngineResult<u64>;
    /// `SISMEMBER`.
    async fn sismember(&self, key: &str, member: &str) -> EngineResult<bool>;
    /// `SCARD`: 0 for a missing key.
    async fn scard(&self, key: &str) -> EngineResult<u64>;
    /// `SMEMBERS`, in no particular order.
    async fn smembers(&self, key: &str) -> EngineResult<Vec<String>>;
    /// `SCARD` of many keys in one round trip (a pipeline in Redis).
    async fn scard_many(&self, keys: &[String]) -> EngineResult<Vec<u64>>;
    /// `SISMEMBER` of many (key, member) pairs in one round trip (a pipeline in Redis).
    async fn sismember_many(&self, pairs: &[(String, String)]) -> EngineResult<Vec<bool>>;
    /// `SCARD key` and `SISMEMBER key member` of each key, in one round trip (a pipeline in
    /// Redis): a page of posts' like counts and whether the reader likes each.
    async fn scard_sismember_many(&self, keys: &[String], member: &str) -> EngineResult<Vec<(u64, bool)>>;
    /// Atomically, and only when `key` exists: `SADD key member` (`present`) or
    /// `SREM key member`, then `PEXPIRE key ttl`; a missing key stays missing. Answers `None`
    /// for a missing key, else whether the member changed and the set's new `SCARD`. A small
    /// Lua script in Redis: a set that expires between a check and a write cannot come back
    /// without the members it was loaded with, and a set in use never expires.
    async fn supdate_if_exists(
        &self,
        key: &str,
        member: &str,
        present: bool,
        ttl: Duration,
    ) -> EngineResult<Option<(bool, u64)>>;

    // --- hashes ---
    /// `HINCRBY`: the field's new value.
    async fn hincrby(&self, key: &str, field: &str, delta: i64) -> EngineResult<i64>;
    /// `HGETALL` of a hash of counters, in no particular order.
    async fn hgetall(&self, key: &str) -> EngineResult<Vec<(String, i64)>>;

    // --- HyperLogLog ---
    /// `PFADD key element ...`: true when the sketch changed (a register moved, or the key
    /// was created), as Redis answers 1. Elements themselves are never stored, only the
    /// registers their hashes touch.
    async fn pfadd(&self, key: &str, elements: &[String]) -> EngineResult<bool>;
    /// `PFCOUNT key ...`: the estimated number of distinct elements added to the union of
    /// the keys (a missing key is empty), with Redis's standard error of 0.81% (2^14
    /// registers). Several keys must share a hash slot on Redis Cluster.
    async fn pfcount(&self, keys: &[String]) -> EngineResult<u64>;

    // --- pub/sub ---
    /// `PUBLISH`: delivered to the channel's current subscribers, not stored.
    async fn publish(&self, channel: &str, message: Bytes) -> EngineResult<()>;
    /// `SUBSCRIBE`: the messages published on `channel` from now on.
    async fn subscribe(&self, channel: &str) -> EngineResult<Subscription>;

    // --- durable work queue (streams + consumer groups) ---
    /// `XADD stream * payload`: the new entry's id.
    async fn xadd(&self, stream: &str, payload: Bytes) -> EngineResult<String>;
    /// `XGROUP CREATE stream group 0 MKSTREAM`, doing nothing when the group exists.
    async fn xgroup_create(&self, stream: &str, group: &str) -> EngineResult<()>;
    /// `XREADGROUP GROUP group consumer COUNT count BLOCK block STREAMS stream >`: new
    /// messages only, waiting up to `block` when there are none.
    async fn xreadgroup(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> EngineResult<Vec<QueueMessage>>;
    /// `XACK` (and delete): how many were pending.
    async fn xack(&self, stream: &str, group: &str, ids: &[String]) -> EngineResult<u64>;
    /// `XAUTOCLAIM stream group consumer min_idle 0 COUNT count`: messages pending longer
    /// than `min_idle` with any consumer, now owned by `consumer`.
    async fn xautoclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> EngineResult<Vec<QueueMessage>>;
    /// `XCLAIM stream group consumer 0 ids... IDLE idle JUSTID`: the pending messages among
    /// `ids` now owned by `consumer` and idle for `idle`, as if delivered that long ago, so
    /// that a claim with a smaller `min_idle` takes them at once; no delivery is counted.
    /// How many were pending.
    async fn xclaim_idle(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
        idle: Duration,
    ) -> EngineResult<u64>;
    /// `XRANGE stream - + COUNT count`: the oldest entries, delivered or not, in id order
    /// (`deliveries` is 0: a range read delivers nothing).
    async fn xrange(&self, stream: &str, count: usize) -> EngineResult<Vec<QueueMessage>>;
    /// `XDEL`: removes entries whatever their state; how many existed.
    async fn xdel(&self, stream: &str, ids: &[String]) -> EngineResult<u64>;
    /// `XLEN`: entries not yet acknowledged, delivered or not (the queue's depth, for
    /// metrics and tests).
    async fn xlen(&self, stream: &str) -> EngineResult<u64>;

    /// Whether the engine answers (for `/readyz`).
    async fn ping(&self) -> EngineResult<()>;
}
