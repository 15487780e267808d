//! `Store` on DynamoDB (`aws-sdk-dynamodb`): the production primary store.
//!
//! One table, keyed `pk`/`sk`, with GSIs `gsi1` and `gsi2` and TTL on `ttl` (see `table`).
//! The trait is DynamoDB's own item model, so most operations are one request; the work
//! here is in what DynamoDB leaves to its clients:
//! - expired items linger until DynamoDB's sweeper removes them (hours later), so reads
//!   filter them out and conditions treat them as absent (see `expressions`);
//! - `query` and `scan` promise `last_key` exactly when more items match, and GSI ties in
//!   table-key order, neither of which DynamoDB's paging gives (`query`);
//! - batches are chunked to DynamoDB's limits and their unprocessed remainders retried
//!   (`batch`);
//! - cancelled transactions are mapped to per-operation reasons, conflicts retried
//!   (`transact`); single-item writes that meet a transaction in flight are retried too.

mod attributes;
mod batch;
mod errors;
mod expressions;
mod metrics;
mod protection;
mod query;
mod table;
mod transact;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, ReturnValue};
use aws_sdk_dynamodb::Client;
use roost_engines::{
    Cond, EngineError, EngineResult, Index, Item, Key, KeyCondition, Page, QueryPage, Store, TxOp, Update,
    WriteOp,
};

use attributes::{item_from_map, item_to_map, key_map};
use errors::{retry_conflicts, sdk_error, unavailable};
use expressions::{Expr, Target};
use metrics::{Capacity, OpKind};

/// The engine name in `EngineError::Unavailable`.
pub(crate) const ENGINE: &str = "dynamodb";

/// Rewrites of a write that met an expired item it had to purge first (more than one only
/// when the item is rewritten with a past `ttl` concurrently).
const PURGE_RETRIES: u32 = 3;

/// Where and how to reach DynamoDB.
#[derive(Clone, Debug)]
pub struct DynamoConfig {
    /// Endpoint override (DynamoDB Local, moto, a VPC endpoint); `None` for AWS itself.
    pub endpoint: Option<String>,
    /// Region; `None` takes it from the standard chain (`AWS_REGION`, profile, IMDS) and
    /// falls back to `us-east-1`.
    pub region: Option<String>,
    /// Name of the one table every item lives in.
    pub table: String,
    /// Bound on one call including the SDK's retries; each attempt gets half of it, so a
    /// hung connection still leaves time for one retry.
    pub call_timeout: Duration,
    /// Attempts per call (adaptive retry mode: throttling also slows the client down).
    pub max_attempts: u32,
}

impl DynamoConfig {
    /// Defaults for `table`: AWS's own endpoint, region from the environment.
    pub fn new(table: impl Into<String>) -> Self {
        DynamoConfig {
            endpoint: None,
            region: None,
            table: table.into(),
            call_timeout: Duration::from_secs(10),
            max_attempts: 5,
        }
    }
}

/// A handle on the table; cheap to clone (the SDK client is shared).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    capacity: std::sync::Arc<Capacity>,
}

impl DynamoStore {
    /// Builds the client; credentials come from the standard AWS chain (environment,
    /// profile, web identity, ECS/IMDS). Nothing is sent until the first call.
    pub async fn connect(cfg: DynamoConfig) -> EngineResult<Self> {
        Self::connect_with(cfg, |loader| loader).await
    }

    /// `connect`, with the SDK's config loader adjusted last (another HTTP client, a fixed
    /// credentials provider, ...): for tests and unusual deployments.
    pub async fn connect_with(
        cfg: DynamoConfig,
        customize: impl FnOnce(ConfigLoader) -> ConfigLoader,
    ) -> EngineResult<Self> {
        if cfg.table.is_empty() {
            return Err(EngineError::Invalid("DynamoDB table name is empty".into()));
        }
        if cfg.call_timeout.is_zero() || cfg.max_attempts == 0 {
            return Err(EngineError::Invalid("DynamoDB call timeout and attempts must be positive".into()));
        }
        let region = RegionProviderChain::first_try(cfg.region.clone().map(Region::new))
            .or_default_provider()
            .or_else(Region::from_static("us-east-1"));
        let attempt_timeout = cfg.call_timeout / 2;
        let timeouts = TimeoutConfig::builder()
            .operation_timeout(cfg.call_timeout)
            .operation_attempt_timeout(attempt_timeout)
            .connect_timeout(attempt_timeout)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .retry_config(RetryConfig::adaptive().with_max_attempts(cfg.max_attempts))
            .timeout_config(timeouts);
        if let Some(endpoint) = &cfg.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk_config = customize(loader).load().await;
        let capacity = std::sync::Arc::new(Capacity::new(&cfg.table));
        Ok(DynamoStore { client: Client::new(&sdk_config), table: cfg.table, capacity })
    }

    /// Name of the table this store reads and writes.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Capacity units consumed since the handle was made, per operation kind.
    pub fn consumed_capacity(&self) -> Vec<(&'static str, f64)> {
        self.capacity.snapshot()
    }

