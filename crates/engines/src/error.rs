//! The one error type of the engine layer. The service maps these to domain errors; only
//! `Unavailable` ever reaches a client as such (503).

use thiserror::Error;

/// The result of every engine call.
pub type EngineResult<T> = Result<T, EngineError>;

/// Why an engine call failed.
#[derive(Debug, Error)]
pub enum EngineError {
    /// A conditional write found the item in a state other than the one it required
    /// (DynamoDB's `ConditionalCheckFailedException`).
    #[error("condition check failed")]
    ConditionFailed,
    /// `transact_write` wrote nothing; `reasons[i]` says why operation `i` failed, `None`
    /// where it would have succeeded (DynamoDB's `CancellationReasons`).
    #[error("transaction cancelled: {reasons:?}")]
    TransactionCanceled {
        /// One entry per operation, in the order they were given.
        reasons: Vec<Option<crate::store::CancelReason>>,
    },
    /// The request itself is not valid for the engine (too many items in one transaction,
    /// a value of the wrong type for a counter, ...). A bug in the caller.
    #[error("invalid engine request: {0}")]
    Invalid(String),
    /// The backend refused the call for now and applied nothing (DynamoDB's throttling,
    /// past the SDK's own retries): safe to retry, even a conditional or counting write.
    /// Clients see 503 once the retries of `ResilientStore` are spent.
    #[error("{engine} throttled: {message}")]
    Throttled {
        /// Which engine or backend refused, as in `Unavailable`.
        engine: &'static str,
        /// What the backing service said.
        message: String,
    },
    /// The backing service did not answer, or answered with an error: the call may or may
    /// not have been applied. Clients see 503.
    #[error("{engine} unavailable: {message}")]
    Unavailable {
        /// Which engine or backend failed, a short name such as "sqlite", "redis" or "media".
        engine: &'static str,
        /// What the backing service or its client said.
        message: String,
    },
}

impl EngineError {
    /// `Unavailable` for `engine` (a short name such as "redis"), keeping `err`'s message.
    pub fn unavailable(engine: &'static str, err: impl std::fmt::Display) -> Self {
        EngineError::Unavailable { engine, message: err.to_string() }
    }
}
