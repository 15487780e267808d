//! Creating the single table (`roost serve --init`): key schema, both GSIs, TTL,
//! encryption at rest.
//!
//! Several instances may run `--init` at once, so every step tolerates having been done by
//! someone else in the meantime: an existing table is left as it is, a concurrent create is
//! waited for, and TTL is only switched on when it is not already.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableDescription, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use roost_engines::{EngineError, EngineResult};

use super::attributes::{GSI1PK, GSI1SK, GSI2PK, GSI2SK, PK, SK, TTL};
use super::errors::{build_error, sdk_error, unavailable};
use super::protection::kms_encryption;
use super::DynamoStore;

/// How long a new table may take to become ACTIVE (real DynamoDB: seconds to a minute).
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);
const POLL_INTERVAL: Duration = Duration::from_millis(500);

pub(crate) const GSI1: &str = "gsi1";
pub(crate) const GSI2: &str = "gsi2";

impl DynamoStore {
    /// Creates the table with its two GSIs (on-demand billing, all attributes projected,
    /// encrypted under KMS: see `protection`) if it does not exist, waits until it and its
    /// indexes are ACTIVE, and enables TTL on `ttl`. An existing table is not altered beyond
    /// TTL.
    pub async fn create_table_if_missing(&self) -> EngineResult<()> {
        if describe(&self.client, &self.table).await?.is_none() {
            if let Err(err) = self.create_table(true).await {
                // An emulator that knows no KMS; a real failure fails again below.
                tracing::warn!(table = %self.table, %err, "CreateTable with KMS encryption refused; creating the table with the default encryption");
                self.create_table(false).await?;
            }
        }
        self.wait_active().await?;
        self.enable_ttl().await
    }

    async fn create_table(&self, kms: bool) -> EngineResult<()> {
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().map_err(build_error)
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_error)
        };
        let gsi = |name: &str, pk: &str, sk: &str| -> EngineResult<GlobalSecondaryIndex> {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash)?)
                .key_schema(key(sk, KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(build_error)
        };
        let mut request = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .global_secondary_indexes(gsi(GSI1, GSI1PK, GSI1SK)?)
            .global_secondary_indexes(gsi(GSI2, GSI2PK, GSI2SK)?);
        for name in [PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK] {
            request = request.attribute_definitions(attr(name)?);
        }
        if kms {
            request = request.sse_specification(kms_encryption());
        }
        match request.send().await {
            Ok(_) => {
                tracing::info!(table = %self.table, "created DynamoDB table");
                Ok(())
            }
            // Another instance created it between our describe and our create.
            Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => Ok(()),
            Err(err) => Err(sdk_error("CreateTable", err)),
        }
    }

    /// Polls until the table and every GSI are ACTIVE: a table is usable for writes before
    /// its indexes finish, but queries on a CREATING index fail.
    async fn wait_active(&self) -> EngineResult<()> {
        let deadline = Instant::now() + ACTIVE_TIMEOUT;
        loop {
            if let Some(table) = describe(&self.client, &self.table).await? {
                let indexes_active = table
                    .global_secondary_indexes()
                    .iter()
                    .all(|gsi| gsi.index_status.as_ref().is_none_or(|s| *s == IndexStatus::Active));
                if table.table_status == Some(TableStatus::Active) && indexes_active {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(unavailable(format!(
                    "table {} did not become ACTIVE within {ACTIVE_TIMEOUT:?}",
                    self.table
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn enable_ttl(&self) -> EngineResult<()> {
        if self.ttl_enabled().await? {
            return Ok(());
        }
        let spec = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(TTL)
            .build()
            .map_err(build_error)?;
        let result = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(spec)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Another instance may have enabled it since we looked ("TimeToLive is already
            // enabled"); any other refusal stands.
            Err(err) => match sdk_error("UpdateTimeToLive", err) {
                EngineError::Invalid(_) if self.ttl_enabled().await? => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Whether TTL is on (or being switched on) for the table, on whatever attribute.
    async fn ttl_enabled(&self) -> EngineResult<bool> {
        let current = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTimeToLive", e))?;
        let Some(ttl) = current.time_to_live_description else { return Ok(false) };
        let on =
            matches!(ttl.time_to_live_status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling));
        if on && ttl.attribute_name.as_deref() != Some(TTL) {
            // DynamoDB allows one TTL attribute per table; reads still hide expired items.
            tracing::warn!(
                table = %self.table,
                attribute = ?ttl.attribute_name,
                "TTL is enabled on another attribute; items will not expire server-side"
            );
        }
        Ok(on)
    }
}

/// The table's description, `None` when it does not exist.
pub(crate) async fn describe(client: &Client, table: &str) -> EngineResult<Option<TableDescription>> {
    match client.describe_table().table_name(table).send().await {
        Ok(out) => Ok(out.table),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(None),
        Err(err) => Err(sdk_error("DescribeTable", err)),
    }
}
