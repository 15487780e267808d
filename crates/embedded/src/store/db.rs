//! The connections to the SQLite file, and the only place that runs SQLite calls: always on
//! tokio's blocking pool, so that a slow disk never stalls the async worker threads.
//!
//! One writer connection serialises writes (SQLite allows one writer at a time anyway, and
//! queueing is cheaper than spinning on `SQLITE_BUSY`); a few reader connections serve
//! reads concurrently with it, which WAL mode allows. A call waits for its turn at a
//! connection *before* it takes a blocking thread: so a burst of writes queues as cheap
//! tasks rather than as hundreds of parked threads (each with its own stack and allocator
//! cache), and the order of writes is decided by `write_gate` (requests' writes first),
//! never by luck at a mutex. Every statement goes through `prepare_cached`, so each SQL
//! text is compiled once per connection.

use std::fmt::Display;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use roost_engines::{EngineError, EngineResult};
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::Semaphore;

use super::group_commit::{self, Pending};
use super::write_gate::{Lane, WriteGate};

/// Reader connections. Reads are short point or range lookups, so a few connections keep
/// every core busy without holding many file descriptors and page caches.
const READERS: usize = 4;
/// How long a connection waits for a lock held by another process (a backup, a second
/// instance started by mistake) before reporting the store unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Distinct SQL texts a connection keeps compiled: queries vary by index, sort-key
/// condition, direction and start key, which makes about a hundred.
const STATEMENT_CACHE: usize = 128;
/// What the WAL file is cut back to whenever the log starts over: SQLite otherwise keeps
/// the file at its high-water mark forever (192 MB after seeding a small graph).
const WAL_SIZE_LIMIT: i64 = 32 * 1024 * 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk     TEXT NOT NULL,
    sk     TEXT NOT NULL,
    gsi1pk TEXT,
    gsi1sk TEXT,
    gsi2pk TEXT,
    gsi2sk TEXT,
    ttl    INTEGER,
    attrs  TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) STRICT, WITHOUT ROWID;
-- Partial indexes: like a sparse GSI, they hold only the items that carry the index key.
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk, pk, sk) WHERE gsi2pk IS NOT NULL;
-- No TTL index: the sweeper walks the table in key order instead (see `ttl`), which spares
-- every expiring row (most of them feed entries) a second B-tree entry. Dropped from stores
-- made before.
DROP INDEX IF EXISTS items_ttl;
";

/// Maps any SQLite (or task) failure to the engine's 503.
pub(super) fn unavailable(err: impl Display) -> EngineError {
    EngineError::unavailable("sqlite", err)
}

pub(super) struct Db {
    /// Locked only by the holder of a `write_gate` turn (and by the checkpointer, to restart
    /// the log).
    writer: Mutex<Connection>,
    /// The writer's queue (requests' writes first).
    write_gate: Arc<WriteGate>,
    /// Requests' writes waiting to be committed as a group.
    pending: Pending,
    /// One permit per reader connection, so a permit holder always finds one free.
    read_turns: Arc<Semaphore>,
    /// Copies the WAL back into the database file, off the writer (see `checkpoint`).
    checkpointer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Write transactions begun so far: the checkpointer's sign that writers are idle.
    writes: AtomicU64,
}

