//! The deployment: which engines this process runs on, opened from the settings. Each engine is
//! picked on its own: a DynamoDB table selects the DynamoDB store, a Redis URL the Redis cache,
//! an S3 bucket S3 media; anything not configured runs embedded under the data directory.
//! With `--init`, missing tables and buckets are created and protected (point-in-time
//! recovery, encryption, versioning) as far as the service allows.
//!
//! A serving store is wrapped in the resilience decorator (a deadline per call, retries of
//! transient failures; `store_timeout_ms`, `store_attempts`) and, outside it, the metering
//! decorator, which so sees each call as the service does: DynamoDB reports its own capacity,
//! the embedded store is billed by estimate with DynamoDB's rules. Debug builds put the
//! store-fault hook of the tests under both (`roost_engines::faults`). With Redis, its `INFO` is
//! polled for the metrics.
//!
//! Redis must keep its data across a restart (AOF or RDB), since it holds the only copy of a
//! queued job until a worker runs it; without, opening fails unless `allow_volatile_cache`
//! (docs/reliability.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use roost_distributed::cache::{RedisCache, RedisConfig};
use roost_distributed::media::{create_bucket_if_missing, s3_media, S3Config};
use roost_distributed::media_protection;
use roost_distributed::store::{DynamoConfig, DynamoStore};
use roost_embedded::cache::MemoryCache;
use roost_embedded::media::local_media;
use roost_embedded::store::SqliteStore;
use roost_engines::{Billing, CountedCache, MeteredStore, ResilientStore, RetryPolicy};
use roost_service::Engines;

use crate::config::{EngineSettings, Settings};

/// The `table` label of the embedded store's estimated capacity.
const EMBEDDED_TABLE: &str = "embedded";
/// How often Redis's `INFO` is read for the metrics.
const REDIS_STATS_EVERY: Duration = Duration::from_secs(15);

pub async fn open(settings: &Settings) -> anyhow::Result<Engines> {
    let e = &settings.engines;
    let billing = match &e.dynamodb_table {
        Some(_) => Billing::Reported,
        None => Billing::Estimated { table: EMBEDDED_TABLE.into() },
    };
    let store = open_store(settings).await?;
    #[cfg(debug_assertions)]
    let store = roost_engines::faults::FaultyStore::from_env(store);
    let policy = RetryPolicy {
        deadline: Duration::from_millis(e.store_timeout_ms.max(1)),
        attempts: e.store_attempts,
    };
    let store: Arc<dyn roost_engines::Store> =
        Arc::new(MeteredStore::new(Arc::new(ResilientStore::new(store, policy)), billing));
    let cache: Arc<dyn roost_engines::Cache> = match &e.redis_url {
        Some(url) => {
            let config = RedisConfig { cluster: e.redis_cluster, ..RedisConfig::new(url.clone()) };
            let cache = RedisCache::connect(config).await.context("connecting to Redis")?;
            check_persistence(&cache, settings.service.allow_volatile_cache).await?;
            // Runs as long as the process: nothing to stop.
            drop(cache.spawn_server_stats(REDIS_STATS_EVERY));
            Arc::new(cache)
        }
        None => Arc::new(
            MemoryCache::open(
                &data_dir(settings)?.join("queue.db"),
                settings.process.cache_max_mib * 1024 * 1024,
            )
            .context("opening the in-process cache")?,
        ),
    };
    // Every call counted as a round trip, for the figure per route in the metrics.
    let cache: Arc<dyn roost_engines::Cache> = Arc::new(CountedCache::new(cache));
    let media = open_media(settings).await?;
    Ok(Engines { store, cache, media })
}

/// The data directory, created if missing.
fn data_dir(settings: &Settings) -> anyhow::Result<&Path> {
    let dir = &settings.process.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating data dir {}", dir.display()))?;
    Ok(dir)
}

/// The SQLite store's file, when the store is embedded.
pub fn sqlite_path(settings: &Settings) -> Option<PathBuf> {
    settings.engines.dynamodb_table.is_none().then(|| settings.process.data_dir.join("roost.db"))
}

