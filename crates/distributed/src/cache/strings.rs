//! String keys: `GET`, `MGET`, `SET [NX] [PX]`, `DEL`, `EXISTS`, `PEXPIRE`, and the
//! fixed-window counter (`INCRBY` + `PEXPIRE` in one Lua script).
//!
//! TTLs go out in milliseconds (`PX`, `PEXPIRE`) so that a sub-second TTL means what it
//! says instead of being rounded to a whole second.

use std::time::Duration;

use bytes::Bytes;
use fred::prelude::{Expiration, KeysInterface, LuaInterface, SetOptions, Value};
use roost_engines::EngineResult;

use super::connection::Connections;
use super::error::unavailable;
use super::reply;
use super::slots;

pub(super) async fn get(c: &Connections, key: &str) -> EngineResult<Option<Bytes>> {
    let value: Value = c.pool.get(key).await.map_err(unavailable)?;
    reply::optional_bytes("GET", value)
}

pub(super) async fn mget(c: &Connections, keys: &[String]) -> EngineResult<Vec<Option<Bytes>>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let groups = slots::group(keys, c.cluster);
    let pipeline = c.pool.next().pipeline();
    for group in &groups {
        let () = pipeline.mget(group.keys.clone()).await.map_err(unavailable)?;
    }
    let mut out = vec![None; keys.len()];
    for (group, result) in groups.iter().zip(pipeline.try_all::<Value>().await) {
        let values = reply::array("MGET", result.map_err(unavailable)?)?;
        if values.len() != group.positions.len() {
            return Err(super::error::unexpected("MGET", &Value::Array(values)));
        }
        for (&position, value) in group.positions.iter().zip(values) {
            out[position] = reply::optional_bytes("MGET", value)?;
        }
    }
    Ok(out)
}

pub(super) async fn set(c: &Connections, key: &str, value: Bytes, ttl: Option<Duration>) -> EngineResult<()> {
    let _: Value = c.pool.set(key, value, ttl.map(px), None, false).await.map_err(unavailable)?;
    Ok(())
}

pub(super) async fn set_nx(
    c: &Connections,
    key: &str,
    value: Bytes,
    ttl: Option<Duration>,
) -> EngineResult<bool> {
    // `SET … NX` answers OK when it wrote and nil when the key existed.
    let reply: Value =
        c.pool.set(key, value, ttl.map(px), Some(SetOptions::NX), false).await.map_err(unavailable)?;
    Ok(!reply.is_null())
}

pub(super) async fn del(c: &Connections, keys: &[String]) -> EngineResult<u64> {
    if keys.is_empty() {
        return Ok(0);
    }
    let pipeline = c.pool.next().pipeline();
    for group in slots::group(keys, c.cluster) {
        let () = pipeline.del(group.keys).await.map_err(unavailable)?;
    }
    let mut deleted = 0;
    for result in pipeline.try_all::<Value>().await {
        deleted += reply::count("DEL", result.map_err(unavailable)?)?;
    }
    Ok(deleted)
}

pub(super) async fn exists(c: &Connections, key: &str) -> EngineResult<bool> {
    let value: Value = c.pool.exists(key).await.map_err(unavailable)?;
    Ok(reply::count("EXISTS", value)? > 0)
}

pub(super) async fn expire(c: &Connections, key: &str, ttl: Duration) -> EngineResult<bool> {
    let value: Value = c.pool.pexpire(key, millis(ttl), None).await.map_err(unavailable)?;
    reply::flag("PEXPIRE", value)
}

/// KEYS[1] = counter, ARGV[1] = delta, ARGV[2] = window in ms. A script, so no other
/// client's increment can land between the `INCRBY` and the `PEXPIRE` (a counter left
/// without a TTL would block its subject forever). Answers {count, ms left}.
const INCR_WINDOW: &str = r#"
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  left = tonumber(ARGV[2])
end
return {n, left}
"#;

pub(super) async fn incr_window(
    c: &Connections,
    key: &str,
    delta: u64,
    window: Duration,
) -> EngineResult<(u64, Duration)> {
    let args = vec![delta.to_string(), millis(window).to_string()];
    let value: Value = c.pool.eval(INCR_WINDOW, key, args).await.map_err(unavailable)?;
    let reply = reply::array("INCR_WINDOW", value)?;
    let [count, left] = <[Value; 2]>::try_from(reply)
        .map_err(|values| super::error::unexpected("INCR_WINDOW", &Value::Array(values)))?;
    let count = reply::count("INCR_WINDOW", count)?;
    let left = u64::try_from(reply::integer("INCR_WINDOW", left)?).unwrap_or(0);
    Ok((count, Duration::from_millis(left)))
}

fn px(ttl: Duration) -> Expiration {
    Expiration::PX(millis(ttl))
}

/// Whole milliseconds, rounded up: Redis refuses `PX 0`, and a TTL shorter than a
/// millisecond still means "almost at once", not "never".
pub(super) fn millis(ttl: Duration) -> i64 {
    let ms = ttl.as_nanos().div_ceil(1_000_000).max(1);
    i64::try_from(ms).unwrap_or(i64::MAX)
}
