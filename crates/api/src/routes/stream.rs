//! `GET /api/stream` (docs/api.md, "realtime"): the caller's Server-Sent Events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use roost_service::stream::StreamEvent;
use roost_service::{Service, ServiceError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::StreamAuth;

pub(crate) fn router() -> OpenApiRouter<Service> {
    OpenApiRouter::new().routes(routes!(stream))
}

/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Live events: `post` (a new post in the caller's home feed; data: the Post), `engagement`
/// (`{post_id, like_count, comment_count}` of a post the caller loaded in the last ten
/// minutes or wrote) and `notification` (data: the Notification; `id:` its id, which
/// `Last-Event-ID` resumes from). The token may also come as `?access_token=`, on this
/// route only.
#[utoipa::path(get, path = "/api/stream", tag = "realtime", security(("bearer" = [])),
    params(("access_token" = Option<String>, Query, description = "the token, for clients that cannot set headers"),
        ("Last-Event-ID" = Option<String>, Header, description = "the last notification id seen: newer ones are replayed")),
    responses((status = 200, content_type = "text/event-stream", body = String), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn stream(
    State(service): State<Service>,
    StreamAuth(caller): StreamAuth,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let last_event_id = match headers.get("last-event-id").map(|v| v.to_str()) {
        None => None,
        Some(Ok(id)) => Some(id.trim()).filter(|id| !id.is_empty()),
        Some(Err(_)) => {
            return Err(ServiceError::validation("Last-Event-ID", "expected the id of a notification").into())
        }
    };
    let events = service.open_stream(&caller, last_event_id).await?;
    Ok(Sse::new(events.map(|e| Ok(sse_event(e)))).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

fn sse_event(event: StreamEvent) -> Event {
    let sse = Event::default().event(event.event).data(&*event.data);
    match event.id {
        Some(id) => sse.id(id),
        None => sse,
    }
}
