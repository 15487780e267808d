//! Presence (docs/api.md, "realtime"): who is online, and when a user was last seen.

use axum::extract::{Path, State};
use roost_service::model::{OnlineCount, Presence};
use roost_service::Service;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};

pub(crate) fn router() -> OpenApiRouter<Service> {
    OpenApiRouter::new().routes(routes!(presence)).routes(routes!(online))
}

/// Whether a user is online (an authenticated request or an open stream in the last five
/// minutes), and when they were last seen.
#[utoipa::path(get, path = "/api/users/{user}/presence", tag = "realtime",
    params(("user" = String, Path, description = "id or username")),
    responses((status = 200, body = Presence), (status = 404, body = ErrorBody)))]
pub async fn presence(
    State(service): State<Service>,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<Presence>> {
    Ok(axum::Json(service.presence(&user).await?))
}

/// How many users are online.
#[utoipa::path(get, path = "/api/online", tag = "realtime", responses((status = 200, body = OnlineCount)))]
pub async fn online(State(service): State<Service>) -> ApiResult<axum::Json<OnlineCount>> {
    Ok(axum::Json(service.online_count().await?))
}
