//! The TTL sweeper: deletes expired rows, like DynamoDB's TTL process. Reads already skip
//! expired rows, so the sweep only reclaims space and keeps pages of live items dense.
//!
//! It walks the whole table in key order, a page of keys at a time on a reader connection,
//! and deletes the expired ones of each page in a small write transaction. No index on
//! `ttl`: that would be a second B-tree entry for every expiring row (mostly feed entries,
//! the bulk of the file) to save a walk that runs a few times an hour, off the writer.
//! Like DynamoDB's, deletion is late by up to a sweep.

use std::sync::{Arc, Weak};
use std::time::Duration;

use roost_engines::EngineResult;
use rusqlite::{params, Connection};
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::db::{unavailable, Db};
use super::rows::now;
use super::write_gate::Lane;

const SWEEP_EVERY: Duration = Duration::from_secs(15 * 60);
/// Keys read per step of the walk.
const BATCH: usize = 1000;

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

/// One walk over the table; returns how many expired rows it deleted.
pub(super) async fn purge_expired(db: &Arc<Db>) -> EngineResult<usize> {
    let now = now();
    let mut after: Option<(String, String)> = None;
    let mut total = 0;
    loop {
        let (expired, last) = db.read(move |conn| expired_keys(conn, after, now)).await?;
        if !expired.is_empty() {
            total += db
                .write(Lane::Bulk, move |tx| {
                    // Re-checked: a put since the read may have given the key a new life.
                    let mut stmt = tx
                        .prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2 AND ttl <= ?3")
                        .map_err(unavailable)?;
                    expired.iter().try_fold(0, |n, (pk, sk)| {
                        Ok(n + stmt.execute(params![pk, sk, now]).map_err(unavailable)?)
                    })
                })
                .await?;
        }
        match last {
            Some(last) => after = Some(last),
            None => return Ok(total),
        }
    }
}

/// The expired keys among the `BATCH` keys after `after`, and the last key read (None at
/// the end of the table).
type Step = (Vec<(String, String)>, Option<(String, String)>);

fn expired_keys(conn: &Connection, after: Option<(String, String)>, now: i64) -> EngineResult<Step> {
    let (pk, sk) = after.unwrap_or_default();
    let mut stmt = conn
        .prepare_cached(
            "SELECT pk, sk, ttl <= ?3 FROM items WHERE (pk, sk) > (?1, ?2) ORDER BY pk, sk LIMIT ?4",
        )
        .map_err(unavailable)?;
    let rows = stmt
        .query_map(params![pk, sk, now, BATCH as i64], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, Option<bool>>(2)?))
        })
        .map_err(unavailable)?;
    let (mut expired, mut last, mut read) = (Vec::new(), None, 0);
    for row in rows {
        let (pk, sk, is_expired) = row.map_err(unavailable)?;
        read += 1;
        if is_expired == Some(true) {
            expired.push((pk.clone(), sk.clone()));
        }
        last = Some((pk, sk));
    }
    Ok((expired, if read < BATCH { None } else { last }))
}
