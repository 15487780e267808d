//! Sorted sets (feeds, trending, autocomplete): `ZADD`, `ZINCRBY`, `ZREM`, `ZSCORE`,
//! `ZCARD`, `ZREVRANGE`, `ZREVRANGEBYSCORE`, `ZREMRANGEBYRANK`. Ranks, inclusive stops and
//! tie order are Redis's own, so there is nothing to translate. `zadd_capped_if_marked` (a
//! fan-out's page of followers' feeds) is one script per hash slot (`slots::eval_per_slot`).

use fred::prelude::{SortedSetsInterface, Value};
use fred::types::sorted_sets::{ZRange, ZRangeBound, ZRangeKind};
use roost_engines::{EngineError, EngineResult};

use super::connection::Connections;
use super::error::unavailable;
use super::{reply, slots};

pub(super) async fn zadd(c: &Connections, key: &str, members: &[(f64, String)]) -> EngineResult<u64> {
    if members.is_empty() {
        return Ok(0);
    }
    let values: Vec<(f64, Value)> =
        members.iter().map(|(score, member)| (*score, Value::from(member.as_str()))).collect();
    let value: Value = c.pool.zadd(key, None, None, false, false, values).await.map_err(unavailable)?;
    reply::count("ZADD", value)
}

pub(super) async fn zincrby(c: &Connections, key: &str, delta: f64, member: &str) -> EngineResult<f64> {
    let value: Value = c.pool.zincrby(key, delta, member).await.map_err(unavailable)?;
    reply::score("ZINCRBY", value)
}

pub(super) async fn zrem(c: &Connections, key: &str, members: &[String]) -> EngineResult<u64> {
    if members.is_empty() {
        return Ok(0);
    }
    let value: Value = c.pool.zrem(key, members.to_vec()).await.map_err(unavailable)?;
    reply::count("ZREM", value)
}

pub(super) async fn zscore(c: &Connections, key: &str, member: &str) -> EngineResult<Option<f64>> {
    let value: Value = c.pool.zscore(key, member).await.map_err(unavailable)?;
    reply::optional_score("ZSCORE", value)
}

pub(super) async fn zcard(c: &Connections, key: &str) -> EngineResult<u64> {
    let value: Value = c.pool.zcard(key).await.map_err(unavailable)?;
    reply::count("ZCARD", value)
}

pub(super) async fn zrevrange(
    c: &Connections,
    key: &str,
    start: i64,
    stop: i64,
) -> EngineResult<Vec<(String, f64)>> {
    let value: Value = c.pool.zrevrange(key, start, stop, true).await.map_err(unavailable)?;
    reply::scored_members("ZREVRANGE", value)
}

pub(super) async fn zrevrangebyscore(
    c: &Connections,
    key: &str,
    max: f64,
    max_exclusive: bool,
    min: f64,
    limit: usize,
) -> EngineResult<Vec<(String, f64)>> {
    let kind = if max_exclusive { ZRangeKind::Exclusive } else { ZRangeKind::Inclusive };
    let max = ZRange { kind, range: bound(max)? };
    let min = ZRange { kind: ZRangeKind::Inclusive, range: bound(min)? };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let value: Value =
        c.pool.zrevrangebyscore(key, max, min, true, Some((0, limit))).await.map_err(unavailable)?;
    reply::scored_members("ZREVRANGEBYSCORE", value)
}

pub(super) async fn zremrangebyrank(c: &Connections, key: &str, start: i64, stop: i64) -> EngineResult<u64> {
    let value: Value = c.pool.zremrangebyrank(key, start, stop).await.map_err(unavailable)?;
    reply::count("ZREMRANGEBYRANK", value)
}

/// KEYS = sorted sets, ARGV[1] = marker, ARGV[2] = score, ARGV[3] = member, ARGV[4] =
/// members to keep. How many sets had the marker (and were written).
const ZADD_CAPPED_IF_MARKED: &str = r#"
local written = 0
for _, key in ipairs(KEYS) do
  if redis.call('ZSCORE', key, ARGV[1]) then
    redis.call('ZADD', key, ARGV[2], ARGV[3])
    redis.call('ZREMRANGEBYRANK', key, 0, -tonumber(ARGV[4]) - 1)
    written = written + 1
  end
end
return written
"#;

pub(super) async fn zadd_capped_if_marked(
    c: &Connections,
    keys: &[String],
    marker: &str,
    score: f64,
    member: &str,
    keep: u64,
) -> EngineResult<u64> {
    if score.is_nan() {
        return Err(EngineError::Invalid("ERR score is not a valid float".into()));
    }
    if keys.is_empty() {
        return Ok(0);
    }
    let (score, keep) = (score.to_string(), keep.to_string());
    let args = [marker, score.as_str(), member, keep.as_str()];
    let mut written = 0;
    for (_, answer) in slots::eval_per_slot(c, ZADD_CAPPED_IF_MARKED, keys, &args).await? {
        written += reply::count("ZADD_CAPPED_IF_MARKED", answer)?;
    }
    Ok(written)
}

fn bound(score: f64) -> EngineResult<ZRangeBound> {
    ZRangeBound::try_from(score).map_err(|_| EngineError::Invalid("a score range bound cannot be NaN".into()))
}