impl Db {
    pub(super) fn open(path: &Path) -> EngineResult<Db> {
        let writer = connect(path)?;
        // WAL lets readers proceed while a write is in progress, and makes a commit one
        // append to the log. With synchronous=NORMAL a commit is not fsynced: it is complete
        // once written to the OS, so it survives the process being killed (kill -9, a
        // panic, an OOM kill), since the kernel still holds and later flushes the pages; only
        // an OS crash or power loss can lose the last few commits, and even then the file
        // stays consistent because the WAL is fsynced before each checkpoint.
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(unavailable)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(unavailable(format!("{} cannot use WAL (journal mode {mode})", path.display())));
        }
        writer.pragma_update(None, "synchronous", "NORMAL").map_err(unavailable)?;
        writer.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT).map_err(unavailable)?;
        writer.execute_batch(SCHEMA).map_err(unavailable)?;

        let readers = (0..READERS)
            .map(|_| {
                let reader = connect(path)?;
                reader.pragma_update(None, "query_only", true).map_err(unavailable)?;
                Ok(Mutex::new(reader))
            })
            .collect::<EngineResult<_>>()?;
        let checkpointer = Mutex::new(connect(path)?);
        Ok(Db {
            writer: Mutex::new(writer),
            write_gate: Arc::default(),
            pending: Pending::default(),
            read_turns: Arc::new(Semaphore::new(READERS)),
            checkpointer,
            readers,
            next_reader: AtomicUsize::new(0),
            writes: AtomicU64::new(0),
        })
    }

    /// Runs `f` on a reader connection, inside a read transaction so that a call made of
    /// several statements (a batch get) sees one snapshot.
    pub(super) async fn read<T, F>(self: &Arc<Self>, f: F) -> EngineResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> EngineResult<T> + Send + 'static,
    {
        let turn = self.read_turns.clone().acquire_owned().await.map_err(unavailable)?;
        let db = Arc::clone(self);
        blocking(move || {
            let _turn = turn;
            let mut conn = db.reader();
            let tx = conn.transaction().map_err(unavailable)?;
            let out = f(&tx)?;
            tx.commit().map_err(unavailable)?;
            Ok(out)
        })
        .await
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer, committed when `f`
    /// succeeds and rolled back when it fails, once its `lane` gets the turn. IMMEDIATE
    /// takes the write lock up front, so what `f` reads cannot change before it writes.
    /// Urgent writes are committed in groups (`group_commit`): `f` then runs in a savepoint
    /// of a transaction shared with the urgent writes queued at the same time, and whoever
    /// gets the turn first runs the whole group.
    pub(super) async fn write<T, F>(self: &Arc<Self>, lane: Lane, f: F) -> EngineResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> EngineResult<T> + Send + 'static,
    {
        if lane == Lane::Urgent {
            let mut result = self.pending.push(f);
            // An earlier group may commit this write while this caller still waits in line.
            tokio::select! {
                biased;
                delivered = &mut result => return delivered.map_err(group_commit::lost)?,
                ran = self.run_pending_group() => ran?,
            }
            return result.await.map_err(group_commit::lost)?;
        }
        let turn = self.write_gate.turn(lane).await;
        self.writes.fetch_add(1, Ordering::Relaxed);
        let db = Arc::clone(self);
        blocking(move || {
            let _turn = turn;
            let mut conn = lock(&db.writer);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(unavailable)?;
            let out = f(&tx)?;
            tx.commit().map_err(unavailable)?;
            Ok(out)
        })
        .await
    }

    /// Takes an urgent turn and commits the writes pending then, if an earlier group has
    /// not already.
    async fn run_pending_group(self: &Arc<Self>) -> EngineResult<()> {
        let turn = self.write_gate.turn(Lane::Urgent).await;
        let group = self.pending.take_group();
        if group.is_empty() {
            return Ok(());
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        let db = Arc::clone(self);
        blocking(move || {
            let _turn = turn;
            group_commit::run_group(&mut lock(&db.writer), group);
            Ok(())
        })
        .await
    }

    /// `VACUUM INTO target` on the checkpointer's connection (the readers are `query_only`,
    /// which refuses it; the writer must stay free for requests).
    pub(super) async fn snapshot_into(self: &Arc<Self>, target: String) -> EngineResult<()> {
        let db = Arc::clone(self);
        blocking(move || {
            lock(&db.checkpointer).execute("VACUUM INTO ?1", [target]).map(drop).map_err(unavailable)
        })
        .await
    }

    /// Hands WAL checkpoints to `checkpoint`: by default SQLite checkpoints inside the
    /// commit that crosses 1,000 WAL pages, so that request (often a small post) waits for
    /// the copy-back and its fsync behind a fan-out's thousands of rows.
    pub(super) fn disable_autocheckpoint(&self) -> EngineResult<()> {
        lock(&self.writer).pragma_update(None, "wal_autocheckpoint", 0).map_err(unavailable)
    }

    /// Write transactions begun so far (compare two readings to tell whether writers were
    /// idle in between).
    pub(super) fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// A PASSIVE checkpoint on its own connection: copies what it can without blocking
    /// the writer or the readers. The WAL only restarts from its beginning when, at the
    /// moment a write begins, everything is copied and no reader still uses the log; under
    /// steady reads and writes that moment never comes and the log grows without bound
    /// (gigabytes within a minute of seeding). So once the log passes `reset_frames`, the
    /// checkpoint takes the writer for itself and RESTARTs: it copies the few frames the
    /// passive pass left, waits out the readers (each holds the log for one short query),
    /// and the next write starts the log over, cutting the file back to `WAL_SIZE_LIMIT`.
    /// When `idle` (no write since the last checkpoint) and the log holds anything, it
    /// TRUNCATEs instead, giving the whole file back: that costs ~100 ms on a busy disk
    /// with the writer held, which only an idle writer can spare. Returns the frames the
    /// log held before the checkpoint.
    pub(super) async fn checkpoint(self: &Arc<Self>, reset_frames: i64, idle: bool) -> EngineResult<i64> {
        let db = Arc::clone(self);
        blocking(move || {
            let checkpointer = lock(&db.checkpointer);
            let run = |mode: &str| {
                checkpointer
                    .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| row.get::<_, i64>(1))
                    .map_err(unavailable)
            };
            let frames = run("PASSIVE")?;
            if idle && frames > 0 {
                let _writer = lock(&db.writer);
                run("TRUNCATE")?;
            } else if frames >= reset_frames {
                let _writer = lock(&db.writer);
                run("RESTART")?;
            }
            Ok(frames)
        })
        .await
    }

    /// A free reader (the caller holds a read turn, so one is free unless a panic is
    /// unwinding through another), else the next in line.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        let first = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.readers.len() {
            match self.readers[(first + i) % self.readers.len()].try_lock() {
                Ok(conn) => return conn,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        lock(&self.readers[first % self.readers.len()])
    }
}

fn connect(path: &Path) -> EngineResult<Connection> {
    let conn = Connection::open(path).map_err(unavailable)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// A panic while a connection was held unwound through `Transaction`'s drop, which rolled
/// back whatever it had begun, so the connection is fine to use again.
fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> EngineResult<T> + Send + 'static,
) -> EngineResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        // A panic is a bug, not an outage: let the caller see it as one.
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => Err(unavailable(err)),
    }
}
