//! Posts, likes and media (docs/api.md, "posts").

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use roost_service::idempotency;
use roost_service::media::MediaContent;
use roost_service::model::{Image, LikeState, Post};
use roost_service::posts::NewPost;
use roost_service::{Service, ServiceError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{idempotency_key, parse_json, Auth, IdempotencyHeader, MaybeAuth};
use crate::upload::{is_multipart, read_form, read_limited};

/// Posts, likes and media, for `super::all` to merge.
pub(crate) fn router() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(upload_media))
        .routes(routes!(media))
        .routes(routes!(thumbnail))
        .routes(routes!(create_post))
        .routes(routes!(get_post, delete_post))
        .routes(routes!(like, unlike))
}

/// Upload an image: multipart field `file`, or the raw bytes as the body.
#[utoipa::path(post, path = "/api/media", tag = "posts", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "multipart/form-data"),
    responses((status = 201, body = Image), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody)))]
pub async fn upload_media(
    State(service): State<Service>,
    Auth(caller): Auth,
    request: Request,
) -> ApiResult<(StatusCode, axum::Json<Image>)> {
    let bytes = if is_multipart(request.headers()) {
        let mut form = Multipart::from_request(request, &service)
            .await
            .map_err(|e| ApiError::body_rejected(e.status(), e.body_text()))?;
        read_form(&mut form, service.config().media_max_bytes, || service.too_large())
            .await?
            .file
            .ok_or_else(|| ServiceError::validation("file", "no file field"))?
    } else {
        read_limited(request.into_body(), service.config().media_max_bytes, || service.too_large()).await?
    };
    Ok((StatusCode::CREATED, axum::Json(service.upload_media(&caller, bytes).await?)))
}

/// Serve an uploaded image.
#[utoipa::path(get, path = "/api/media/{id}", tag = "posts", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/*"), (status = 307, description = "on S3: a presigned URL of the object"), (status = 404, body = ErrorBody)))]
pub async fn media(State(service): State<Service>, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(media_response(service.media_content(&id, false).await?))
}

/// Serve an image's thumbnail (JPEG, longest side 320 px).
#[utoipa::path(get, path = "/api/media/{id}/thumbnail", tag = "posts", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/jpeg"), (status = 307, description = "on S3: a presigned URL of the thumbnail"), (status = 404, body = ErrorBody)))]
pub async fn thumbnail(State(service): State<Service>, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(media_response(service.media_content(&id, true).await?))
}

fn media_response(content: MediaContent) -> Response {
    match content {
        MediaContent::Redirect(url) => Redirect::temporary(&url).into_response(),
        MediaContent::Bytes { content_type, bytes } => (
            [
                (header::CONTENT_TYPE, content_type),
                // An id names one image forever, but the image goes with its post (or its
                // owner's account): caches may keep it an hour at most, as a presigned URL.
                (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            ],
            bytes,
        )
            .into_response(),
    }
}

/// Create a post: JSON `{text, media_ids?, reply_to?}`, or multipart with `text` and `file`
/// (the image is uploaded and attached in the same request). With an `Idempotency-Key`, a
/// retry answers the post the first request made (201, the same post, nothing created); the
/// same key with a different request is a 422.
#[utoipa::path(post, path = "/api/posts", tag = "posts", security(("bearer" = [])), request_body = NewPost,
    params(IdempotencyHeader),
    responses((status = 201, body = Post), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_post(
    State(service): State<Service>,
    Auth(caller): Auth,
    request: Request,
) -> ApiResult<(StatusCode, axum::Json<Post>)> {
    let headers = request.headers().clone();
    let (new, key) = if is_multipart(&headers) {
        let mut form = Multipart::from_request(request, &service)
            .await
            .map_err(|e| ApiError::body_rejected(e.status(), e.body_text()))?;
        let form = read_form(&mut form, service.config().media_max_bytes, || service.too_large()).await?;
        // Checked before the upload, so that a retry does not upload the image again.
        let file = form.file.as_deref().map(idempotency::digest);
        let key = idempotency_key(&headers, "post", &(&form.text, &form.reply_to, file))?;
        if let Some(pid) = service.idempotent_replay(&caller, key.as_ref()).await? {
            return Ok((StatusCode::CREATED, axum::Json(service.post(Some(&caller), &pid).await?)));
        }
        let mut new =
            NewPost { text: form.text.unwrap_or_default(), reply_to: form.reply_to, media_ids: Vec::new() };
        if let Some(file) = form.file {
            new.media_ids.push(service.upload_media(&caller, file).await?.id);
        }
        (new, key)
    } else {
        let bytes = Bytes::from_request(request, &service)
            .await
            .map_err(|e| ApiError::body_rejected(e.status(), e.body_text()))?;
        let new: NewPost = parse_json(&bytes)?;
        let key = idempotency_key(&headers, "post", &new)?;
        (new, key)
    };
    Ok((StatusCode::CREATED, axum::Json(service.create_post_once(&caller, new, key.as_ref()).await?)))
}

#[utoipa::path(get, path = "/api/posts/{id}", tag = "posts", security((), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Post), (status = 404, body = ErrorBody)))]
pub async fn get_post(
    State(service): State<Service>,
    MaybeAuth(caller): MaybeAuth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Post>> {
    Ok(axum::Json(service.post(caller.as_ref(), &id).await?))
}

/// The author or a moderator deletes a post.
#[utoipa::path(delete, path = "/api/posts/{id}", tag = "posts", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_post(
    State(service): State<Service>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    service.delete_post(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Like (idempotent).
#[utoipa::path(post, path = "/api/posts/{id}/like", tag = "posts", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = LikeState), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn like(
    State(service): State<Service>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<LikeState>> {
    Ok(axum::Json(service.set_like(&caller, &id, true).await?))
}

/// Unlike (idempotent).
#[utoipa::path(delete, path = "/api/posts/{id}/like", tag = "posts", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = LikeState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlike(
    State(service): State<Service>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<LikeState>> {
    Ok(axum::Json(service.set_like(&caller, &id, false).await?))
}
