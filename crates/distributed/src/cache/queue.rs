//! The durable work queue on Redis Streams with one consumer group per stream.
//!
//! - `XADD stream * payload <bytes>`: Redis picks increasing ids.
//! - `XGROUP CREATE stream group 0 MKSTREAM`; `BUSYGROUP` (it exists) is success, so every
//!   worker can declare its group at start-up.
//! - `XREADGROUP … STREAMS stream >`: new messages only, so each is a first delivery. With a
//!   `block`, the read runs on a dedicated connection (see `connection`) under a deadline
//!   of `block` plus the command timeout.
//! - Ack is `XACK` then `XDEL` of what was acknowledged, in one Lua script: atomic, one
//!   round trip, and an id that was not pending (a stray or repeated ack) is never deleted,
//!   so a message no one has read yet cannot be lost by someone else's mistake.
//! - `XAUTOCLAIM … 0-0 COUNT n` moves messages idle past `min_idle` to the caller; it does
//!   not say how often each was delivered, so a pipelined `XPENDING` per claimed id asks.
//!
//! - `XCLAIM … 0 ids… IDLE ms JUSTID` hands messages back: still pending, but idle as if
//!   delivered `ms` ago, so another worker's `XAUTOCLAIM` takes them at once; `JUSTID`
//!   counts no delivery.
//!
//! Durability is Redis's (AOF or RDB, as the deployment configures it).

use std::time::Duration;

use bytes::Bytes;
use fred::prelude::{ClientLike, LuaInterface, Options, StreamsInterface, Value};
use fred::types::streams::XID;
use roost_engines::{EngineError, EngineResult, QueueMessage};

use super::connection::Connections;
use super::error::{bounded, unavailable, unexpected};
use super::reply;

/// The one field of every entry.
const FIELD: &str = "payload";

/// KEYS[1] = stream, ARGV[1] = group, ARGV[2..] = ids. Deletes exactly the entries it
/// acknowledged and answers how many.
const ACK_AND_DELETE: &str = r#"
local acked = 0
for i = 2, #ARGV do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    acked = acked + 1
  end
end
return acked
"#;

pub(super) async fn xadd(c: &Connections, stream: &str, payload: Bytes) -> EngineResult<String> {
    let value: Value =
        c.pool.xadd(stream, false, None::<()>, XID::Auto, (FIELD, payload)).await.map_err(unavailable)?;
    reply::string("XADD", value)
}

pub(super) async fn xgroup_create(c: &Connections, stream: &str, group: &str) -> EngineResult<()> {
    match c.pool.xgroup_create::<Value, _, _, _>(stream, group, "0", true).await {
        Ok(_) => Ok(()),
        Err(err) if err.details().starts_with("BUSYGROUP") => Ok(()),
        Err(err) => Err(unavailable(err)),
    }
}

pub(super) async fn xreadgroup(
    c: &Connections,
    stream: &str,
    group: &str,
    consumer: &str,
    count: usize,
    block: Duration,
) -> EngineResult<Vec<QueueMessage>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let count = Some(u64::try_from(count).unwrap_or(u64::MAX));
    let value: Value = if block.is_zero() {
        // Without BLOCK the read answers at once, so the shared pool is fine.
        c.pool
            .xreadgroup(group, consumer, count, None, false, stream, XID::NewInGroup)
            .await
            .map_err(unavailable)?
    } else {
        // `BLOCK 0` would mean "forever"; a sub-millisecond wait rounds up to one.
        let block_ms = u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1);
        let deadline = block + c.timeout;
        let connection = c.dedicated(deadline).await?;
        let options = Options { timeout: Some(deadline), ..Options::default() };
        let connection = connection.with_options(&options);
        let read =
            connection.xreadgroup(group, consumer, count, Some(block_ms), false, stream, XID::NewInGroup);
        bounded(deadline, async { read.await.map_err(unavailable) }).await?
    };
    // Shape: nil when nothing came, else one [stream, entries] per stream read (RESP2) or
    // a map stream -> entries (RESP3); we read one stream.
    let mut messages = Vec::new();
    for (_, entries) in streams(value)? {
        for (id, payload) in entries_of("XREADGROUP", entries)? {
            messages.push(QueueMessage { id, payload, deliveries: 1 });
        }
    }
    Ok(messages)
}

pub(super) async fn xack(c: &Connections, stream: &str, group: &str, ids: &[String]) -> EngineResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut args = Vec::with_capacity(ids.len() + 1);
    args.push(group.to_string());
    args.extend(ids.iter().cloned());
    let value: Value = c.pool.eval(ACK_AND_DELETE, stream, args).await.map_err(unavailable)?;
    reply::count("XACK", value)
}

