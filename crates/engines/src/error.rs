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
    /// The backing service did not answer, answered with an error, or throttled us past our
    /// retries. Clients see 503.
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
