//! Accounts and sessions (docs/api.md, "accounts").

use axum::extract::State;
use axum::http::StatusCode;
use roost_service::accounts::{LoginInput, ProfileEdit, RegisterInput};
use roost_service::model::{Me, SignedIn, User};
use roost_service::Service;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::client::ClientAddr;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Json};

/// Accounts and sessions, for `super::all` to merge.
pub(crate) fn router() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me, edit_me))
}

/// Create an account and sign in.
#[utoipa::path(post, path = "/api/auth/register", tag = "accounts", request_body = RegisterInput,
    responses((status = 201, body = SignedIn), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn register(
    State(service): State<Service>,
    ClientAddr(address): ClientAddr,
    Json(input): Json<RegisterInput>,
) -> ApiResult<(StatusCode, axum::Json<SignedIn>)> {
    Ok((StatusCode::CREATED, axum::Json(service.register(input, &address).await?)))
}

/// Sign in: a new session.
#[utoipa::path(post, path = "/api/auth/login", tag = "accounts", request_body = LoginInput,
    responses((status = 200, body = SignedIn), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn login(
    State(service): State<Service>,
    ClientAddr(address): ClientAddr,
    Json(input): Json<LoginInput>,
) -> ApiResult<axum::Json<SignedIn>> {
    Ok(axum::Json(service.login(input, &address).await?))
}

/// Revoke this session, on every instance, at once.
#[utoipa::path(post, path = "/api/auth/logout", tag = "accounts", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(State(service): State<Service>, Auth(caller): Auth) -> ApiResult<StatusCode> {
    service.logout(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user, with `unread_notifications` (counted up to 100).
#[utoipa::path(get, path = "/api/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(service): State<Service>, Auth(caller): Auth) -> ApiResult<axum::Json<Me>> {
    Ok(axum::Json(service.me(&caller).await?))
}

/// Edit one's profile; absent fields stay as they are.
#[utoipa::path(patch, path = "/api/me", tag = "accounts", security(("bearer" = [])), request_body = ProfileEdit,
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit_me(
    State(service): State<Service>,
    Auth(caller): Auth,
    Json(edit): Json<ProfileEdit>,
) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(service.edit_profile(&caller, edit).await?))
}
