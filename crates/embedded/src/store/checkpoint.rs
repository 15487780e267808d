//! The WAL checkpointer: copies committed pages from the write-ahead log back into the
//! database file, on its own connection and schedule, so that no request's commit ever
//! does it (SQLite's default is to checkpoint inside the commit that fills the log).

use std::sync::Weak;
use std::time::Duration;

use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::db::Db;

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// The log's size (in 4 KiB pages) past which a checkpoint restarts it even though readers
/// must be waited for: 32 MiB, well under a second of the heaviest writing, so that with
/// what one tick can add the file stays under 64 MiB.
const WAL_RESET_FRAMES: i64 = 8 * 1024;

/// Ticks without a write after which the writers count as idle and the log file is given
/// back (2 s): a pause between two posts' fan-outs is not idleness, and truncating then
/// would only make the next write grow the file again.
const IDLE_TICKS: u32 = 8;

/// Checkpoints the WAL every `CHECKPOINT_EVERY` until the store is dropped (held weakly, as
/// the sweeper is).
pub(super) async fn checkpoint_periodically(db: Weak<Db>) {
    let mut ticks = interval_at(Instant::now() + CHECKPOINT_EVERY, CHECKPOINT_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let (mut writes_before, mut quiet_ticks) = (None, 0);
    loop {
        ticks.tick().await;
        let Some(db) = db.upgrade() else { return };
        let writes = db.writes();
        quiet_ticks = if writes_before == Some(writes) { quiet_ticks + 1 } else { 0 };
        writes_before = Some(writes);
        let idle = quiet_ticks >= IDLE_TICKS;
        if let Err(err) = db.checkpoint(WAL_RESET_FRAMES, idle).await {
            tracing::warn!(%err, "WAL checkpoint failed; retrying");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::super::db::Db;
    use super::super::write_gate::Lane;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("roost-checkpoint-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Rows of about 1 KiB in partition `pk`, in one transaction.
    async fn write_rows(db: &Arc<Db>, pk: String, rows: usize) {
        db.write(Lane::Bulk, move |c| {
            for i in 0..rows {
                c.execute(
                    "INSERT INTO items (pk, sk, attrs) VALUES (?1, ?2, '{}')",
                    (&pk, format!("s{i:06}{}", "x".repeat(1000))),
                )
                .map_err(super::super::db::unavailable)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    }

    /// Once writers stop, the next ticks give the whole log file back: a load leaves no WAL
    /// behind however large it grew.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_idle_store_truncates_its_log() {
        let dir = temp_dir("idle");
        let db = Arc::new(Db::open(&dir.join("t.db")).unwrap());
        db.disable_autocheckpoint().unwrap();
        tokio::spawn(super::checkpoint_periodically(Arc::downgrade(&db)));
        let wal_size = || std::fs::metadata(dir.join("t.db-wal")).map(|m| m.len()).unwrap_or(0);
        for round in 0..8 {
            write_rows(&db, format!("p{round}"), 1000).await;
        }
        assert!(wal_size() > 4 << 20, "the load should have grown the log");
        let mut waited = 0;
        while wal_size() > 0 && waited < 40 {
            tokio::time::sleep(super::CHECKPOINT_EVERY).await;
            waited += 1;
        }
        let left = wal_size();
        let rows: i64 = db
            .read(|c| {
                c.query_row("SELECT count(*) FROM items", [], |r| r.get(0))
                    .map_err(super::super::db::unavailable)
            })
            .await
            .unwrap();
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(left, 0, "the idle log file still holds {left} bytes");
        assert_eq!(rows, 8000);
    }

    /// Readers that never pause starve a passive checkpoint's reset; past the threshold the
    /// log must still start over, with the readers still running, so the file stops growing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_starts_over_under_constant_reads() {
        let dir = temp_dir("reads");
        let db = Arc::new(Db::open(&dir.join("t.db")).unwrap());
        db.disable_autocheckpoint().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        // More readers than connections, each holding its snapshot a moment: one is always
        // inside a read transaction.
        let readers: Vec<_> = (0..8)
            .map(|_| {
                let (db, stop) = (db.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        db.read(|c| {
                            let n = c
                                .query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0))
                                .map_err(super::super::db::unavailable)?;
                            std::thread::sleep(std::time::Duration::from_millis(2));
                            Ok(n)
                        })
                        .await
                        .unwrap();
                    }
                })
            })
            .collect();
        let wal_size = || std::fs::metadata(dir.join("t.db-wal")).map(|m| m.len()).unwrap_or(0);
        let mut peak = 0;
        for round in 0..120 {
            db.write(Lane::Bulk, move |c| {
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
            db.checkpoint(100, false).await.unwrap();
            peak = peak.max(wal_size());
        }
        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            reader.await.unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
        // Unbounded, 120 rounds reach about 2 MB; bounded, the file stays near 100 frames.
        assert!(peak < 250 * 4096, "the log file reached {peak} bytes");
    }
}