/// The store alone (`roost backup` and `restore` need no cache).
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn roost_engines::Store>> {
    let e = &settings.engines;
    Ok(match &e.dynamodb_table {
        Some(table) => {
            let store = DynamoStore::connect(dynamo_config(e, table)).await?;
            if settings.init {
                store.create_table_if_missing().await.context("creating the DynamoDB table")?;
                if let Err(err) = store.enable_point_in_time_recovery().await {
                    tracing::warn!(%err, "could not turn on point-in-time recovery; turn it on by hand (docs/operations.md)");
                }
            }
            Arc::new(store)
        }
        None => Arc::new(
            SqliteStore::open(&data_dir(settings)?.join("roost.db")).context("opening the SQLite store")?,
        ),
    })
}

/// The media engine alone.
pub async fn open_media(settings: &Settings) -> anyhow::Result<Arc<dyn roost_engines::Media>> {
    let e = &settings.engines;
    Ok(match &e.s3_bucket {
        Some(bucket) => {
            let config = s3_config(settings, bucket);
            if settings.init {
                create_bucket_if_missing(&config).await.context("creating the S3 bucket")?;
                protect_bucket(&config).await;
            }
            Arc::new(s3_media(config)?)
        }
        None => {
            Arc::new(local_media(&data_dir(settings)?.join("media")).context("opening the media folder")?)
        }
    })
}

/// Versioning and default encryption on the media bucket; a refusal (an S3-compatible
/// server without them, a role without the permission) is a warning, not a failed start.
async fn protect_bucket(config: &S3Config) {
    if let Err(err) = media_protection::enable_versioning(config).await {
        tracing::warn!(%err, "could not turn on versioning of the media bucket (docs/operations.md)");
    }
    if let Err(err) = media_protection::enable_default_encryption(config).await {
        tracing::warn!(%err, "could not turn on default encryption of the media bucket (docs/operations.md)");
    }
}

/// Where bucket `bucket` is, with the deployment's endpoint and region.
pub fn s3_config(settings: &Settings, bucket: &str) -> S3Config {
    let e = &settings.engines;
    S3Config { bucket: bucket.to_string(), endpoint: e.s3_endpoint.clone(), region: e.aws_region.clone() }
}

/// Refuses a Redis that would lose queued jobs on a restart, unless told to accept it.
async fn check_persistence(cache: &RedisCache, allow_volatile: bool) -> anyhow::Result<()> {
    let persistence = cache.persistence().await.context("asking Redis about its persistence")?;
    if persistence.is_durable() {
        return Ok(());
    }
    let rdb = match persistence.rdb {
        Some(on) => on.to_string(),
        None => "unknown (CONFIG refused)".into(),
    };
    if allow_volatile {
        tracing::warn!(
            rdb,
            "Redis keeps nothing across a restart (no AOF, no RDB); allow_volatile_cache is set, \
             so likes are written to the store before they are acknowledged"
        );
        return Ok(());
    }
    anyhow::bail!(
        "Redis has neither AOF nor RDB persistence on (aof: false, rdb: {rdb}): a restart of it would \
         lose the queued jobs of acknowledged writes. Turn on `appendonly yes` (or RDB snapshots), or \
         set allow_volatile_cache = true to run anyway (likes are then written to the store before \
         they are acknowledged)"
    )
}

fn dynamo_config(e: &EngineSettings, table: &str) -> DynamoConfig {
    DynamoConfig {
        endpoint: e.dynamodb_endpoint.clone(),
        region: e.aws_region.clone(),
        call_timeout: Duration::from_secs(e.dynamodb_timeout_secs),
        ..DynamoConfig::new(table)
    }
}

/// A one-line description of the engines, for the startup log.
pub fn describe(settings: &Settings) -> String {
    let e = &settings.engines;
    let data = |name: &str| settings.process.data_dir.join(name).display().to_string();
    format!(
        "store={} cache={} media={}",
        e.dynamodb_table
            .as_ref()
            .map(|t| format!("dynamodb:{t}"))
            .unwrap_or_else(|| format!("sqlite:{}", data("roost.db"))),
        e.redis_url.as_ref().map(|_| "redis".to_string()).unwrap_or_else(|| "in-process".into()),
        e.s3_bucket
            .as_ref()
            .map(|b| format!("s3:{b}"))
            .unwrap_or_else(|| format!("folder:{}", data("media"))),
    )
}
