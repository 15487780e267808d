//! The durable work queue: Redis Streams with one consumer group per stream, kept in a
//! SQLite file so that a queued job survives a crash (kill -9) of the process.
//!
//! Each call is one SQLite transaction on the blocking thread pool. Stream ids are Redis's
//! `ms-seq`, issued from the last id a stream ever had, so they keep increasing after
//! acknowledged entries are deleted (or the clock steps back). Delivery times are wall-clock
//! milliseconds, so idle times stay meaningful across a restart. Readers that find nothing
//! wait on a per-stream `Notify` that `xadd` wakes, re-checking now and then as a fallback.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::Mutex;
use roost_engines::{EngineError, EngineResult, QueueMessage};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a blocked reader sleeps before looking again without being woken. Only matters
/// if a wake-up were missed (another process writing the same file, say).
const FALLBACK_POLL: Duration = Duration::from_secs(1);

const YEAR: Duration = Duration::from_secs(365 * 86_400);
/// How often the log is copied back into the file, on a connection of its own: SQLite's
/// default checkpoints inside the commit that fills the log, which put an fsync of tens of
/// milliseconds on the path of whichever `xadd` (a create-post's fan-out job) crossed it.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// What the log file is cut back to when it starts over.
const WAL_SIZE_LIMIT: i64 = 4 * 1024 * 1024;
/// The log's size past which a checkpoint holds the writers to empty it: under writes that
/// never pause a passive checkpoint never catches up with the log's end, so the log would
/// never start over (it grew to about 1 GB in a long seed).
const WAL_RESTART_BYTES: u64 = 16 * 1024 * 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS streams (
    stream   TEXT PRIMARY KEY,
    -- the last id issued, so ids never repeat or go back
    last_ms  INTEGER NOT NULL,
    last_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    stream  TEXT NOT NULL,
    ms      INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (stream, ms, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS groups (
    stream   TEXT NOT NULL,
    name     TEXT NOT NULL,
    -- the last id delivered to the group; XREADGROUP '>' reads after it
    last_ms  INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (stream, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (
    stream       TEXT NOT NULL,
    grp          TEXT NOT NULL,
    ms           INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    consumer     TEXT NOT NULL,
    delivered_at INTEGER NOT NULL, -- unix ms of the last delivery
    deliveries   INTEGER NOT NULL,
    PRIMARY KEY (stream, grp, ms, seq)
) WITHOUT ROWID;
";

/// A stream entry id, `ms-seq` in Redis's notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct EntryId {
    ms: i64,
    seq: i64,
}

impl EntryId {
    fn parse(id: &str) -> Result<EntryId, QueueError> {
        let parsed = id
            .split_once('-')
            .and_then(|(ms, seq)| Some(EntryId { ms: ms.parse().ok()?, seq: seq.parse().ok()? }));
        parsed.ok_or_else(|| QueueError::BadId(id.to_owned()))
    }

    fn to_redis(self) -> String {
        format!("{}-{}", self.ms, self.seq)
    }

    /// The id after `self` for an entry added at `now_ms`.
    fn next(self, now_ms: i64) -> EntryId {
        if now_ms > self.ms {
            EntryId { ms: now_ms, seq: 0 }
        } else {
            EntryId { ms: self.ms, seq: self.seq + 1 }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum QueueError {
    #[error("{0}")]
    Sql(#[from] rusqlite::Error),
    #[error("NOGROUP no consumer group {group} on stream {stream}")]
    NoGroup { stream: String, group: String },
    #[error("invalid stream id {0:?}")]
    BadId(String),
}

impl From<QueueError> for EngineError {
    fn from(err: QueueError) -> Self {
        match err {
            QueueError::Sql(err) => EngineError::unavailable("cache queue", err),
            invalid => EngineError::Invalid(invalid.to_string()),
        }
    }
}

type QueueResult<T> = Result<T, QueueError>;

pub(super) struct Queue {
    /// One connection, shared by the blocking-pool threads in turn: SQLite serialises
    /// writers anyway, and each transaction is short.
    conn: Arc<Mutex<Connection>>,
    /// Per stream, the readers blocked in `xreadgroup`. Streams are few and fixed (one per
    /// worker kind), so entries are never removed.
    wakers: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Queue {
    pub fn open(path: &Path) -> EngineResult<Queue> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| EngineError::unavailable("cache queue", err))?;
        }
        let conn = open_connection(path).map_err(EngineError::from)?;
        let conn = Arc::new(Mutex::new(conn));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            conn.lock().pragma_update(None, "wal_autocheckpoint", 0).map_err(QueueError::from)?;
            let checkpointer = open_connection(path).map_err(EngineError::from)?;
            let mut log = path.as_os_str().to_owned();
            log.push("-wal");
            runtime.spawn(checkpoint_periodically(Arc::downgrade(&conn), checkpointer, log.into()));
        }
        Ok(Queue { conn, wakers: Mutex::default() })
    }

    pub async fn xadd(&self, stream: &str, payload: Bytes) -> EngineResult<String> {
        let stream_owned = stream.to_owned();
        let id = self
            .run(move |tx| {
                let last = tx
                    .query_row("SELECT last_ms, last_seq FROM streams WHERE stream = ?1", [&stream_owned], |row| {
                        Ok(EntryId { ms: row.get(0)?, seq: row.get(1)? })
                    })
                    .optional()?
                    .unwrap_or(EntryId { ms: 0, seq: 0 });
                let id = last.next(now_ms());
                tx.prepare_cached(
                    "INSERT INTO streams (stream, last_ms, last_seq) VALUES (?1, ?2, ?3)
                     ON CONFLICT (stream) DO UPDATE SET last_ms = excluded.last_ms, last_seq = excluded.last_seq",
                )?
                .execute(params![stream_owned, id.ms, id.seq])?;
                tx.prepare_cached("INSERT INTO entries (stream, ms, seq, payload) VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![stream_owned, id.ms, id.seq, payload.as_ref()])?;
                Ok(id)
            })
            .await?;
        self.waker(stream).notify_waiters();
        Ok(id.to_redis())
    }

    pub async fn xgroup_create(&self, stream: &str, group: &str) -> EngineResult<()> {
        let (stream, group) = (stream.to_owned(), group.to_owned());
        self.run(move |tx| {
            tx.execute(
                "INSERT OR IGNORE INTO streams (stream, last_ms, last_seq) VALUES (?1, 0, 0)",
                [&stream],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO groups (stream, name, last_ms, last_seq) VALUES (?1, ?2, 0, 0)",
                [&stream, &group],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn xreadgroup(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> EngineResult<Vec<QueueMessage>> {
        // A block too long for the clock is as good as forever; a year is the same.
        let deadline = Instant::now().checked_add(block).unwrap_or_else(|| Instant::now() + YEAR);
        let waker = self.waker(stream);
        loop {
            // Registered before looking, so an `xadd` landing between the look and the
            // wait still wakes us.
            let woken = waker.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();

            let messages = self.read_new(stream, group, consumer, count).await?;
            let now = Instant::now();
            if !messages.is_empty() || now >= deadline {
                return Ok(messages);
            }
            let _ = tokio::time::timeout_at(deadline.min(now + FALLBACK_POLL), woken).await;
        }
    }

    /// One non-blocking `XREADGROUP ... >`: entries after the group's cursor become pending
    /// with `consumer`.
    async fn read_new(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
    ) -> EngineResult<Vec<QueueMessage>> {
        let (stream, group, consumer) = (stream.to_owned(), group.to_owned(), consumer.to_owned());
        let limit = i64::try_from(count).unwrap_or(i64::MAX);
        self.run(move |tx| {
            let cursor = group_cursor(tx, &stream, &group)?;
            let mut select = tx.prepare_cached(
                "SELECT ms, seq, payload FROM entries
                 WHERE stream = ?1 AND (ms, seq) > (?2, ?3) ORDER BY ms, seq LIMIT ?4",
            )?;
            let entries = select
                .query_map(params![stream, cursor.ms, cursor.seq, limit], |row| {
                    Ok((EntryId { ms: row.get(0)?, seq: row.get(1)? }, row.get::<_, Vec<u8>>(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let Some((last, _)) = entries.last() else { return Ok(Vec::new()) };
            tx.execute(
                "UPDATE groups SET last_ms = ?3, last_seq = ?4 WHERE stream = ?1 AND name = ?2",
                params![stream, group, last.ms, last.seq],
            )?;
            let mut pend = tx.prepare_cached(
                "INSERT INTO pending (stream, grp, ms, seq, consumer, delivered_at, deliveries)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)",
            )?;
            let now = now_ms();
            for (id, _) in &entries {
                pend.execute(params![stream, group, id.ms, id.seq, consumer, now])?;
            }
            Ok(entries
                .into_iter()
                .map(|(id, payload)| QueueMessage {
                    id: id.to_redis(),
                    payload: payload.into(),
                    deliveries: 1,
                })
                .collect())
        })
        .await
    }

    pub async fn xack(&self, stream: &str, group: &str, ids: &[String]) -> EngineResult<u64> {
        let ids = ids.iter().map(|id| EntryId::parse(id)).collect::<QueueResult<Vec<_>>>()?;
        let (stream, group) = (stream.to_owned(), group.to_owned());
        self.run(move |tx| {
            let mut unpend = tx.prepare_cached(
                "DELETE FROM pending WHERE stream = ?1 AND grp = ?2 AND ms = ?3 AND seq = ?4",
            )?;
            // One group per stream: an acknowledged entry is done with, as XACK + XDEL.
            let mut delete =
                tx.prepare_cached("DELETE FROM entries WHERE stream = ?1 AND ms = ?2 AND seq = ?3")?;
            let mut acked = 0;
            for id in ids {
                if unpend.execute(params![stream, group, id.ms, id.seq])? > 0 {
                    delete.execute(params![stream, id.ms, id.seq])?;
                    acked += 1;
                }
            }
            Ok(acked)
        })
        .await
    }

    pub async fn xclaim_idle(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
        idle: Duration,
    ) -> EngineResult<u64> {
        let ids = ids.iter().map(|id| EntryId::parse(id)).collect::<QueueResult<Vec<_>>>()?;
        let (stream, group, consumer) = (stream.to_owned(), group.to_owned(), consumer.to_owned());
        let idle = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
        self.run(move |tx| {
            let delivered_at = now_ms().saturating_sub(idle);
            let mut claim = tx.prepare_cached(
                "UPDATE pending SET consumer = ?5, delivered_at = ?6
                 WHERE stream = ?1 AND grp = ?2 AND ms = ?3 AND seq = ?4",
            )?;
            let mut claimed = 0;
            for id in ids {
                claimed +=
                    claim.execute(params![stream, group, id.ms, id.seq, consumer, delivered_at])? as u64;
            }
            Ok(claimed)
        })
        .await
    }

    pub async fn xautoclaim(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> EngineResult<Vec<QueueMessage>> {
        let (stream, group, consumer) = (stream.to_owned(), group.to_owned(), consumer.to_owned());
        let min_idle = i64::try_from(min_idle.as_millis()).unwrap_or(i64::MAX);
        let limit = i64::try_from(count).unwrap_or(i64::MAX);
        self.run(move |tx| {
            group_cursor(tx, &stream, &group)?;
            let now = now_ms();
            let mut select = tx.prepare_cached(
                "SELECT p.ms, p.seq, p.deliveries, e.payload FROM pending p
                 JOIN entries e ON e.stream = p.stream AND e.ms = p.ms AND e.seq = p.seq
                 WHERE p.stream = ?1 AND p.grp = ?2 AND p.delivered_at <= ?3
                 ORDER BY p.ms, p.seq LIMIT ?4",
            )?;
            let claimed = select
                .query_map(params![stream, group, now.saturating_sub(min_idle), limit], |row| {
                    let id = EntryId { ms: row.get(0)?, seq: row.get(1)? };
                    Ok((id, row.get::<_, i64>(2)?, row.get::<_, Vec<u8>>(3)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut claim = tx.prepare_cached(
                "UPDATE pending SET consumer = ?5, delivered_at = ?6, deliveries = deliveries + 1
                 WHERE stream = ?1 AND grp = ?2 AND ms = ?3 AND seq = ?4",
            )?;
            for (id, _, _) in &claimed {
                claim.execute(params![stream, group, id.ms, id.seq, consumer, now])?;
            }
            Ok(claimed
                .into_iter()
                .map(|(id, deliveries, payload)| QueueMessage {
                    id: id.to_redis(),
                    payload: payload.into(),
                    deliveries: deliveries.unsigned_abs() + 1,
                })
                .collect())
        })
        .await
    }

    pub async fn xrange(&self, stream: &str, count: usize) -> EngineResult<Vec<QueueMessage>> {
        let stream = stream.to_owned();
        let limit = i64::try_from(count).unwrap_or(i64::MAX);
        self.run(move |tx| {
            let mut select = tx.prepare_cached(
                "SELECT ms, seq, payload FROM entries WHERE stream = ?1 ORDER BY ms, seq LIMIT ?2",
            )?;
            let entries = select
                .query_map(params![stream, limit], |row| {
                    let id = EntryId { ms: row.get(0)?, seq: row.get(1)? };
                    Ok(QueueMessage {
                        id: id.to_redis(),
                        payload: row.get::<_, Vec<u8>>(2)?.into(),
                        deliveries: 0,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(entries)
        })
        .await
    }

    pub async fn xdel(&self, stream: &str, ids: &[String]) -> EngineResult<u64> {
        let ids = ids.iter().map(|id| EntryId::parse(id)).collect::<QueueResult<Vec<_>>>()?;
        let stream = stream.to_owned();
        self.run(move |tx| {
            // As in Redis, a deleted entry's pending record goes too (a claim would find nothing).
            let mut unpend =
                tx.prepare_cached("DELETE FROM pending WHERE stream = ?1 AND ms = ?2 AND seq = ?3")?;
            let mut delete =
                tx.prepare_cached("DELETE FROM entries WHERE stream = ?1 AND ms = ?2 AND seq = ?3")?;
            let mut deleted = 0;
            for id in ids {
                unpend.execute(params![stream, id.ms, id.seq])?;
                deleted += delete.execute(params![stream, id.ms, id.seq])? as u64;
            }
            Ok(deleted)
        })
        .await
    }

    pub async fn xlen(&self, stream: &str) -> EngineResult<u64> {
        let stream = stream.to_owned();
        let len: i64 = self
            .run(move |tx| {
                Ok(tx.query_row("SELECT COUNT(*) FROM entries WHERE stream = ?1", [&stream], |row| {
                    row.get(0)
                })?)
            })
            .await?;
        Ok(len.unsigned_abs())
    }

    pub async fn ping(&self) -> EngineResult<()> {
        self.run(|tx| Ok(tx.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    fn waker(&self, stream: &str) -> Arc<Notify> {
        self.wakers.lock().entry(stream.to_owned()).or_default().clone()
    }

    /// Runs `f` in one immediate (write-locking) transaction on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> QueueResult<T> + Send + 'static,
    ) -> EngineResult<T> {
        let conn = Arc::clone(&self.conn);
        let result = tokio::task::spawn_blocking(move || -> QueueResult<T> {
            let mut conn = conn.lock();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
        .map_err(|err| EngineError::unavailable("cache queue", err))?;
        result.map_err(EngineError::from)
    }
}

fn open_connection(path: &Path) -> QueueResult<Connection> {
    let conn = Connection::open(path)?;
    // WAL with synchronous=NORMAL: a committed job survives the process dying at any point
    // (only an OS crash could lose the last commits), without an fsync per `xadd`.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "queue database is not in WAL mode");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

/// Checkpoints the queue's log every `CHECKPOINT_EVERY` on `checkpointer` until the queue
/// (known by its connection, held weakly) is dropped. A PASSIVE checkpoint, which never
/// waits, is enough while the writes pause now and then: the queue's only other connection
/// holds no read transaction open between calls, so each complete pass lets the next write
/// start the log over. Past `WAL_RESTART_BYTES` the queue's writers are held for one
/// TRUNCATE checkpoint, which empties the log.
async fn checkpoint_periodically(
    queue: std::sync::Weak<Mutex<Connection>>,
    checkpointer: Connection,
    log: std::path::PathBuf,
) {
    let checkpointer = Arc::new(Mutex::new(checkpointer));
    let mut ticks = tokio::time::interval_at(Instant::now() + CHECKPOINT_EVERY, CHECKPOINT_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if queue.strong_count() == 0 {
            return;
        }
        let (checkpointer, queue, log) = (Arc::clone(&checkpointer), queue.clone(), log.clone());
        let done = tokio::task::spawn_blocking(move || {
            let log_bytes = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
            match queue.upgrade() {
                // On the queue's own connection, under its lock: its writers wait this one
                // checkpoint out instead of starving it (a busy handler never wins a turn).
                Some(queue) if log_bytes > WAL_RESTART_BYTES => {
                    queue.lock().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                }
                _ => checkpointer.lock().query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())),
            }
        })
        .await;
        if let Ok(Err(err)) = done {
            tracing::warn!(%err, "queue checkpoint failed; retrying");
        }
    }
}

/// The group's last delivered id, or `NOGROUP` as Redis answers for a missing group.
fn group_cursor(tx: &Transaction<'_>, stream: &str, group: &str) -> QueueResult<EntryId> {
    tx.prepare_cached("SELECT last_ms, last_seq FROM groups WHERE stream = ?1 AND name = ?2")?
        .query_row([stream, group], |row| Ok(EntryId { ms: row.get(0)?, seq: row.get(1)? }))
        .optional()?
        .ok_or_else(|| QueueError::NoGroup { stream: stream.to_owned(), group: group.to_owned() })
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jobs queued faster than anything checkpoints still leave a log file bounded by
    /// `WAL_SIZE_LIMIT`, once the checkpointer has run and the next write starts it over.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_is_checkpointed_off_the_enqueue_path_and_stays_bounded() {
        let dir = std::env::temp_dir().join(format!("roost-queue-wal-{}", std::process::id()));
        let path = dir.join("queue.db");
        let queue = Queue::open(&path).unwrap();
        let payload = Bytes::from(vec![b'x'; 64 * 1024]);
        for _ in 0..160 {
            queue.xadd("jobs", payload.clone()).await.unwrap();
        }
        let wal_size = || std::fs::metadata(dir.join("queue.db-wal")).map(|m| m.len()).unwrap_or(0);
        let grown = wal_size();
        tokio::time::sleep(CHECKPOINT_EVERY * 2).await;
        queue.xadd("jobs", payload).await.unwrap();
        let after = wal_size();
        drop(queue);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(grown > 8 << 20, "no checkpoint inside the commits: the log grew to {grown} bytes only");
        assert!(after <= WAL_SIZE_LIMIT as u64, "the log file kept {after} bytes");
    }

    /// Jobs queued without a pause (a long seed, a busy server) still see the log start
    /// over: the file shrinks while they go on (with passive checkpoints alone it only grew,
    /// to twice what was written).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_starts_over_under_writes_that_never_pause() {
        let dir = std::env::temp_dir().join(format!("roost-queue-busy-{}", std::process::id()));
        let path = dir.join("queue.db");
        let queue = Queue::open(&path).unwrap();
        let payload = Bytes::from(vec![b'x'; 16 * 1024]);
        let wal_size = || std::fs::metadata(dir.join("queue.db-wal")).map(|m| m.len()).unwrap_or(0);
        let ticks = Instant::now() + CHECKPOINT_EVERY * 5;
        let (mut written, mut largest, mut shrank) = (0u64, 0, false);
        while !shrank && (Instant::now() < ticks || written < WAL_RESTART_BYTES * 4) {
            queue.xadd("jobs", payload.clone()).await.unwrap();
            written += payload.len() as u64;
            let size = wal_size();
            shrank = size < largest;
            largest = largest.max(size);
        }
        drop(queue);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(shrank, "the log only grew, to {largest} bytes under {written} bytes of writes");
    }
}
