//! Hashes of counters (likes and comments per post, awaiting their sync to the store):
//! `HINCRBY` and `HGETALL`.

use fred::prelude::{HashesInterface, Value};
use roost_engines::EngineResult;

use super::connection::Connections;
use super::error::unavailable;
use super::reply;

pub(super) async fn hincrby(c: &Connections, key: &str, field: &str, delta: i64) -> EngineResult<i64> {
    let value: Value = c.pool.hincrby(key, field, delta).await.map_err(unavailable)?;
    reply::integer("HINCRBY", value)
}

pub(super) async fn hgetall(c: &Connections, key: &str) -> EngineResult<Vec<(String, i64)>> {
    let value: Value = c.pool.hgetall(key).await.map_err(unavailable)?;
    let mut counters = reply::counters("HGETALL", value)?;
    // Redis answers in whatever order its encoding keeps; callers get one they can rely on.
    counters.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(counters)
}
