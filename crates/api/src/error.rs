//! Errors as the contract writes them: `{"error": {"code", "message"}}` with the right
//! status. Every failure of every handler passes through `ApiError::into_response`.
//!
//! A server error (5xx) never shows its detail (an engine's message, a panic, a file path):
//! its body carries a generic sentence and the request id, and the detail goes to the log
//! line under that same id, where an operator finds it from what the client reports.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use roost_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

/// The `Retry-After` of a 503: an engine that does not answer (retried in the background:
/// the cache's probe, the SDKs' reconnects), or an instance too busy to take the request.
/// Short, since either can pass in a moment; clients add their own backoff.
pub(crate) const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;
/// The code of a request shed under overload: counted (`roost_http_shed_total`), not
/// logged one line each, which would add to the load it sheds.
const OVERLOADED: &str = "overloaded";

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// Why a request failed, for programs (`code`) and for people (`message`).
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code clients can branch on.
    pub code: String,
    /// A human sentence.
    pub message: String,
    /// On server errors (5xx): the request's id, also in the `X-Request-Id` header and in
    /// the server's log line with the detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A failed request: a service error, or a request the HTTP layer itself refused.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after_secs: None }
    }
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    /// A bug: the detail is logged, never shown (see the module doc).
    pub fn internal(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// A request shed because the instance is at its limit of requests in flight (503).
    pub(crate) fn overloaded() -> Self {
        let message = "too many requests in flight on this instance";
        ApiError {
            retry_after_secs: Some(UNAVAILABLE_RETRY_AFTER_SECS),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, OVERLOADED, message)
        }
    }
    /// A body axum would not read: over the body limit (413), else malformed (400).
    pub fn body_rejected(status: StatusCode, message: impl Into<String>) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(status, "too_large", message)
        } else {
            ApiError::bad_request(message)
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        let message = err.to_string();
        let (status, code) = match &err {
            ServiceError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ServiceError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ServiceError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            ServiceError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ServiceError::Suspended => (StatusCode::FORBIDDEN, "suspended"),
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ServiceError::Conflict { code, .. } => (StatusCode::CONFLICT, *code),
            ServiceError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ServiceError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ServiceError::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ServiceError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ServiceError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ServiceError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let retry_after_secs = match err {
            ServiceError::RateLimited { retry_after_secs } => Some(retry_after_secs),
            ServiceError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        };
        ApiError { status, code, message, retry_after_secs }
    }
}

/// What a client is told instead of a server error's detail.
fn public_message(status: StatusCode) -> &'static str {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        "the service is unavailable for the moment; try again shortly"
    } else {
        "internal error; report the request id if it persists"
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (message, request_id) = if self.code == OVERLOADED {
            (self.message, None)
        } else if self.status.is_server_error() {
            let request_id = crate::access_log::current_request_id();
            tracing::error!(
                status = self.status.as_u16(),
                code = self.code,
                request_id = request_id.as_deref().unwrap_or("-"),
                detail = %self.message,
                "request failed"
            );
            (public_message(self.status).to_string(), request_id)
        } else {
            (self.message, None)
        };
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_string(), message, request_id } };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    async fn body_of(err: ApiError) -> (StatusCode, serde_json::Value) {
        let response =
            crate::access_log::with_request_id("req-1".into(), async { err.into_response() }).await;
        let status = response.status();
        let bytes = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn server_errors_hide_their_detail_and_carry_the_request_id() {
        let secret = "transaction touches Key { pk: USER#1 } twice at /var/lib/roost";
        for (err, status) in [
            (ApiError::from(ServiceError::Internal(secret.into())), 500),
            (ApiError::from(ServiceError::Unavailable(secret.into())), 503),
            (ApiError::internal(secret), 500),
        ] {
            let retry_after = err.retry_after_secs;
            let (got, body) = body_of(err).await;
            assert_eq!(retry_after.is_some(), status == 503, "a 503 says when to come back");
            assert_eq!(got.as_u16(), status);
            let text = body.to_string();
            assert!(!text.contains("USER#1") && !text.contains("/var/lib"), "{text}");
            assert_eq!(body["error"]["request_id"], "req-1", "{text}");
        }
    }

    #[tokio::test]
    async fn unavailable_says_when_to_retry() {
        let response = ApiError::from(ServiceError::Unavailable("redis unavailable".into())).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], UNAVAILABLE_RETRY_AFTER_SECS.to_string());
    }

    #[tokio::test]
    async fn client_errors_keep_their_message_and_no_request_id() {
        let (status, body) = body_of(ServiceError::validation("bio", "too long").into()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["message"], "bio: too long");
        assert!(body["error"].get("request_id").is_none());
    }
}
