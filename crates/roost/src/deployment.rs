//! The deployment: which engines this process runs on, opened from the settings. Each engine is
//! picked on its own: a DynamoDB table selects the DynamoDB store, a Redis URL the Redis cache,
//! an S3 bucket S3 media; anything not configured runs embedded under the data directory.
//!
//! Redis must keep its data across a restart (AOF or RDB), since it holds the only copy of a
//! queued job until a worker runs it; without, opening fails unless `allow_volatile_cache`
//! (docs/reliability-jobs.md).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use roost_distributed::cache::{RedisCache, RedisConfig};
use roost_distributed::media::{create_bucket_if_missing, s3_media, S3Config};
use roost_distributed::store::{DynamoConfig, DynamoStore};
use roost_embedded::cache::MemoryCache;
use roost_embedded::media::local_media;
use roost_embedded::store::SqliteStore;
use roost_service::Engines;

use crate::config::{EngineSettings, Settings};

pub async fn open(settings: &Settings) -> anyhow::Result<Engines> {
    let dir = &settings.process.data_dir;
    let e = &settings.engines;
    if e.dynamodb_table.is_none() || e.redis_url.is_none() || e.s3_bucket.is_none() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating data dir {}", dir.display()))?;
    }
    let store: Arc<dyn roost_engines::Store> = match &e.dynamodb_table {
        Some(table) => {
            let store = DynamoStore::connect(dynamo_config(e, table)).await?;
            if settings.init {
                store.create_table_if_missing().await.context("creating the DynamoDB table")?;
            }
            Arc::new(store)
        }
        None => Arc::new(SqliteStore::open(&dir.join("roost.db")).context("opening the SQLite store")?),
    };
    let cache: Arc<dyn roost_engines::Cache> = match &e.redis_url {
        Some(url) => {
            let config = RedisConfig { cluster: e.redis_cluster, ..RedisConfig::new(url.clone()) };
            let cache = RedisCache::connect(config).await.context("connecting to Redis")?;
            check_persistence(&cache, settings.service.allow_volatile_cache).await?;
            Arc::new(cache)
        }
        None => Arc::new(
            MemoryCache::open(&dir.join("queue.db"), settings.process.cache_max_mib * 1024 * 1024)
                .context("opening the in-process cache")?,
        ),
    };
    let media: Arc<dyn roost_engines::Media> = match &e.s3_bucket {
        Some(bucket) => {
            let config = S3Config {
                bucket: bucket.clone(),
                endpoint: e.s3_endpoint.clone(),
                region: e.aws_region.clone(),
            };
            if settings.init {
                create_bucket_if_missing(&config).await.context("creating the S3 bucket")?;
            }
            Arc::new(s3_media(config)?)
        }
        None => Arc::new(local_media(&dir.join("media")).context("opening the media folder")?),
    };
    Ok(Engines { store, cache, media })
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
