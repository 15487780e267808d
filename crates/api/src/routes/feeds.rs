//! Feeds (docs/api.md, "feeds"): the home feed, a user's posts, the public timeline.

use axum::extract::{Path, State};
use roost_service::model::{Paged, Post};
use roost_service::Service;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, MaybeAuth, Query};

/// Feeds, for `super::all` to merge.
pub(crate) fn router() -> OpenApiRouter<Service> {
    OpenApiRouter::new().routes(routes!(home)).routes(routes!(user_posts)).routes(routes!(timeline))
}

/// The home feed: posts of the people the caller follows and the caller's own, newest first.
#[utoipa::path(get, path = "/api/feed", tag = "feeds", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Paged<Post>), (status = 401, body = ErrorBody)))]
pub async fn home(
    State(service): State<Service>,
    Auth(caller): Auth,
    Query(page): Query<PageQuery>,
) -> ApiResult<axum::Json<Paged<Post>>> {
    Ok(axum::Json(service.home_feed(&caller, &page.into()).await?))
}

/// A user's posts, newest first.
#[utoipa::path(get, path = "/api/users/{user}/posts", tag = "feeds", security((), ("bearer" = [])),
    params(("user" = String, Path, description = "id or username"), PageQuery),
    responses((status = 200, body = Paged<Post>), (status = 404, body = ErrorBody)))]
pub async fn user_posts(
    State(service): State<Service>,
    MaybeAuth(caller): MaybeAuth,
    Path(user): Path<String>,
    Query(page): Query<PageQuery>,
) -> ApiResult<axum::Json<Paged<Post>>> {
    Ok(axum::Json(service.user_posts(caller.as_ref(), &user, &page.into()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// RFC 3339; default 24 hours before `until`.
    pub since: Option<String>,
    /// RFC 3339; default now.
    pub until: Option<String>,
    /// 1..100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The public timeline: every post in a time window, newest first.
#[utoipa::path(get, path = "/api/timeline", tag = "feeds", security((), ("bearer" = [])), params(TimelineQuery),
    responses((status = 200, body = Paged<Post>), (status = 422, body = ErrorBody)))]
pub async fn timeline(
    State(service): State<Service>,
    MaybeAuth(caller): MaybeAuth,
    Query(q): Query<TimelineQuery>,
) -> ApiResult<axum::Json<Paged<Post>>> {
    let page = PageQuery { limit: q.limit, cursor: q.cursor }.into();
    Ok(axum::Json(service.timeline(caller.as_ref(), q.since.as_deref(), q.until.as_deref(), &page).await?))
}
