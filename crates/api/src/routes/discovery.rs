//! Discovery (API.md "Discovery"): who to follow, trending posts, post search.

use axum::extract::State;
use roost_service::model::{Items, User};
use roost_service::Service;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Query};

#[derive(Debug, Deserialize, IntoParams)]
pub struct SuggestionsQuery {
    /// 1..50, default 20.
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
