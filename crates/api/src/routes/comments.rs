//! Comments (docs/api.md, "Posts, likes, comments, media"): threads of replies under a post.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use roost_service::comments::NewComment;
use roost_service::model::{Comment, Paged};
use roost_service::Service;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PageQuery;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{idempotency_key, Auth, IdempotencyHeader, Json, Query};

pub(crate) fn router() -> OpenApiRouter<Service> {
    OpenApiRouter::new().routes(routes!(create_comment, comments)).routes(routes!(delete_comment))
}

/// Comment on a post, or reply to one of its comments (`parent_id`). The post's author is
/// notified (kind `comment`), the parent comment's author too (kind `reply`), and users
/// `@mentioned` in the text (kind `mention`); nobody twice for one comment. With an
/// `Idempotency-Key`, a retry answers the comment the first request made (201, nothing
/// created); the same key with a different request is a 422.
#[utoipa::path(post, path = "/api/posts/{id}/comments", tag = "posts", security(("bearer" = [])),
    params(("id" = String, Path), IdempotencyHeader), request_body = NewComment,
    responses((status = 201, body = Comment), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_comment(
    State(service): State<Service>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(new): Json<NewComment>,
) -> ApiResult<(StatusCode, axum::Json<Comment>)> {
    let key = idempotency_key(&headers, "comment", &(&id, &new))?;
    Ok((StatusCode::CREATED, axum::Json(service.create_comment_once(&caller, &id, new, key.as_ref()).await?)))
}

/// A post's comments: the thread depth-first (each comment followed by its replies), oldest
/// first. `depth` is 0 for a comment on the post and is capped at 8 for display; deleted
/// comments keep their place with `deleted: true` and an empty `text`.
#[utoipa::path(get, path = "/api/posts/{id}/comments", tag = "posts", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Paged<Comment>), (status = 404, body = ErrorBody)))]
pub async fn comments(
    State(service): State<Service>,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> ApiResult<axum::Json<Paged<Comment>>> {
    Ok(axum::Json(service.comments(&id, &page.into()).await?))
}

/// The comment's author or a moderator deletes a comment; its replies stay.
#[utoipa::path(delete, path = "/api/comments/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_comment(
    State(service): State<Service>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    service.delete_comment(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
