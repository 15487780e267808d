//! SDK errors → `EngineError`, and the backoff for the retries the SDK cannot do for us.
//!
//! The SDK already retries throttling and transient faults itself (adaptive mode, see
//! `DynamoConfig`); what is left to us are the partial successes DynamoDB reports as data
//! (unprocessed batch keys, cancelled transactions), which need a backoff of their own.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use roost_engines::EngineError;

use super::ENGINE;

/// Retries of a write that conflicts with a transaction in flight on the same item.
pub(crate) const CONFLICT_RETRIES: u32 = 8;

/// Sends a request (again) while DynamoDB answers that a transaction in flight holds the item
/// (`TransactionConflictException`): transient by nature, yet not an error the SDK retries.
pub(crate) async fn retry_conflicts<T, E, F, Fut>(mut send: F) -> Result<T, SdkError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E>>>,
    E: ProvideErrorMetadata,
{
    let mut attempt = 0;
    loop {
        match send().await {
            Err(err)
                if attempt < CONFLICT_RETRIES
                    && err.as_service_error().and_then(|e| e.code())
                        == Some("TransactionConflictException") =>
            {
                backoff(attempt).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Any failed SDK call as an engine error. A failed condition is the caller's expected
/// outcome, a validation error is a bug in the request (no point in a 503 and a retry);
/// everything else — network, throttling past our retries, a missing table — is the
/// service being unavailable.
pub(crate) fn sdk_error<E>(operation: &str, err: SdkError<E>) -> EngineError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(service) = err.as_service_error() {
        match service.code() {
            Some("ConditionalCheckFailedException") => return EngineError::ConditionFailed,
            Some(
                code @ ("ThrottlingException"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"),
            ) => {
                // Only throttling that outlasted the SDK's own retries reaches here. A throttled
                // request applied nothing, which lets `ResilientStore` retry even a conditional
                // write.
                metrics::counter!("roost_dynamodb_throttled_requests_total", "op" => operation.to_owned(), "code" => code.to_owned())
                    .increment(1);
                return EngineError::Throttled { engine: ENGINE, message: format!("{operation}: {code}") };
            }
            Some("ValidationException") => {
                return EngineError::Invalid(format!(
                    "dynamodb {operation}: {}",
                    service.message().unwrap_or("validation error")
                ))
            }
            _ => {}
        }
    }
    unavailable(format!("{operation}: {}", DisplayErrorContext(&err)))
}

pub(crate) fn unavailable(message: impl Into<String>) -> EngineError {
    EngineError::Unavailable { engine: ENGINE, message: message.into() }
}

/// A builder the SDK refused: a required field we failed to set, so a bug of ours.
pub(crate) fn build_error(err: aws_sdk_dynamodb::error::BuildError) -> EngineError {
    EngineError::Invalid(format!("dynamodb request: {err}"))
}

/// Sleeps before retry number `attempt` (0-based): exponential from 50 ms, capped at 2 s,
/// with full jitter so that instances retrying the same hot partition spread out.
pub(crate) async fn backoff(attempt: u32) {
    let cap_ms = (50u64 << attempt.min(10)).min(2_000);
    let jitter = RandomState::new().build_hasher().finish() % (cap_ms / 2 + 1);
    tokio::time::sleep(Duration::from_millis(cap_ms / 2 + jitter)).await;
}