    /// `GetItem` (consistent), expired or not: what the table holds at `key`.
    async fn get_stored(&self, key: &Key) -> EngineResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        self.capacity.record(OpKind::Get, out.consumed_capacity.as_ref());
        out.item.map(item_from_map).transpose()
    }

    /// Deletes `key` if it is present but expired, so that a merging write can start from
    /// nothing as it would on an engine that drops expired items eagerly. Returns whether the
    /// item was expired (and is now gone, by us or by a concurrent writer).
    async fn purge_expired(&self, key: &Key, now: i64) -> EngineResult<bool> {
        let expired = self.get_stored(key).await?.is_some_and(|item| item.is_expired(now));
        if !expired {
            return Ok(false);
        }
        let mut expr = Expr::new();
        let ttl = expr.name(attributes::TTL);
        let now_value = expr.value(AttributeValue::N(now.to_string()));
        let (names, values) = expr.into_parts();
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .condition_expression(format!("{ttl} <= {now_value}"))
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
            .send()
            .await;
        match result {
            Ok(out) => {
                self.capacity.record(OpKind::Delete, out.consumed_capacity.as_ref());
                Ok(true)
            }
            // Someone rewrote the item since our read: the retried write will see it live.
            Err(err) => match sdk_error("DeleteItem", err) {
                EngineError::ConditionFailed => Ok(true),
                other => Err(other),
            },
        }
    }
}

/// The clock that decides expiry: epoch seconds, as in `ttl`.
pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &Key) -> EngineResult<Option<Item>> {
        let now = now();
        Ok(self.get_stored(key).await?.filter(|item| !item.is_expired(now)))
    }

    async fn put(&self, item: Item, cond: Cond) -> EngineResult<()> {
        let mut expr = Expr::new();
        let condition = expr.condition(&cond, now(), Target::Whole);
        let (names, values) = expr.into_parts();
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_to_map(&item)?))
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes);
        let out = retry_conflicts(|| request.clone().send()).await.map_err(|e| sdk_error("PutItem", e))?;
        self.capacity.record(OpKind::Put, out.consumed_capacity.as_ref());
        Ok(())
    }

    async fn update(&self, key: &Key, update: Update, cond: Cond) -> EngineResult<Item> {
        for attempt in 0..=PURGE_RETRIES {
            let now = now();
            let mut expr = Expr::new();
            let update_expression = expr.update(&update)?;
            let condition = expr.condition(&cond, now, Target::Merge);
            let (names, values) = expr.into_parts();
            let request = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_map(key)))
                .update_expression(update_expression)
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .return_values(ReturnValue::AllNew)
                .return_consumed_capacity(ReturnConsumedCapacity::Indexes);
            let result = retry_conflicts(|| request.clone().send()).await;
            match result {
                Ok(out) => {
                    self.capacity.record(OpKind::Update, out.consumed_capacity.as_ref());
                    let attrs =
                        out.attributes.ok_or_else(|| unavailable("UpdateItem returned no attributes"))?;
                    return item_from_map(attrs);
                }
                Err(err) => match sdk_error("UpdateItem", err) {
                    // A merge condition also fails on an expired item (see `Target::Merge`);
                    // for conditions that treat it as absent, purge it and write again. An
                    // unconditional update failed on nothing else, so it is written again even
                    // when someone replaced or deleted the expired item before our purge.
                    EngineError::ConditionFailed
                        if matches!(cond, Cond::None | Cond::NotExists)
                            && attempt < PURGE_RETRIES
                            && (self.purge_expired(key, now).await? || cond == Cond::None) => {}
                    other => return Err(other),
                },
            }
        }
        Err(unavailable("UpdateItem: item kept expiring under us"))
    }

    async fn delete(&self, key: &Key, cond: Cond) -> EngineResult<Option<Item>> {
        let now = now();
        let mut expr = Expr::new();
        let condition = expr.condition(&cond, now, Target::Whole);
        let (names, values) = expr.into_parts();
        let request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes);
        let out = retry_conflicts(|| request.clone().send()).await.map_err(|e| sdk_error("DeleteItem", e))?;
        self.capacity.record(OpKind::Delete, out.consumed_capacity.as_ref());
        match out.attributes {
            Some(raw) if !raw.is_empty() => {
                Ok(Some(item_from_map(raw)?).filter(|item| !item.is_expired(now)))
            }
            _ => Ok(None),
        }
    }

    async fn query(&self, index: Index, key_condition: KeyCondition, page: Page) -> EngineResult<QueryPage> {
        self.query_index(index, key_condition, page).await
    }

    async fn transact_write(&self, ops: Vec<TxOp>) -> EngineResult<()> {
        self.transact(ops).await
    }

    async fn batch_get(&self, keys: Vec<Key>) -> EngineResult<Vec<Item>> {
        self.batch_get_items(keys).await
    }

    async fn batch_write(&self, ops: Vec<WriteOp>) -> EngineResult<()> {
        self.batch_write_ops(ops).await
    }

    async fn scan(&self, page: Page) -> EngineResult<QueryPage> {
        self.scan_table(page).await
    }

    async fn ping(&self) -> EngineResult<()> {
        match table::describe(&self.client, &self.table).await? {
            Some(_) => Ok(()),
            None => Err(unavailable(format!("table {} does not exist", self.table))),
        }
    }
}
