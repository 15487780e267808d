//! Whether Redis keeps its data across a restart: `INFO persistence` (`aof_enabled`) and
//! `CONFIG GET save` (RDB snapshots). Redis holds the only copy of a queued job until a
//! worker runs it, so `roost serve` asks this at startup (see docs/reliability.md).
//!
//! Managed services often refuse `CONFIG`; then RDB is reported unknown, and only AOF
//! (which `INFO` always shows) counts as proof. In a cluster the answer is one node's.

use fred::prelude::{ClientLike, Value};
use fred::types::{ClusterHash, CustomCommand, InfoKind};
use roost_engines::EngineResult;

use super::connection::Connections;
use super::error::unavailable;
use super::reply;

/// What Redis said about its persistence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Persistence {
    /// The append-only file is on (`aof_enabled:1`).
    pub aof: bool,
    /// RDB snapshots are scheduled (`save` is not empty); `None` when `CONFIG` is refused.
    pub rdb: Option<bool>,
}

impl Persistence {
    /// True when a restart of Redis keeps (all or most of) its data.
    pub fn is_durable(&self) -> bool {
        self.aof || self.rdb == Some(true)
    }
}

pub(super) async fn persistence(c: &Connections) -> EngineResult<Persistence> {
    let info: String = c.pool.next().info(Some(InfoKind::Persistence)).await.map_err(unavailable)?;
    let aof = info.lines().any(|line| line.trim() == "aof_enabled:1");
    let config = CustomCommand::new_static("CONFIG", ClusterHash::Random, false);
    let rdb = match c.pool.next().custom::<Value, _>(config, vec!["GET", "save"]).await {
        // [name, value] (RESP2) or {name: value} (RESP3).
        Ok(value) => reply::pairs("CONFIG", value)?
            .into_iter()
            .next()
            .and_then(|(_, schedule)| schedule.as_string())
            .map(|schedule| !schedule.trim().is_empty()),
        Err(err) => {
            tracing::warn!(%err, "CONFIG GET save refused; only AOF counts as persistence");
            None
        }
    };
    Ok(Persistence { aof, rdb })
}