pub(super) async fn xautoclaim(
    c: &Connections,
    stream: &str,
    group: &str,
    consumer: &str,
    min_idle: Duration,
    count: usize,
) -> EngineResult<Vec<QueueMessage>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let min_idle_ms = u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX);
    let count = u64::try_from(count).unwrap_or(u64::MAX);
    let value: Value = c
        .pool
        .xautoclaim(stream, group, consumer, min_idle_ms, "0-0", Some(count), false)
        .await
        .map_err(unavailable)?;
    // [next cursor, claimed entries, ids deleted meanwhile (Redis 7)].
    let mut parts = reply::array("XAUTOCLAIM", value)?.into_iter();
    let claimed = entries_of("XAUTOCLAIM", parts.nth(1).unwrap_or(Value::Null))?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }

    let pipeline = c.pool.next().pipeline();
    for (id, _) in &claimed {
        let () = pipeline
            .xpending(stream, group, (id.as_str(), id.as_str(), 1, consumer))
            .await
            .map_err(unavailable)?;
    }
    let pending = pipeline.try_all::<Value>().await;
    claimed
        .into_iter()
        .zip(pending)
        .map(|((id, payload), pending)| {
            // [[id, consumer, idle ms, deliveries]]; empty if it was acknowledged meanwhile,
            // when it has been delivered at least twice all the same (once, and now).
            let deliveries = reply::array("XPENDING", pending.map_err(unavailable)?)?
                .into_iter()
                .next()
                .map(|entry| {
                    let fields = reply::array("XPENDING", entry)?;
                    fields.into_iter().nth(3).and_then(|d| d.as_u64()).ok_or_else(|| {
                        EngineError::unavailable("redis", "XPENDING entry without a delivery count")
                    })
                })
                .transpose()?
                .unwrap_or(2);
            Ok(QueueMessage { id, payload, deliveries })
        })
        .collect()
}

pub(super) async fn xrange(c: &Connections, stream: &str, count: usize) -> EngineResult<Vec<QueueMessage>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let count = Some(u64::try_from(count).unwrap_or(u64::MAX));
    let value: Value = c.pool.xrange(stream, "-", "+", count).await.map_err(unavailable)?;
    Ok(entries_of("XRANGE", value)?
        .into_iter()
        .map(|(id, payload)| QueueMessage { id, payload, deliveries: 0 })
        .collect())
}

pub(super) async fn xclaim_idle(
    c: &Connections,
    stream: &str,
    group: &str,
    consumer: &str,
    ids: &[String],
    idle: Duration,
) -> EngineResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
    let value: Value = c
        .pool
        .xclaim(stream, group, consumer, 0, ids.to_vec(), Some(idle_ms), None, None, false, true)
        .await
        .map_err(unavailable)?;
    Ok(reply::array("XCLAIM", value)?.len() as u64)
}

pub(super) async fn xdel(c: &Connections, stream: &str, ids: &[String]) -> EngineResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let value: Value = c.pool.xdel(stream, ids.to_vec()).await.map_err(unavailable)?;
    reply::count("XDEL", value)
}

pub(super) async fn xlen(c: &Connections, stream: &str) -> EngineResult<u64> {
    let value: Value = c.pool.xlen(stream).await.map_err(unavailable)?;
    reply::count("XLEN", value)
}

/// The per-stream parts of an `XREAD(GROUP)` reply.
fn streams(value: Value) -> EngineResult<Vec<(Value, Value)>> {
    match value {
        Value::Null => Ok(Vec::new()),
        value => reply::pairs("XREADGROUP", value),
    }
}

/// `[[id, [field, value, …]], …]` as (id, payload). An entry deleted while pending comes
/// back as nil or with nil fields; it has nothing to deliver and is skipped.
fn entries_of(command: &str, entries: Value) -> EngineResult<Vec<(String, Bytes)>> {
    let mut out = Vec::new();
    for entry in reply::array(command, entries)? {
        if entry.is_null() {
            continue;
        }
        let mut parts = reply::array(command, entry)?.into_iter();
        let (Some(id), fields) = (parts.next(), parts.next().unwrap_or(Value::Null)) else {
            return Err(unexpected(command, &Value::Null));
        };
        let id = reply::string(command, id)?;
        if fields.is_null() {
            continue;
        }
        let payload = reply::pairs(command, fields)?
            .into_iter()
            .find(|(field, _)| field.as_str().is_some_and(|f| f == FIELD))
            .map(|(_, value)| reply::optional_bytes(command, value))
            .transpose()?
            .flatten()
            .unwrap_or_default();
        out.push((id, payload));
    }
    Ok(out)
}
