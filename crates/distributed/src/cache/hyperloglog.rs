//! HyperLogLog sketches of distinct elements: `PFADD` and `PFCOUNT`, Redis's own.
//!
//! `PFCOUNT` of several keys counts their union, so it cannot be split per slot as `MGET`
//! is: in a cluster its keys must share a hash tag, which the caller chooses (see
//! `Cache::pfcount`).

use fred::prelude::{HyperloglogInterface, Value};
use roost_engines::EngineResult;

use super::connection::Connections;
use super::error::unavailable;
use super::reply;

pub(super) async fn pfadd(c: &Connections, key: &str, elements: &[String]) -> EngineResult<bool> {
    let value: Value = c.pool.pfadd(key, elements.to_vec()).await.map_err(unavailable)?;
    reply::flag("PFADD", value)
}

pub(super) async fn pfcount(c: &Connections, keys: &[String]) -> EngineResult<u64> {
    if keys.is_empty() {
        return Ok(0);
    }
    let value: Value = c.pool.pfcount(keys.to_vec()).await.map_err(unavailable)?;
    reply::count("PFCOUNT", value)
}
