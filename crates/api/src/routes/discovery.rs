//! Discovery (docs/api.md, "Discovery"): who to follow, trending posts, post search.

use axum::extract::State;
use roost_service::cursor::PageRequest;
use roost_service::model::{Items, Paged, Post, User};
use roost_service::trending::Window;
use roost_service::Service;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, MaybeAuth, Query};

pub(crate) fn router() -> OpenApiRouter<Service> {
    OpenApiRouter::new().routes(routes!(suggestions)).routes(routes!(trending)).routes(routes!(search_posts))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestionsQuery {
    /// 1..50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

/// Accounts to follow: friends of friends by mutual count, then popular accounts.
#[utoipa::path(get, path = "/api/users/suggestions", tag = "discovery", security(("bearer" = [])),
    params(SuggestionsQuery),
    responses((status = 200, body = Items<User>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn suggestions(
    State(service): State<Service>,
    Auth(caller): Auth,
    Query(query): Query<SuggestionsQuery>,
) -> ApiResult<axum::Json<Items<User>>> {
    Ok(axum::Json(Items { items: service.suggestions(&caller, query.limit).await? }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendingQuery {
    /// `1h` or `24h` (the default).
    #[param(pattern = "^(1h|24h)$")]
    pub window: Option<String>,
    /// 1..50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

/// The posts with the most recent engagement (likes, comments), decayed over the window.
#[utoipa::path(get, path = "/api/trending", tag = "discovery", security((), ("bearer" = [])), params(TrendingQuery),
    responses((status = 200, body = Items<Post>), (status = 422, body = ErrorBody)))]
pub async fn trending(
    State(service): State<Service>,
    MaybeAuth(caller): MaybeAuth,
    Query(query): Query<TrendingQuery>,
) -> ApiResult<axum::Json<Items<Post>>> {
    let window = Window::parse(query.window.as_deref())?;
    Ok(axum::Json(Items { items: service.trending(caller.as_ref(), window, query.limit).await? }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostSearchQuery {
    /// Words that must all appear in the post; the last one may be a prefix.
    pub q: Option<String>,
    /// 1..100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Full-text post search, newest first.
#[utoipa::path(get, path = "/api/search/posts", tag = "discovery", security((), ("bearer" = [])), params(PostSearchQuery),
    responses((status = 200, body = Paged<Post>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn search_posts(
    State(service): State<Service>,
    MaybeAuth(caller): MaybeAuth,
    Query(query): Query<PostSearchQuery>,
) -> ApiResult<axum::Json<Paged<Post>>> {
    let page = PageRequest { limit: query.limit, cursor: query.cursor };
    Ok(axum::Json(service.search_posts(caller.as_ref(), query.q.as_deref(), &page).await?))
}
