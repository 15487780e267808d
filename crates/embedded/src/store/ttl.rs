//! The TTL sweeper: deletes expired rows, like DynamoDB's TTL process. Reads already skip
//! expired rows, so the sweep only reclaims space and keeps pages of live items dense; it
//! deletes in small batches, each its own write transaction, so that it never holds the
//! writer for long.

use std::sync::{Arc, Weak};
use std::time::Duration;

use roost_engines::EngineResult;
use rusqlite::params;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::db::{unavailable, Db};
use super::rows::now;
use super::write_gate::Lane;

const SWEEP_EVERY: Duration = Duration::from_secs(60);
const BATCH: usize = 500;

/// Sweeps every `SWEEP_EVERY` until the store is dropped. It holds the store weakly, so that
/// dropping the last `SqliteStore` closes the file without waiting for this task.
pub(super) async fn sweep_periodically(db: Weak<Db>) {
    let mut ticks = interval_at(Instant::now() + SWEEP_EVERY, SWEEP_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(db) = db.upgrade() else { return };
        if let Err(err) = purge_expired(&db).await {
            tracing::warn!(%err, "deleting expired items failed; retrying at the next sweep");
        }
    }
}

pub(super) async fn purge_expired(db: &Arc<Db>) -> EngineResult<usize> {
    let now = now();
    let mut total = 0;
    loop {
        let deleted = db
            .write(Lane::Bulk, move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "DELETE FROM items WHERE (pk, sk) IN \
                         (SELECT pk, sk FROM items WHERE ttl <= ?1 LIMIT ?2)",
                    )
                    .map_err(unavailable)?;
                stmt.execute(params![now, BATCH as i64]).map_err(unavailable)
            })
            .await?;
        total += deleted;
        if deleted < BATCH {
            return Ok(total);
        }
    }
}
