//! What `roost serve --init` turns on to protect a new table beyond creating it: encryption
//! at rest under a KMS key (`SSESpecification` on `CreateTable`) and point-in-time recovery
//! (`UpdateContinuousBackups`), the continuous backup that restores the table to any second
//! of the last 35 days.
//!
//! DynamoDB encrypts every table at rest anyway, under a key AWS owns; asking for KMS puts
//! the table under the account's AWS-managed key (`aws/dynamodb`), whose use shows in
//! CloudTrail. Emulators vary in what they implement, so the caller treats a refusal of
//! either as a warning, never as a reason not to start.

use aws_sdk_dynamodb::types::{PointInTimeRecoverySpecification, SseSpecification, SseType};
use roost_engines::EngineResult;

use super::errors::{build_error, sdk_error};
use super::DynamoStore;

/// Encryption at rest under the AWS-managed KMS key.
pub(super) fn kms_encryption() -> SseSpecification {
    SseSpecification::builder().enabled(true).sse_type(SseType::Kms).build()
}

impl DynamoStore {
    /// Turns on point-in-time recovery (idempotent: asking again changes nothing).
    pub async fn enable_point_in_time_recovery(&self) -> EngineResult<()> {
        let spec = PointInTimeRecoverySpecification::builder()
            .point_in_time_recovery_enabled(true)
            .build()
            .map_err(build_error)?;
        self.client
            .update_continuous_backups()
            .table_name(&self.table)
            .point_in_time_recovery_specification(spec)
            .send()
            .await
            .map_err(|err| sdk_error("UpdateContinuousBackups", err))?;
        Ok(())
    }
}
