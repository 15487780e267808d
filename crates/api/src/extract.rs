//! Typed extractors whose failures speak the contract: the caller from the bearer token,
//! JSON bodies (malformed → 400, wrong shape → 422 naming the field), query strings.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use roost_service::model::Caller;
use roost_service::{Service, ServiceError};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A signed-in caller; the request fails with 401 without a valid token.
pub struct Auth(pub Caller);

/// The caller if a valid token came with the request. A token that is present but invalid
/// is still refused (401): silently treating it as anonymous would hide a client's bug.
pub struct MaybeAuth(pub Option<Caller>);

/// A signed-in caller whose token may also come as `?access_token=`: only for
/// `GET /api/stream`, because EventSource cannot set headers. Everywhere else a token in
/// the URL is ignored (URLs end up in logs, histories and referrers).
pub struct StreamAuth(pub Caller);

/// The `Authorization: Bearer` token, if the header is there.
fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

fn query_token(parts: &Parts) -> Option<&str> {
    parts.uri.query()?.split('&').find_map(|pair| pair.strip_prefix("access_token="))
}

impl FromRequestParts<Service> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer_token(parts) else { return Ok(MaybeAuth(None)) };
        Ok(MaybeAuth(Some(service.authenticate(token).await?)))
    }
}

impl FromRequestParts<Service> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, Self::Rejection> {
        match MaybeAuth::from_request_parts(parts, service).await? {
            MaybeAuth(Some(caller)) => Ok(Auth(caller)),
            MaybeAuth(None) => Err(ServiceError::Unauthorized.into()),
        }
    }
}

impl FromRequestParts<Service> for StreamAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).or_else(|| query_token(parts)).ok_or(ServiceError::Unauthorized)?;
        Ok(StreamAuth(service.authenticate(token).await?))
    }
}

/// The largest JSON body read (every JSON input of the API fits in a fraction of it);
/// uploads have their own, larger cap.
pub const JSON_MAX_BYTES: usize = 64 * 1024;

/// A JSON body of at most [`JSON_MAX_BYTES`] (larger → 413, refused from its
/// `Content-Length` before reading when it has one). Read whatever the Content-Type says
/// (curl's `-d` sends a form type), then: not JSON at all → 400; JSON of the wrong shape →
/// 422 with serde's message, which names the field.
pub struct Json<T>(pub T);

fn too_large() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("a JSON body may be at most {JSON_MAX_BYTES} bytes"),
    )
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > JSON_MAX_BYTES as u64) {
            return Err(too_large());
        }
        let bytes: Bytes = match http_body_util::BodyExt::collect(http_body_util::Limited::new(
            req.into_body(),
            JSON_MAX_BYTES,
        ))
        .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(err) if err.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
                return Err(too_large())
            }
            Err(err) => return Err(ApiError::bad_request(format!("could not read the body: {err}"))),
        };
        parse_json(&bytes).map(Json)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let body = if bytes.iter().all(u8::is_ascii_whitespace) { &b"{}"[..] } else { bytes };
    // serde's own message names a missing field but not one of the wrong type; the path
    // does ("bio: invalid type: integer `42`, expected a string").
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize(&mut de) {
        // Like `serde_json::from_slice`: nothing but whitespace may follow the value.
        Ok(value) => match de.end() {
            Ok(()) => Ok(value),
            Err(err) => Err(ApiError::bad_request(format!("malformed JSON: {err}"))),
        },
        Err(err) if err.inner().is_data() => {
            let message = match err.path().to_string() {
                path if path == "." => err.inner().to_string(),
                path => format!("{path}: {}", err.inner()),
            };
            Err(ServiceError::Validation { field: "body", message }.into())
        }
        Err(err) => Err(ApiError::bad_request(format!("malformed JSON: {}", err.inner()))),
    }
}

/// A query string; one that does not parse is a malformed request (400).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// The `Idempotency-Key` header of a create, if sent, for the request `request` (see
/// `roost_service::idempotency`); a value that is not visible ASCII is a 422.
pub fn idempotency_key<T: serde::Serialize>(
    headers: &axum::http::HeaderMap,
    scope: &'static str,
    request: &T,
) -> Result<Option<roost_service::idempotency::IdempotencyKey>, ApiError> {
    use roost_service::idempotency::{IdempotencyKey, HEADER};
    let Some(value) = headers.get(HEADER) else { return Ok(None) };
    let key =
        value.to_str().map_err(|_| ServiceError::validation(HEADER, "must be visible ASCII characters"))?;
    Ok(Some(IdempotencyKey::new(scope, key, request)?))
}

/// The `Idempotency-Key` header, as the OpenAPI document lists it on the creates.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyHeader {
    /// Any string of 1 to 255 visible ASCII characters, new for each new request (a UUID
    /// will do); remembered 24 h per user. A retry with the same key and request answers
    /// what the first one created; with another request, or once what it created was
    /// deleted, 422.
    // The rule is stated in words, as for `Last-Event-ID`, not as `pattern`/`maxLength`:
    // schemathesis 4's negative cases for those crashed it now and then (a hypothesis error).
    #[param(rename = "Idempotency-Key", required = false)]
    #[allow(dead_code)]
    idempotency_key: String,
}
