//! The WAL checkpointer: copies committed pages from the write-ahead log back into the
//! database file, on its own connection and schedule, so that no request's commit ever
//! does it (SQLite's default is to checkpoint inside the commit that fills the log).

use std::sync::Weak;
use std::time::Duration;

use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::db::Db;

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// The log's size (in 4 KiB pages) past which a checkpoint empties it even though readers
/// must be waited for: 64 MiB, a few seconds of the heaviest writing.
const WAL_RESET_FRAMES: i64 = 16 * 1024;

/// Checkpoints the WAL every `CHECKPOINT_EVERY` until the store is dropped (held weakly, as
/// the sweeper is).
pub(super) async fn checkpoint_periodically(db: Weak<Db>) {
    let mut ticks = interval_at(Instant::now() + CHECKPOINT_EVERY, CHECKPOINT_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(db) = db.upgrade() else { return };
        if let Err(err) = db.checkpoint(WAL_RESET_FRAMES).await {
            tracing::warn!(%err, "WAL checkpoint failed; retrying");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::super::db::Db;

    /// Readers that never pause starve a passive checkpoint's reset; past the threshold the
    /// log must still be emptied, with the readers still running.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_is_emptied_under_constant_reads() {
        let dir = std::env::temp_dir().join(format!("roost-checkpoint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Arc::new(Db::open(&dir.join("t.db")).unwrap());
        db.disable_autocheckpoint().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..8)
            .map(|_| {
                let (db, stop) = (db.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        db.read(|c| {
                            c.query_row("SELECT sum(length(attrs || sk)) FROM items", [], |r| {
                                r.get::<_, Option<i64>>(0)
                            })
                            .map_err(super::super::db::unavailable)
                        })
                        .await
                        .unwrap();
                    }
                })
            })
            .collect();
        let mut peak = 0;
        for round in 0..40 {
            db.write(super::super::write_gate::Lane::Bulk, move |c| {
                for i in 0..200 {
                    c.execute(
                        "INSERT INTO items (pk, sk, attrs) VALUES (?1, ?2, '{}')",
                        (format!("p{round}"), format!("s{i:04}{}", "x".repeat(200))),
                    )
                    .map_err(super::super::db::unavailable)?;
                }
                Ok(())
            })
            .await
            .unwrap();
            peak = peak.max(db.checkpoint(100).await.unwrap());
        }
        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            reader.await.unwrap();
        }
        assert!(peak < 100, "the log reached {peak} frames after a checkpoint");
        let wal = std::fs::metadata(dir.join("t.db-wal")).map(|m| m.len()).unwrap_or(0);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(wal < 100 * 4096 * 2, "the log file is {wal} bytes");
    }
}
