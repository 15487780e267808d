//! Moderation (docs/api.md, "moderation"): reports, and the moderators' queue of them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use roost_service::model::{Paged, Report};
use roost_service::moderation::{NewReport, Resolution};
use roost_service::Service;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, Json, Query};

pub(crate) fn router() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(create_report))
        .routes(routes!(open_reports))
        .routes(routes!(resolve_report))
}

/// Report a post, a comment or a user (`target_id`: an id, or a user's username) to the
/// moderators. `reason` is 1 to 500 characters.
#[utoipa::path(post, path = "/api/reports", tag = "moderation", security(("bearer" = [])),
    request_body = NewReport,
    responses((status = 201, body = Report), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_report(
    State(service): State<Service>,
    Auth(caller): Auth,
    Json(new): Json<NewReport>,
) -> ApiResult<(StatusCode, axum::Json<Report>)> {
    Ok((StatusCode::CREATED, axum::Json(service.report(&caller, new).await?)))
}

/// Moderators only: the open reports, oldest first, each with its target as it is now
/// (absent once gone). Reports the screening list filed on held content are `automatic`.
#[utoipa::path(get, path = "/api/admin/reports", tag = "moderation", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Paged<Report>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn open_reports(
    State(service): State<Service>,
    Auth(caller): Auth,
    Query(page): Query<PageQuery>,
) -> ApiResult<axum::Json<Paged<Report>>> {
    Ok(axum::Json(service.open_reports(&caller, &page.into()).await?))
}

/// Moderators only: resolve a report. `dismiss` closes it (held content is published);
/// `remove` deletes the post or comment (for a user report: suspends); `suspend` suspends
/// the author (or the user), ending their sessions at once, and discards held content. A
/// report is resolved once: again is 409 `already_resolved`.
#[utoipa::path(post, path = "/api/admin/reports/{id}/resolve", tag = "moderation", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = Resolution,
    responses((status = 200, body = Report), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn resolve_report(
    State(service): State<Service>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Json(resolution): Json<Resolution>,
) -> ApiResult<axum::Json<Report>> {
    Ok(axum::Json(service.resolve_report(&caller, &id, resolution.action).await?))
}
