//! The service layer's one error type. The API turns each variant into a status code and
//! the contract's error body in a single place (`roost_api::error`).

use roost_engines::EngineError;
use thiserror::Error;

pub type ServiceResult<T> = Result<T, ServiceError>;

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing, invalid or revoked token")]
    Unauthorized,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    /// The account is suspended by a moderator (sign-in refused).
    #[error("this account is suspended")]
    Suspended,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Input that parsed but breaks a rule; `field` names the offending field.
    #[error("{field}: {message}")]
    Validation { field: &'static str, message: String },
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Validation { field, message: message.into() }
    }
}

impl From<EngineError> for ServiceError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Unavailable { .. } => ServiceError::Unavailable(err.to_string()),
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
