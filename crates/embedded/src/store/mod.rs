//! `SqliteStore`: the embedded [`Store`], DynamoDB's item model kept in one SQLite file (the
//! way DynamoDB Local keeps it), so a single machine needs no database service.
//!
//! One `items` table holds every item; two partial indexes play the GSIs. Each trait call runs
//! on tokio's blocking pool: reads on a small pool of reader connections, which WAL mode
//! lets proceed while a write is in progress, and writes on the one writer connection, each
//! in its own `BEGIN IMMEDIATE` transaction, so conditions, read-modify-write updates and
//! transactions are serialised exactly as DynamoDB serialises writes to an item.
//!
//! - `db`: connections, pragmas, schema, and running closures on the blocking pool.
//! - `rows`: the mapping between an [`Item`] and its row.
//! - `validate`: requests refused before SQLite is touched.
//! - `write`: conditions, updates and transactions.
//! - `query`: `query` and `scan`, with keyset pagination.
//! - `ttl`: the sweeper that deletes expired rows (reads already skip them).
//! - `checkpoint`: copies the WAL back into the file, off the request path.
//! - `write_gate`, `group_commit`: the writer's queue, and requests' writes committed together.

mod checkpoint;
mod db;
mod group_commit;
mod query;
mod rows;
mod ttl;
mod validate;
mod write;
mod write_gate;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use roost_engines::{
    Cond, EngineResult, Index, Item, Key, KeyCondition, Page, QueryPage, Store, TxOp, Update, WriteOp,
};

use db::Db;
use rows::now;
use write_gate::Lane;

/// How many operations of a `batch_write` share one SQLite transaction: enough to amortise
/// the commit, few enough that a request's write queued behind a fan-out's thousands of
/// rows waits for one short chunk, not for the whole batch. At 100 rows a create post at
/// 10/s with 1,000 followers had a p99 of 10–12 ms, at 25 rows 8–8.5 ms, with fan-out to
/// 10,000 followers no slower (BENCHMARKS.md).
const BATCH_WRITE_CHUNK: usize = 25;

/// The SQLite store. Cloning is cheap: clones share the connections.
#[derive(Clone)]
pub struct SqliteStore {
    db: Arc<Db>,
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file and its schema if missing. Called from
    /// within a tokio runtime, it also starts the background tasks deleting expired rows
    /// and checkpointing the WAL (which stop once every clone of the store is dropped);
    /// without one, SQLite checkpoints within commits as usual.
    pub fn open(path: &Path) -> EngineResult<SqliteStore> {
        let db = Arc::new(Db::open(path)?);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            db.disable_autocheckpoint()?;
            runtime.spawn(ttl::sweep_periodically(Arc::downgrade(&db)));
            runtime.spawn(checkpoint::checkpoint_periodically(Arc::downgrade(&db)));
        }
        Ok(SqliteStore { db })
    }

    /// Writes a transactionally consistent copy of the whole store to `path` (SQLite's
    /// `VACUUM INTO`, one read transaction), while writers carry on: the snapshot a backup
    /// scans. `path` must not exist yet.
    pub async fn snapshot_into(&self, path: &Path) -> EngineResult<()> {
        let target = path.to_str().ok_or_else(|| db::unavailable("snapshot path is not UTF-8"))?.to_string();
        self.db.snapshot_into(target).await
    }

    /// Deletes every expired row now, in small batches; returns how many were deleted.
    pub async fn purge_expired(&self) -> EngineResult<usize> {
        ttl::purge_expired(&self.db).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, key: &Key) -> EngineResult<Option<Item>> {
        let key = key.clone();
        self.db.read(move |conn| rows::load(conn, &key, now())).await
    }

    async fn put(&self, item: Item, cond: Cond) -> EngineResult<()> {
        validate::item(&item)?;
        self.db.write(Lane::Urgent, move |tx| write::put(tx, &item, &cond, now())).await
    }

    async fn update(&self, key: &Key, update: Update, cond: Cond) -> EngineResult<Item> {
        validate::key(key)?;
        validate::update(&update)?;
        let key = key.clone();
        self.db.write(Lane::Urgent, move |tx| write::update(tx, &key, &update, &cond, now())).await
    }

    async fn delete(&self, key: &Key, cond: Cond) -> EngineResult<Option<Item>> {
        validate::key(key)?;
        let key = key.clone();
        self.db.write(Lane::Urgent, move |tx| write::delete(tx, &key, &cond, now())).await
    }

    async fn query(&self, index: Index, key_condition: KeyCondition, page: Page) -> EngineResult<QueryPage> {
        validate::page(&page)?;
        self.db.read(move |conn| query::query(conn, index, &key_condition, &page, now())).await
    }

    async fn transact_write(&self, ops: Vec<TxOp>) -> EngineResult<()> {
        validate::transaction(&ops)?;
        self.db.write(Lane::Urgent, move |tx| write::transact(tx, ops, now())).await
    }

    async fn batch_get(&self, keys: Vec<Key>) -> EngineResult<Vec<Item>> {
        // A key asked for twice is answered once, as DynamoDB (which refuses duplicates)
        // would never answer it twice either.
        let keys: HashSet<Key> = keys.into_iter().collect();
        self.db
            .read(move |conn| {
                let now = now();
                keys.iter().filter_map(|key| rows::load(conn, key, now).transpose()).collect()
            })
            .await
    }

    async fn batch_write(&self, ops: Vec<WriteOp>) -> EngineResult<()> {
        for op in &ops {
            match op {
                WriteOp::Put(item) => validate::item(item)?,
                WriteOp::Delete(key) => validate::key(key)?,
            }
        }
        let mut ops = ops.into_iter();
        loop {
            let chunk: Vec<WriteOp> = ops.by_ref().take(BATCH_WRITE_CHUNK).collect();
            if chunk.is_empty() {
                return Ok(());
            }
            self.db.write(Lane::Bulk, move |tx| write::batch(tx, &chunk)).await?;
        }
    }

    async fn scan(&self, page: Page) -> EngineResult<QueryPage> {
        validate::page(&page)?;
        self.db.read(move |conn| query::scan(conn, &page, now())).await
    }

    async fn ping(&self) -> EngineResult<()> {
        self.db.read(rows::ping).await
    }
}
