//! The route table: one module per tag (section) of docs/api.md.

pub(crate) mod accounts;
pub(crate) mod comments;
pub(crate) mod discovery;
pub(crate) mod feeds;
pub(crate) mod moderation;
pub(crate) mod notifications;
pub(crate) mod ops;
pub(crate) mod posts;
pub(crate) mod presence;
pub(crate) mod stats;
pub(crate) mod stream;
pub(crate) mod users;

use roost_service::cursor::PageRequest;
use roost_service::Service;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::openapi;

/// Every route with its OpenAPI description, on the document's base. A new endpoint is its
/// handler plus one `routes!` line in its section's `router()`.
pub(crate) fn all() -> OpenApiRouter<Service> {
    OpenApiRouter::with_openapi(openapi::Base::openapi())
        .merge(accounts::router())
        .merge(users::router())
        .merge(posts::router())
        .merge(comments::router())
        .merge(feeds::router())
        .merge(discovery::router())
        .merge(notifications::router())
        .merge(moderation::router())
        .merge(stats::router())
        .merge(stream::router())
        .merge(presence::router())
        .merge(ops::router())
}

/// `?limit=N&cursor=C` of every list endpoint.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1..100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl From<PageQuery> for PageRequest {
    fn from(q: PageQuery) -> Self {
        PageRequest { limit: q.limit, cursor: q.cursor }
    }
}
