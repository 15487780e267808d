//! Group commit: requests' writes that queue up while another write holds the writer are
//! run together, each in its own SAVEPOINT inside one `BEGIN IMMEDIATE` transaction, and
//! committed once.
//!
//! Under load a create-post's transaction otherwise waits for every write queued before it
//! to take its turn, hop onto a blocking thread, begin, commit and hand the turn on; in a
//! group it waits for one commit. A write whose closure fails rolls back to its savepoint,
//! so it leaves nothing behind and the others still commit; each caller gets its own
//! result, and nobody's result is sent before the commit it depends on has happened.
//! Durability is the same as for a lone transaction: the group's commit is one WAL append.

use std::collections::VecDeque;
use std::sync::Mutex;

use roost_engines::{EngineError, EngineResult};
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::db::unavailable;

/// Writes per group: enough to absorb a burst, few enough that the group's transaction
/// stays short.
const GROUP_LIMIT: usize = 64;

/// What a write tells its caller once the group's commit is known (`Err` carries the
/// commit's failure).
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A queued write: runs its closure in a savepoint and says how to deliver the outcome.
type Job = Box<dyn FnOnce(&Connection) -> Deliver + Send>;

/// Writes waiting for a turn at the writer.
#[derive(Default)]
pub(super) struct Pending {
    jobs: Mutex<VecDeque<Job>>,
}

impl Pending {
    /// Queues `f`; its result arrives on the returned receiver once its group committed
    /// (or failed). If the receiver is dropped before the group runs, `f` never runs: a
    /// caller that gave up before its turn writes nothing, as with a lone transaction.
    pub(super) fn push<T, F>(&self, f: F) -> oneshot::Receiver<EngineResult<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> EngineResult<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn: &Connection| -> Deliver {
            if tx.is_closed() {
                return Box::new(|_| {});
            }
            match in_savepoint(conn, f) {
                Ok(value) => Box::new(move |commit: Result<(), String>| {
                    let _ = tx.send(commit.map(|()| value).map_err(unavailable));
                }),
                Err(err) => Box::new(move |_| {
                    let _ = tx.send(Err(err));
                }),
            }
        });
        self.lock().push_back(job);
        rx
    }

    /// Up to `GROUP_LIMIT` queued writes, oldest first (none when an earlier group took
    /// them all).
    pub(super) fn take_group(&self) -> Vec<Job> {
        let mut jobs = self.lock();
        let n = jobs.len().min(GROUP_LIMIT);
        jobs.drain(..n).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Job>> {
        self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Runs `jobs` in one `BEGIN IMMEDIATE` transaction on `conn` and commits it, then tells
/// every caller its result. If the transaction cannot begin, none runs and each caller
/// hears so.
pub(super) fn run_group(conn: &mut Connection, jobs: Vec<Job>) {
    let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(err) => {
            // Dropping the jobs unrun tells each caller its write was lost (see `lost`).
            tracing::warn!(%err, writes = jobs.len(), "a group of writes could not begin");
            return;
        }
    };
    let delivers: Vec<Deliver> = jobs.into_iter().map(|job| job(&tx)).collect();
    let commit = tx.commit().map_err(|err| err.to_string());
    for deliver in delivers {
        deliver(commit.clone());
    }
}

/// `f` inside `SAVEPOINT`: released when it succeeds, rolled back to when it fails. The
/// statements are prepared once per connection rather than parsed for every write (a
/// direct seed measured no difference either way; it is simply the cheaper default).
fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> EngineResult<T>) -> EngineResult<T> {
    let run = |sql: &str| conn.prepare_cached(sql).and_then(|mut statement| statement.execute([]));
    run("SAVEPOINT one_write").map_err(unavailable)?;
    match f(conn) {
        Ok(value) => {
            run("RELEASE one_write").map_err(unavailable)?;
            Ok(value)
        }
        Err(err) => {
            run("ROLLBACK TO one_write").and_then(|_| run("RELEASE one_write")).map_err(unavailable)?;
            Err(err)
        }
    }
}

/// A caller whose group vanished without an answer: it could not begin, or another write
/// of it panicked.
pub(super) fn lost(_: oneshot::error::RecvError) -> EngineError {
    unavailable("the write's group was abandoned")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use roost_engines::EngineError;

    use super::super::db::{unavailable, Db};
    use super::super::write_gate::Lane;

    /// Writes queued behind a long one commit as one group; the one that fails leaves
    /// nothing behind and the others are untouched by it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_commit_together_and_fail_alone() {
        let dir = std::env::temp_dir().join(format!("roost-group-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Arc::new(Db::open(&dir.join("t.db")).unwrap());
        let insert = |sk: String| {
            move |c: &rusqlite::Connection| {
                c.execute("INSERT INTO items (pk, sk, attrs) VALUES ('p', ?1, '{}')", [&sk])
                    .map_err(unavailable)?;
                if sk == "s3" {
                    return Err(EngineError::ConditionFailed);
                }
                Ok(sk)
            }
        };
        let slow = {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(Lane::Bulk, |_| {
                    std::thread::sleep(Duration::from_millis(200));
                    Ok(())
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let before = db.writes();
        let writes: Vec<_> = (0..8)
            .map(|i| {
                let (db, f) = (db.clone(), insert(format!("s{i}")));
                tokio::spawn(async move { db.write(Lane::Urgent, f).await })
            })
            .collect();
        slow.await.unwrap().unwrap();
        let mut results = Vec::new();
        for write in writes {
            results.push(write.await.unwrap());
        }
        let transactions = db.writes() - before;
        let rows: Vec<String> = db
            .read(|c| {
                let mut stmt = c.prepare("SELECT sk FROM items ORDER BY sk").map_err(unavailable)?;
                let rows = stmt.query_map([], |r| r.get(0)).map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)
            })
            .await
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        for (i, result) in results.iter().enumerate() {
            match result {
                Ok(sk) => assert_eq!(sk, &format!("s{i}")),
                Err(err) => assert!(i == 3 && matches!(err, EngineError::ConditionFailed), "{i}: {err}"),
            }
        }
        assert!(results[3].is_err());
        assert_eq!(rows, ["s0", "s1", "s2", "s4", "s5", "s6", "s7"]);
        assert!(transactions <= 2, "8 queued writes took {transactions} transactions");
    }
}
