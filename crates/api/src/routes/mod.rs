//! The route table: one module per section of API.md.

pub(crate) mod accounts;
pub(crate) mod comments;
pub(crate) mod feeds;
pub(crate) mod notifications;
pub(crate) mod ops;
pub(crate) mod posts;
pub(crate) mod users;

use axum::routing::{delete, get, post};
use axum::Router;
use roost_service::cursor::PageRequest;
use roost_service::Service;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

pub fn all() -> Router<Service> {
    Router::new()
        .route("/api/auth/register", post(accounts::register))
        .route("/api/auth/login", post(accounts::login))
        .route("/api/auth/logout", post(accounts::logout))
        .route("/api/me", get(accounts::me).patch(accounts::edit_me))
        .route("/api/users/search", get(users::search))
        .route("/api/users/{user}", get(users::profile))
        .route("/api/users/{user}/follow", post(users::follow).delete(users::unfollow))
        .route("/api/users/{user}/followers", get(users::followers))
        .route("/api/users/{user}/following", get(users::following))
        .route("/api/users/{user}/posts", get(feeds::user_posts))
        .route("/api/media", post(posts::upload_media))
        .route("/api/media/{id}", get(posts::media))
        .route("/api/media/{id}/thumbnail", get(posts::thumbnail))
        .route("/api/posts", post(posts::create_post))
        .route("/api/posts/{id}", get(posts::get_post).delete(posts::delete_post))
        .route("/api/posts/{id}/like", post(posts::like).delete(posts::unlike))
        // Comments and notifications (issue 10)
        .route("/api/posts/{id}/comments", get(comments::comments).post(comments::create_comment))
        .route("/api/comments/{id}", delete(comments::delete_comment))
        .route("/api/notifications", get(notifications::notifications))
        .route("/api/notifications/read", post(notifications::mark_read))
        // End of comments and notifications
        .route("/api/feed", get(feeds::home))
        .route("/api/timeline", get(feeds::timeline))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/api/openapi.json", get(ops::openapi))
        .fallback(|| async { ApiError::not_found("no such route") })
}

/// `?limit=N&cursor=C` of every list endpoint.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct PageQuery {
    /// 1..100, default 20.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl From<PageQuery> for PageRequest {
    fn from(q: PageQuery) -> Self {
        PageRequest { limit: q.limit, cursor: q.cursor }
    }
}
