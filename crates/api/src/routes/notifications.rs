//! Notifications (docs/api.md, "Notifications"): the caller's, newest first, and marking them read.

use axum::extract::State;
use axum::http::StatusCode;
use roost_service::model::{Notification, Paged};
use roost_service::notifications::MarkRead;
use roost_service::Service;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Json, Query};

pub(crate) fn router() -> OpenApiRouter<Service> {
    OpenApiRouter::new().routes(routes!(notifications)).routes(routes!(mark_read))
}

/// The caller's notifications, newest first. `kind` is `follow`, `like` (of your post),
/// `comment` (on your post; `comment_id` names it), `reply` (to your comment; `comment_id`
/// names the reply) or `mention` (in a post, or in a comment when `comment_id` is set).
/// `read` is true for ids up to the last `POST /api/notifications/read`. Notifications
/// about a deleted post are left out.
#[utoipa::path(get, path = "/api/notifications", tag = "notifications", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = Paged<Notification>), (status = 401, body = ErrorBody)))]
pub async fn notifications(
    State(service): State<Service>,
    Auth(caller): Auth,
    Query(page): Query<PageQuery>,
) -> ApiResult<axum::Json<Paged<Notification>>> {
    Ok(axum::Json(service.notifications(&caller, &page.into()).await?))
}

/// Marks every notification up to `up_to_id` (inclusive) read.
#[utoipa::path(post, path = "/api/notifications/read", tag = "notifications", security(("bearer" = [])),
    request_body = MarkRead,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn mark_read(
    State(service): State<Service>,
    Auth(caller): Auth,
    Json(input): Json<MarkRead>,
) -> ApiResult<StatusCode> {
    service.mark_notifications_read(&caller, input).await?;
    Ok(StatusCode::NO_CONTENT)
}
