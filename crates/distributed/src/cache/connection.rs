//! The connections behind one `RedisCache`: a pool for ordinary commands and a separate
//! set of connections for blocking queue reads (the subscriber lives in `pubsub`).
//!
//! Why two pools: Redis answers a connection's commands in order, and fred pipelines many
//! callers' commands onto each pooled connection. An `XREADGROUP … BLOCK 5000` on a pooled
//! connection would hold up every command queued behind it for up to five seconds. Blocking
//! reads therefore check out a connection of their own (fred's `ExclusivePool`) and give
//! it back when they return.

use std::time::Duration;

use fred::clients::ExclusivePool;
use fred::prelude::{Builder, Client, ClientLike, Pool};
use roost_engines::{EngineError, EngineResult};
use tokio::sync::OwnedMutexGuard;

use super::config::RedisConfig;
use super::error::{bounded, unavailable};

pub(super) struct Connections {
    pub(super) pool: Pool,
    blocking: ExclusivePool,
    /// Whether keys of one multi-key command must first be grouped by hash slot.
    pub(super) cluster: bool,
    pub(super) timeout: Duration,
}

impl Connections {
    pub(super) async fn connect(config: &RedisConfig, builder: &Builder) -> EngineResult<Self> {
        let invalid = |err: fred::error::Error| EngineError::Invalid(format!("redis client: {err}"));
        let pool = builder.build_pool(config.pool_size.max(1)).map_err(invalid)?;
        let blocking = builder.build_exclusive_pool(config.blocking_connections.max(1)).map_err(invalid)?;
        let cluster = builder.get_config().is_some_and(|c| c.server.is_clustered());
        let connections = Connections { pool, blocking, cluster, timeout: config.command_timeout };
        // `init` resolves once every connection is up (or the first has failed); the handles
        // it returns are the clients' background tasks, which run until `quit`.
        bounded(config.connect_timeout, async {
            connections.pool.init().await.map_err(unavailable)?;
            connections.blocking.init().await.map_err(unavailable)?;
            Ok(())
        })
        .await?;
        Ok(connections)
    }

    /// A connection no one else writes to until the guard is dropped.
    pub(super) async fn dedicated(&self, wait: Duration) -> EngineResult<OwnedMutexGuard<Client>> {
        bounded(wait, async { Ok(self.blocking.acquire().await) }).await
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        // fred's clients keep their connection tasks alive until told to quit; without this
        // every dropped cache would leave its sockets open for the life of the process.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            let blocking = self.blocking.clone();
            runtime.spawn(async move {
                let _ = pool.quit().await;
                let _ = blocking.quit().await;
            });
        }
    }
}
