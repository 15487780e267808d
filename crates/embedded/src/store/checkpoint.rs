//! The WAL checkpointer: copies committed pages from the write-ahead log back into the
//! database file, on its own connection and schedule, so that no request's commit ever
//! does it (SQLite's default is to checkpoint inside the commit that fills the log).

use std::sync::Weak;
use std::time::Duration;

use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::db::Db;

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Checkpoints the WAL every `CHECKPOINT_EVERY` until the store is dropped (held weakly, as
/// the sweeper is).
pub(super) async fn checkpoint_periodically(db: Weak<Db>) {
    let mut ticks = interval_at(Instant::now() + CHECKPOINT_EVERY, CHECKPOINT_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(db) = db.upgrade() else { return };
        if let Err(err) = db.checkpoint().await {
            tracing::warn!(%err, "WAL checkpoint failed; retrying");
        }
    }
}
