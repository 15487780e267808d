//! `RedisCache`: the `Cache` engine on Redis, one node or Redis Cluster, over TCP or TLS.
//!
//! # Client: fred
//! We use `fred` (10.x) rather than redis-rs. Both are maintained and both speak Cluster
//! and TLS; the difference is how much of this engine comes ready-made. fred has connection
//! pools, reconnection with backoff, a subscriber client that re-issues its subscriptions
//! after a reconnect, a per-command timeout that also covers waiting for a reconnect,
//! pipelines whose commands are routed one by one to the node owning each key (so a
//! pipeline may span slots), and a pool of exclusively checked-out connections for blocking
//! reads. With redis-rs (`ConnectionManager`, `cluster_async`) we would assemble the pool,
//! the blocking connections and the resubscription ourselves.
//!
//! # Connections
//! One `RedisCache` holds a pool for ordinary commands, a few dedicated connections for
//! blocking queue reads, and one subscriber connection (see `connection` and `pubsub`).
//! Clones share them; the last clone dropped closes them.
//!
//! # Keys in a cluster
//! Every command this engine sends names one key (the queue's ack script included), except
//! `mget`/`del` of several keys, which it splits per hash slot itself (`slots`), and
//! `pfcount` of several keys, whose union cannot be split: the caller gives those keys one
//! hash tag. The pipelines of `scard_many`, `sismember_many` and `scard_sismember_many` hold one single-key command
//! per key, and fred routes each to its node. So no other call needs its keys to share a
//! slot, and the service needs no other hash tags for correctness. Its convention is still to brace the owning id
//! (`feed:{uid}`, `likes:{pid}`): all keys of one entity then live on one node, which keeps
//! a future multi-key script or transaction over them possible. Never brace anything shared
//! by many entities (`{feed}:uid`): that would put every such key in one slot, on one node.
//!
//! # Failures and deadlines
//! Every call runs under `RedisConfig::command_timeout` (a blocking read under its `block`
//! plus that), enforced by fred per command and by us around the whole call. Whatever goes
//! wrong with Redis or the way to it is `EngineError::Unavailable { engine: "redis", .. }`;
//! only configuration that can never work (a bad URL, no root certificates) is `Invalid`.
//! After a few such failures in a row, every call fails at once until a background `PING`
//! is answered (`breaker`), so a Redis that is away costs a request nothing but a fallback.

mod breaker;
mod config;
mod connection;
mod error;
mod hashes;
mod hyperloglog;
mod persistence;
mod pubsub;
mod queue;
mod reply;
mod server_stats;
mod sets;
mod slots;
mod sorted_sets;
mod strings;
mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use fred::prelude::ClientLike;
use roost_engines::{Cache, EngineResult, QueueMessage, Subscription};

pub use config::RedisConfig;
pub use persistence::Persistence;

use breaker::Breaker;
use connection::Connections;
use error::{bounded, unavailable};
use pubsub::PubSub;

/// The `Cache` on Redis. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct RedisCache {
    connections: Arc<Connections>,
    pubsub: Arc<PubSub>,
    breaker: Arc<Breaker>,
}

impl RedisCache {
    /// Connects every client (pool, blocking connections, subscriber) before returning, so
    /// a wrong URL, password or certificate fails here rather than on the first request.
    pub async fn connect(config: RedisConfig) -> EngineResult<Self> {
        let builder = config.builder()?;
        let connections = Connections::connect(&config, &builder).await?;
        let pubsub = PubSub::connect(&builder, config.connect_timeout).await?;
        let breaker = Arc::new(Breaker::new(config.command_timeout));
        Ok(RedisCache { connections: Arc::new(connections), pubsub: Arc::new(pubsub), breaker })
    }

    /// Whether this Redis keeps its data across a restart (see `persistence`).
    pub async fn persistence(&self) -> EngineResult<Persistence> {
        self.run(persistence::persistence(&self.connections)).await
    }

    async fn run<T>(&self, call: impl Future<Output = EngineResult<T>>) -> EngineResult<T> {
        // fred's futures take kilobytes. Boxed once here, the layers above (deadline,
        // breaker, the trait's own box) move a pointer; unboxed, each copied the whole
        // future, and those copies were 13% of a Redis-backed feed page's CPU.
        self.guarded(bounded(self.connections.timeout, Box::pin(call))).await
    }

