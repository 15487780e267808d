//! Users and the social graph (docs/api.md, "users"). Paths take a user id
//! or a username.

use axum::extract::{Path, State};
use roost_service::graph::Direction;
use roost_service::model::{BlockState, FollowState, Items, MuteState, Paged, User};
use roost_service::Service;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, MaybeAuth, Query};

/// Users and the graph, for `super::all` to merge.
pub(crate) fn router() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(profile))
        .routes(routes!(follow, unfollow))
        .routes(routes!(followers))
        .routes(routes!(following))
        .routes(routes!(block, unblock))
        .routes(routes!(mute, unmute))
        .routes(routes!(blocks))
        .routes(routes!(mutes))
}

/// A profile.
#[utoipa::path(get, path = "/api/users/{user}", tag = "users", security((), ("bearer" = [])), params(("user" = String, Path, description = "id or username")),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn profile(
    State(service): State<Service>,
    MaybeAuth(caller): MaybeAuth,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(service.user(caller.as_ref(), &user).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A prefix of a username or display name, any case.
    #[param(min_length = 1)]
    pub q: String,
    /// 1..100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// Username / display-name autocomplete.
#[utoipa::path(get, path = "/api/users/search", tag = "users", security((), ("bearer" = [])), params(SearchQuery),
    responses((status = 200, body = Items<User>), (status = 422, body = ErrorBody)))]
pub async fn search(
    State(service): State<Service>,
    MaybeAuth(caller): MaybeAuth,
    Query(query): Query<SearchQuery>,
) -> ApiResult<axum::Json<Items<User>>> {
    let limit = roost_service::cursor::PageRequest { limit: query.limit, cursor: None }.limit()?;
    Ok(axum::Json(Items { items: service.search_users(caller.as_ref(), &query.q, limit).await? }))
}

/// Follow (idempotent).
#[utoipa::path(post, path = "/api/users/{user}/follow", tag = "users", security(("bearer" = [])),
    params(("user" = String, Path, description = "id or username")),
    responses((status = 200, body = FollowState), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn follow(
    State(service): State<Service>,
    Auth(caller): Auth,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<FollowState>> {
    Ok(axum::Json(service.follow(&caller, &user).await?))
}

/// Unfollow (idempotent).
#[utoipa::path(delete, path = "/api/users/{user}/follow", tag = "users", security(("bearer" = [])),
    params(("user" = String, Path, description = "id or username")),
    responses((status = 200, body = FollowState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn unfollow(
    State(service): State<Service>,
    Auth(caller): Auth,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<FollowState>> {
    Ok(axum::Json(service.unfollow(&caller, &user).await?))
}

/// Who follows the user, newest first.
#[utoipa::path(get, path = "/api/users/{user}/followers", tag = "users", security((), ("bearer" = [])),
    params(("user" = String, Path, description = "id or username"), PageQuery),
    responses((status = 200, body = Paged<User>), (status = 404, body = ErrorBody)))]
pub async fn followers(
    State(service): State<Service>,
    MaybeAuth(caller): MaybeAuth,
    Path(user): Path<String>,
    Query(page): Query<PageQuery>,
) -> ApiResult<axum::Json<Paged<User>>> {
    Ok(axum::Json(service.connections(caller.as_ref(), &user, Direction::Followers, &page.into()).await?))
}

/// Whom the user follows, newest first.
#[utoipa::path(get, path = "/api/users/{user}/following", tag = "users", security((), ("bearer" = [])),
    params(("user" = String, Path, description = "id or username"), PageQuery),
    responses((status = 200, body = Paged<User>), (status = 404, body = ErrorBody)))]
pub async fn following(
    State(service): State<Service>,
    MaybeAuth(caller): MaybeAuth,
    Path(user): Path<String>,
    Query(page): Query<PageQuery>,
) -> ApiResult<axum::Json<Paged<User>>> {
    Ok(axum::Json(service.connections(caller.as_ref(), &user, Direction::Following, &page.into()).await?))
}

/// Block (idempotent): the follows both ways end, and neither sees nor hears from the other.
#[utoipa::path(post, path = "/api/users/{user}/block", tag = "users", security(("bearer" = [])),
    params(("user" = String, Path, description = "id or username")),
    responses((status = 200, body = BlockState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn block(
    State(service): State<Service>,
    Auth(caller): Auth,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<BlockState>> {
    Ok(axum::Json(service.set_block(&caller, &user, true).await?))
}

/// Unblock (idempotent); the follows a block ended stay ended.
#[utoipa::path(delete, path = "/api/users/{user}/block", tag = "users", security(("bearer" = [])),
    params(("user" = String, Path, description = "id or username")),
    responses((status = 200, body = BlockState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn unblock(
    State(service): State<Service>,
    Auth(caller): Auth,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<BlockState>> {
    Ok(axum::Json(service.set_block(&caller, &user, false).await?))
}

/// Mute (idempotent): the user's posts and notifications are hidden from the caller.
#[utoipa::path(post, path = "/api/users/{user}/mute", tag = "users", security(("bearer" = [])),
    params(("user" = String, Path, description = "id or username")),
    responses((status = 200, body = MuteState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn mute(
    State(service): State<Service>,
    Auth(caller): Auth,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<MuteState>> {
    Ok(axum::Json(service.set_mute(&caller, &user, true).await?))
}

/// Unmute (idempotent).
#[utoipa::path(delete, path = "/api/users/{user}/mute", tag = "users", security(("bearer" = [])),
    params(("user" = String, Path, description = "id or username")),
    responses((status = 200, body = MuteState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn unmute(
    State(service): State<Service>,
    Auth(caller): Auth,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<MuteState>> {
    Ok(axum::Json(service.set_mute(&caller, &user, false).await?))
}

/// Whom the caller blocks, newest first.
#[utoipa::path(get, path = "/api/me/blocks", tag = "users", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Paged<User>), (status = 401, body = ErrorBody)))]
pub async fn blocks(
    State(service): State<Service>,
    Auth(caller): Auth,
    Query(page): Query<PageQuery>,
) -> ApiResult<axum::Json<Paged<User>>> {
    Ok(axum::Json(service.blocked_users(&caller, &page.into()).await?))
}

/// Whom the caller mutes, newest first.
#[utoipa::path(get, path = "/api/me/mutes", tag = "users", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Paged<User>), (status = 401, body = ErrorBody)))]
pub async fn mutes(
    State(service): State<Service>,
    Auth(caller): Auth,
    Query(page): Query<PageQuery>,
) -> ApiResult<axum::Json<Paged<User>>> {
    Ok(axum::Json(service.muted_users(&caller, &page.into()).await?))
}
