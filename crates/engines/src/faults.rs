//! The store-fault hook of debug builds, for the fault tests (`crates/roost/tests/faults_store.rs`,
//! `overload.rs`): with `ROOST_TEST_STORE_FAULTS=<path>`, while that file exists its content
//! makes every store call below `ResilientStore`
//!
//! - `slow <ms>`: wait that long first (a slow or hung store);
//! - `throttle <n>`: the next `n` calls fail as `Throttled` (a burst), then pass again;
//! - `down`: fail as `Unavailable` (an outage).
//!
//! Release builds compile none of this (`#[cfg(debug_assertions)]` on the module).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{EngineError, EngineResult};
use crate::store::{Cond, Index, Item, Key, KeyCondition, Page, QueryPage, Store, TxOp, Update, WriteOp};

/// The variable naming the fault file.
pub const VARIABLE: &str = "ROOST_TEST_STORE_FAULTS";
/// The engine name of the faults' errors.
const ENGINE: &str = "store";

/// A store that misbehaves as its fault file says.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    file: PathBuf,
    /// The throttling burst under way: the file's content that started it, calls left.
    burst: Mutex<Option<(String, u32)>>,
}

impl FaultyStore {
    /// `inner` under the fault file named by `ROOST_TEST_STORE_FAULTS`, if that is set.
    pub fn from_env(inner: Arc<dyn Store>) -> Arc<dyn Store> {
        match std::env::var_os(VARIABLE) {
            Some(file) => Arc::new(FaultyStore { inner, file: file.into(), burst: Mutex::new(None) }),
            None => inner,
        }
    }

    /// Applies the fault the file names now, if any.
    async fn fault(&self) -> EngineResult<()> {
        let Ok(content) = std::fs::read_to_string(&self.file) else {
            *self.burst.lock().expect("never poisoned") = None;
            return Ok(());
        };
        let content = content.trim().to_string();
        let mut words = content.split_whitespace();
        let number = |word: Option<&str>| word.and_then(|w| w.parse::<u64>().ok()).unwrap_or(0);
        match words.next() {
            Some("slow") => tokio::time::sleep(Duration::from_millis(number(words.next()))).await,
            Some("down") => {
                return Err(EngineError::unavailable(ENGINE, "down on purpose (ROOST_TEST_STORE_FAULTS)"))
            }
            Some("throttle") => {
                let count = number(words.next()) as u32;
                let mut burst = self.burst.lock().expect("never poisoned");
                if burst.as_ref().map(|(started_by, _)| started_by) != Some(&content) {
                    *burst = Some((content.clone(), count));
                }
                if let Some((_, left @ 1..)) = burst.as_mut() {
                    *left -= 1;
                    return Err(EngineError::Throttled {
                        engine: ENGINE,
                        message: "throttled on purpose (ROOST_TEST_STORE_FAULTS)".into(),
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn get(&self, key: &Key) -> EngineResult<Option<Item>> {
        self.fault().await?;
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, cond: Cond) -> EngineResult<()> {
        self.fault().await?;
        self.inner.put(item, cond).await
    }
    async fn update(&self, key: &Key, update: Update, cond: Cond) -> EngineResult<Item> {
        self.fault().await?;
        self.inner.update(key, update, cond).await
    }
    async fn delete(&self, key: &Key, cond: Cond) -> EngineResult<Option<Item>> {
        self.fault().await?;
        self.inner.delete(key, cond).await
    }
    async fn query(&self, index: Index, key_condition: KeyCondition, page: Page) -> EngineResult<QueryPage> {
        self.fault().await?;
        self.inner.query(index, key_condition, page).await
    }
    async fn transact_write(&self, ops: Vec<TxOp>) -> EngineResult<()> {
        self.fault().await?;
        self.inner.transact_write(ops).await
    }
    async fn batch_get(&self, keys: Vec<Key>) -> EngineResult<Vec<Item>> {
        self.fault().await?;
        self.inner.batch_get(keys).await
    }
    async fn batch_write(&self, ops: Vec<WriteOp>) -> EngineResult<()> {
        self.fault().await?;
        self.inner.batch_write(ops).await
    }
    async fn scan(&self, page: Page) -> EngineResult<QueryPage> {
        self.fault().await?;
        self.inner.scan(page).await
    }
    async fn ping(&self) -> EngineResult<()> {
        self.fault().await?;
        self.inner.ping().await
    }
}
