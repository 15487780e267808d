//! The service layer's one error type. The API turns each variant into a status code and
//! the contract's error body in a single place (`roost_api::error`).

use roost_engines::EngineError;
use thiserror::Error;

/// The result of every service call.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// Why a service call failed; each variant is one status and error code of the contract.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// A request that cannot be understood (a malformed cursor, body or parameter).
    #[error("{0}")]
    BadRequest(String),
    /// No token where one is required, or one that is invalid, expired or revoked.
    #[error("missing, invalid or revoked token")]
    Unauthorized,
    /// Login with an unknown username or a wrong password (deliberately not saying which).
    #[error("wrong username or password")]
    InvalidCredentials,
    /// Signed in, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// The account is suspended by a moderator (sign-in refused).
    #[error("this account is suspended")]
    Suspended,
    /// The named thing (`"user"`, `"post"`, ...) does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request clashes with the current state (a taken username, ...).
    #[error("{message}")]
    Conflict {
        /// The contract's error code for this conflict.
        code: &'static str,
        /// A human sentence.
        message: String,
    },
    /// A body or upload over its size limit.
    #[error("{0}")]
    TooLarge(String),
    /// An upload that is not one of the accepted image types.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Input that parsed but breaks a rule; `field` names the offending field.
    #[error("{field}: {message}")]
    Validation {
        /// The offending field, as the request names it.
        field: &'static str,
        /// Which rule it breaks, for people.
        message: String,
    },
    /// Too many requests; try again later.
    #[error("rate limited")]
    RateLimited {
        /// Seconds to wait before retrying (sent as `Retry-After`).
        retry_after_secs: u64,
    },
    /// An engine did not answer; the request may succeed if retried.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or corrupt data (500); never the client's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// `Validation` of `field` with `message`.
    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Validation { field, message: message.into() }
    }
}

impl From<EngineError> for ServiceError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Unavailable { .. } | EngineError::Throttled { .. } => {
                ServiceError::Unavailable(err.to_string())
            }
            // Conditions and cancellations that a use case expects are handled where they
            // happen; one that reaches this point is a bug.
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for ServiceError {
    fn from(err: serde_json::Error) -> Self {
        ServiceError::Internal(format!("corrupt stored data: {err}"))
    }
}
