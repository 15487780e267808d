//! Sets (who liked a post, who is online): `SADD`, `SREM`, `SISMEMBER`, `SCARD`,
//! `SMEMBERS`, their many-key forms, and a script that changes a set only while it exists.
//!
//! `scard_many` and `scard_sismember_many` (a page of posts' like sets) are one script per
//! hash slot (`slots::eval_per_slot`): one command on a single node, however many keys.
//! `sismember_many` is one pipeline: each command in it names one key, so in a cluster fred
//! sends each to the node that owns that key and the keys need not share a hash slot.

use std::time::Duration;

use fred::prelude::{LuaInterface, SetsInterface, Value};
use roost_engines::EngineResult;

use super::connection::Connections;
use super::error::{unavailable, unexpected};
use super::strings::millis;
use super::{reply, slots};

/// KEYS[1] = set, ARGV[1] = "1" to add or "0" to remove, ARGV[2] = member, ARGV[3] = TTL in
/// ms. Nil for a missing set (left missing), else {changed, SCARD}: one script, so the set
/// cannot expire between the check and the write.
const UPDATE_IF_EXISTS: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local changed
if ARGV[1] == '1' then
  changed = redis.call('SADD', KEYS[1], ARGV[2])
else
  changed = redis.call('SREM', KEYS[1], ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {changed, redis.call('SCARD', KEYS[1])}
"#;

/// KEYS = sets. {SCARD of each}.
const SCARD_MANY: &str = r#"
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('SCARD', key) end
return out
"#;

/// KEYS = sets, ARGV[1] = member. {SCARD, SISMEMBER} of each set, flattened.
const SCARD_SISMEMBER_MANY: &str = r#"
local out = {}
for _, key in ipairs(KEYS) do
  out[#out + 1] = redis.call('SCARD', key)
  out[#out + 1] = redis.call('SISMEMBER', key, ARGV[1])
end
return out
"#;

pub(super) async fn sadd(c: &Connections, key: &str, members: &[String]) -> EngineResult<u64> {
    if members.is_empty() {
        return Ok(0);
    }
    let value: Value = c.pool.sadd(key, members.to_vec()).await.map_err(unavailable)?;
    reply::count("SADD", value)
}

pub(super) async fn srem(c: &Connections, key: &str, members: &[String]) -> EngineResult<u64> {
    if members.is_empty() {
        return Ok(0);
    }
    let value: Value = c.pool.srem(key, members.to_vec()).await.map_err(unavailable)?;
    reply::count("SREM", value)
}

pub(super) async fn sismember(c: &Connections, key: &str, member: &str) -> EngineResult<bool> {
    let value: Value = c.pool.sismember(key, member).await.map_err(unavailable)?;
    reply::flag("SISMEMBER", value)
}

pub(super) async fn scard(c: &Connections, key: &str) -> EngineResult<u64> {
    let value: Value = c.pool.scard(key).await.map_err(unavailable)?;
    reply::count("SCARD", value)
}

pub(super) async fn smembers(c: &Connections, key: &str) -> EngineResult<Vec<String>> {
    let value: Value = c.pool.smembers(key).await.map_err(unavailable)?;
    let mut members = reply::strings("SMEMBERS", value)?;
    // Redis answers in hash order, which differs between runs; sorted is reproducible.
    members.sort_unstable();
    Ok(members)
}

pub(super) async fn scard_many(c: &Connections, keys: &[String]) -> EngineResult<Vec<u64>> {
    let mut out = vec![0; keys.len()];
    for (group, answer) in slots::eval_per_slot(c, SCARD_MANY, keys, &[]).await? {
        let counts = reply::array("SCARD_MANY", answer)?;
        if counts.len() != group.positions.len() {
            return Err(unexpected("SCARD_MANY", &Value::Array(counts)));
        }
        for (&position, count) in group.positions.iter().zip(counts) {
            out[position] = reply::count("SCARD_MANY", count)?;
        }
    }
    Ok(out)
}

pub(super) async fn sismember_many(c: &Connections, pairs: &[(String, String)]) -> EngineResult<Vec<bool>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let pipeline = c.pool.next().pipeline();
    for (key, member) in pairs {
        let () = pipeline.sismember(key.as_str(), member.as_str()).await.map_err(unavailable)?;
    }
    pipeline
        .try_all::<Value>()
        .await
        .into_iter()
        .map(|r| reply::flag("SISMEMBER", r.map_err(unavailable)?))
        .collect()
}

pub(super) async fn scard_sismember_many(
    c: &Connections,
    keys: &[String],
    member: &str,
) -> EngineResult<Vec<(u64, bool)>> {
    let mut out = vec![(0, false); keys.len()];
    for (group, answer) in slots::eval_per_slot(c, SCARD_SISMEMBER_MANY, keys, &[member]).await? {
        let replies = reply::array("SCARD_SISMEMBER_MANY", answer)?;
        if replies.len() != 2 * group.positions.len() {
            return Err(unexpected("SCARD_SISMEMBER_MANY", &Value::Array(replies)));
        }
        let mut replies = replies.into_iter();
        let pairs = std::iter::from_fn(|| Some((replies.next()?, replies.next()?)));
        for (&position, (card, flag)) in group.positions.iter().zip(pairs) {
            out[position] =
                (reply::count("SCARD_SISMEMBER_MANY", card)?, reply::flag("SCARD_SISMEMBER_MANY", flag)?);
        }
    }
    Ok(out)
}

pub(super) async fn supdate_if_exists(
    c: &Connections,
    key: &str,
    member: &str,
    present: bool,
    ttl: Duration,
) -> EngineResult<Option<(bool, u64)>> {
    let args = vec![if present { "1" } else { "0" }.to_string(), member.to_string(), millis(ttl).to_string()];
    let value: Value = c.pool.eval(UPDATE_IF_EXISTS, key, args).await.map_err(unavailable)?;
    if value.is_null() {
        return Ok(None);
    }
    let [changed, card] = <[Value; 2]>::try_from(reply::array("SUPDATE", value)?)
        .map_err(|values| unexpected("SUPDATE", &Value::Array(values)))?;
    Ok(Some((reply::count("SUPDATE", changed)? == 1, reply::count("SUPDATE", card)?)))
}
