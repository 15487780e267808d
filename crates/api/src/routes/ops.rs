//! Operations endpoints: liveness, readiness, the OpenAPI document (no auth), and the
//! DynamoDB cost per route (moderators). `GET /metrics` is not here: it is Prometheus
//! text, not part of the JSON API (see `telemetry`).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Extension;
use roost_service::cost::CostReport;
use roost_service::Service;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::Auth;
use crate::openapi::Served;

/// Operations, for `super::all` to merge.
pub(crate) fn router() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi))
        .routes(routes!(cost))
}

/// 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200)))]
pub async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// 200 when every engine answers, else 503 naming the ones that do not. Their errors go to
/// the log, not the answer (they can hold hosts, paths and credentials' names).
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200), (status = 503)))]
pub async fn readyz(State(service): State<Service>) -> impl IntoResponse {
    let checks = service.readiness().await;
    for (engine, err) in &checks {
        if let Some(err) = err {
            tracing::warn!(engine, %err, "readiness check failed");
        }
    }
    let failing: Vec<_> = checks.iter().filter(|(_, err)| err.is_some()).collect();
    let state = |err: &Option<String>| if err.is_some() { "unavailable" } else { "ok" };
    let body = json!({
        "status": if failing.is_empty() { "ready" } else { "unavailable" },
        "engines": checks.iter().map(|(name, err)| (name.to_string(), json!(state(err)))).collect::<serde_json::Map<_, _>>(),
    });
    if failing.is_empty() {
        (StatusCode::OK, axum::Json(body))
    } else {
        let names: Vec<_> = failing.iter().map(|(name, _)| *name).collect();
        let message = format!("unavailable: {}", names.join(", "));
        let mut body = body;
        body["error"] = json!({"code": "unavailable", "message": message});
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body))
    }
}

/// The OpenAPI 3.1 document of this API, generated from the code.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses((status = 200)))]
pub async fn openapi(Extension(Served(document)): Extension<Served>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document)
}

/// Moderators only: the DynamoDB cost of each route (and background job kind) from the
/// capacity consumed since this instance started, at the configured on-demand prices;
/// routes dearest per 1,000 requests first. On the embedded store the units are what
/// DynamoDB would have charged for the same calls.
#[utoipa::path(get, path = "/api/admin/cost", tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = CostReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn cost(State(service): State<Service>, Auth(caller): Auth) -> ApiResult<axum::Json<CostReport>> {
    Ok(axum::Json(service.cost_report(&caller).await?))
}
