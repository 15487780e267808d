//! Analytics for moderators (docs/api.md, "moderation"): active users and activity per day,
//! counted without user ids (see docs/architecture.md, "Privacy-safe analytics").

use axum::extract::State;
use roost_service::analytics::Stats;
use roost_service::Service;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Query};

pub(crate) fn router() -> OpenApiRouter<Service> {
    OpenApiRouter::new().routes(routes!(stats))
}

/// `?days=N` of the stats.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// How many days, today included: 1..90, default 30.
    pub days: Option<u32>,
}

/// Moderators only: per UTC day, oldest first and today (live) last, the distinct active
/// users and the posts, likes, follows, comments and feed reads; and the distinct users
/// active over the last 30 days. User counts are HyperLogLog estimates (±1%) of
/// pseudonymous ids: no user id is kept. `days` outside 1..90 is 400.
#[utoipa::path(get, path = "/api/admin/stats", tag = "moderation", security(("bearer" = [])),
    params(StatsQuery),
    responses((status = 200, body = Stats), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn stats(
    State(service): State<Service>,
    Auth(caller): Auth,
    Query(query): Query<StatsQuery>,
) -> ApiResult<axum::Json<Stats>> {
    Ok(axum::Json(service.stats(&caller, query.days).await?))
}
