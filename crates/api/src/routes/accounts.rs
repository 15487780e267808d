//! Accounts and sessions (docs/api.md, "accounts").

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use roost_service::accounts::{LoginInput, PasswordChange, ProfileEdit, RegisterInput};
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
        .routes(routes!(me, edit_me, erase_me))
        .routes(routes!(change_password))
        .routes(routes!(export))
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
    responses((status = 200, body = SignedIn), (status = 401, body = ErrorBody),
        (status = 403, description = "`suspended`: a moderator suspended the account", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 429, body = ErrorBody)))]
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

/// Change one's password; every other session of the account ends at once, on every
/// instance (this one stays signed in).
#[utoipa::path(post, path = "/api/me/password", tag = "accounts", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204), (status = 401, body = ErrorBody, description = "no session, or `current` is wrong (`invalid_credentials`)"),
        (status = 422, body = ErrorBody)))]
pub async fn change_password(
    State(service): State<Service>,
    Auth(caller): Auth,
    Json(input): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    service.change_password(&caller, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything the signed-in user made, as one JSON document: `profile`, `posts` (with their
/// images' links), `comments`, `likes` (post ids), `following` and `followers`,
/// `notifications`, `media`. No secrets.
#[utoipa::path(get, path = "/api/me/export", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, content_type = "application/json", description = "the archive"), (status = 401, body = ErrorBody)))]
pub async fn export(State(service): State<Service>, Auth(caller): Auth) -> ApiResult<Response> {
    let archive = service.export(&caller).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"roost-export.json\""),
        ],
        archive,
    )
        .into_response())
}

/// Erase one's account. It closes at once (the token and every other session end, sign-in
/// fails); every trace is then removed in the background, after which the username is free.
#[utoipa::path(delete, path = "/api/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 202), (status = 401, body = ErrorBody)))]
pub async fn erase_me(State(service): State<Service>, Auth(caller): Auth) -> ApiResult<StatusCode> {
    service.request_erasure(&caller).await?;
    Ok(StatusCode::ACCEPTED)
}