    /// Runs `call` through the circuit breaker, whose probe pings on these connections for
    /// as long as the cache exists.
    async fn guarded<T>(&self, call: impl Future<Output = EngineResult<T>>) -> EngineResult<T> {
        let connections = Arc::downgrade(&self.connections);
        let probe = move || {
            let connections = connections.upgrade()?;
            Some(async move { bounded(connections.timeout, ping(&connections)).await })
        };
        self.breaker.call(call, probe).await
    }
}

async fn ping(connections: &Connections) -> EngineResult<()> {
    let _: fred::prelude::Value = connections.pool.ping(None).await.map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> EngineResult<Option<Bytes>> {
        self.run(strings::get(&self.connections, key)).await
    }

    async fn mget(&self, keys: &[String]) -> EngineResult<Vec<Option<Bytes>>> {
        self.run(strings::mget(&self.connections, keys)).await
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> EngineResult<()> {
        self.run(strings::set(&self.connections, key, value, ttl)).await
    }

    async fn set_nx(&self, key: &str, value: Bytes, ttl: Option<Duration>) -> EngineResult<bool> {
        self.run(strings::set_nx(&self.connections, key, value, ttl)).await
    }

    async fn del(&self, keys: &[String]) -> EngineResult<u64> {
        self.run(strings::del(&self.connections, keys)).await
    }

    async fn exists(&self, key: &str) -> EngineResult<bool> {
        self.run(strings::exists(&self.connections, key)).await
    }

    async fn expire(&self, key: &str, ttl: Duration) -> EngineResult<bool> {
        self.run(strings::expire(&self.connections, key, ttl)).await
    }

    async fn incr_window(&self, key: &str, delta: u64, window: Duration) -> EngineResult<(u64, Duration)> {
        self.run(strings::incr_window(&self.connections, key, delta, window)).await
    }

    async fn zadd(&self, key: &str, members: &[(f64, String)]) -> EngineResult<u64> {
        self.run(sorted_sets::zadd(&self.connections, key, members)).await
    }

    async fn zincrby(&self, key: &str, delta: f64, member: &str) -> EngineResult<f64> {
        self.run(sorted_sets::zincrby(&self.connections, key, delta, member)).await
    }

    async fn zrem(&self, key: &str, members: &[String]) -> EngineResult<u64> {
        self.run(sorted_sets::zrem(&self.connections, key, members)).await
    }

    async fn zscore(&self, key: &str, member: &str) -> EngineResult<Option<f64>> {
        self.run(sorted_sets::zscore(&self.connections, key, member)).await
    }

    async fn zcard(&self, key: &str) -> EngineResult<u64> {
        self.run(sorted_sets::zcard(&self.connections, key)).await
    }

    async fn zrevrange(&self, key: &str, start: i64, stop: i64) -> EngineResult<Vec<(String, f64)>> {
        self.run(sorted_sets::zrevrange(&self.connections, key, start, stop)).await
    }

    async fn zrevrangebyscore(
        &self,
        key: &str,
        max: f64,
        max_exclusive: bool,
        min: f64,
        limit: usize,
    ) -> EngineResult<Vec<(String, f64)>> {
        self.run(sorted_sets::zrevrangebyscore(&self.connections, key, max, max_exclusive, min, limit)).await
    }

    async fn zremrangebyrank(&self, key: &str, start: i64, stop: i64) -> EngineResult<u64> {
        self.run(sorted_sets::zremrangebyrank(&self.connections, key, start, stop)).await
    }

    async fn zadd_capped_if_marked(
        &self,
        keys: &[String],
        marker: &str,
        score: f64,
        member: &str,
        keep: u64,
    ) -> EngineResult<u64> {
        self.run(sorted_sets::zadd_capped_if_marked(&self.connections, keys, marker, score, member, keep))
            .await
    }

    async fn sadd(&self, key: &str, members: &[String]) -> EngineResult<u64> {
        self.run(sets::sadd(&self.connections, key, members)).await
    }

    async fn srem(&self, key: &str, members: &[String]) -> EngineResult<u64> {
        self.run(sets::srem(&self.connections, key, members)).await
    }

    async fn sismember(&self, key: &str, member: &str) -> EngineResult<bool> {
        self.run(sets::sismember(&self.connections, key, member)).await
    }

    async fn scard(&self, key: &str) -> EngineResult<u64> {
        self.run(sets::scard(&self.connections, key)).await
    }

    async fn smembers(&self, key: &str) -> EngineResult<Vec<String>> {
        self.run(sets::smembers(&self.connections, key)).await
    }

    async fn scard_many(&self, keys: &[String]) -> EngineResult<Vec<u64>> {
        self.run(sets::scard_many(&self.connections, keys)).await
    }

    async fn sismember_many(&self, pairs: &[(String, String)]) -> EngineResult<Vec<bool>> {
        self.run(sets::sismember_many(&self.connections, pairs)).await
    }

    async fn scard_sismember_many(&self, keys: &[String], member: &str) -> EngineResult<Vec<(u64, bool)>> {
        self.run(sets::scard_sismember_many(&self.connections, keys, member)).await
    }

    async fn supdate_if_exists(
        &self,
        key: &str,
        member: &str,
        present: bool,
        ttl: Duration,
    ) -> EngineResult<Option<(bool, u64)>> {
        self.run(sets::supdate_if_exists(&self.connections, key, member, present, ttl)).await
    }

    async fn hincrby(&self, key: &str, field: &str, delta: i64) -> EngineResult<i64> {
        self.run(hashes::hincrby(&self.connections, key, field, delta)).await
    }

    async fn hgetall(&self, key: &str) -> EngineResult<Vec<(String, i64)>> {
        self.run(hashes::hgetall(&self.connections, key)).await
    }

    async fn pfadd(&self, key: &str, elements: &[String]) -> EngineResult<bool> {
        self.run(hyperloglog::pfadd(&self.connections, key, elements)).await
    }

    async fn pfcount(&self, keys: &[String]) -> EngineResult<u64> {
        self.run(hyperloglog::pfcount(&self.connections, keys)).await
    }

    async fn publish(&self, channel: &str, message: Bytes) -> EngineResult<()> {
        self.run(async {
            use fred::prelude::PubsubInterface;
            let _: fred::prelude::Value =
                self.connections.pool.next().publish(channel, message).await.map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn subscribe(&self, channel: &str) -> EngineResult<Subscription> {
        self.run(self.pubsub.subscribe(channel)).await
    }

    async fn xadd(&self, stream: &str, payload: Bytes) -> EngineResult<String> {
        self.run(queue::xadd(&self.connections, stream, payload)).await
    }

    async fn xgroup_create(&self, stream: &str, group: &str) -> EngineResult<()> {
        self.run(queue::xgroup_create(&self.connections, stream, group)).await
    }

    async fn xreadgroup(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> EngineResult<Vec<QueueMessage>> {
        // Bounded inside, by `block` plus the command timeout (and the wait for a
        // dedicated connection by the same).
        self.guarded(queue::xreadgroup(&self.connections, stream, group, consumer, count, block)).await
    }

    async fn xack(&self, stream: &str, group: &str, ids: &[String]) -> EngineResult<u64> {
        self.run(queue::xack(&self.connections, stream, group, ids)).await
    }

    async fn xautoclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> EngineResult<Vec<QueueMessage>> {
        self.run(queue::xautoclaim(&self.connections, stream, group, consumer, min_idle, count)).await
    }

    async fn xclaim_idle(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
        idle: Duration,
    ) -> EngineResult<u64> {
        self.run(queue::xclaim_idle(&self.connections, stream, group, consumer, ids, idle)).await
    }

    async fn xrange(&self, stream: &str, count: usize) -> EngineResult<Vec<QueueMessage>> {
        self.run(queue::xrange(&self.connections, stream, count)).await
    }

    async fn xdel(&self, stream: &str, ids: &[String]) -> EngineResult<u64> {
        self.run(queue::xdel(&self.connections, stream, ids)).await
    }

    async fn xlen(&self, stream: &str) -> EngineResult<u64> {
        self.run(queue::xlen(&self.connections, stream)).await
    }

    async fn ping(&self) -> EngineResult<()> {
        self.run(ping(&self.connections)).await
    }
}
