//! The OpenAPI document, generated from the handlers' annotations (served at
//! `/api/openapi.json`); `tests/api_docs.rs` renders it as docs/api.md.
//! This file holds the document's base; the paths come from the router (`routes::all`), which
//! mounts each handler and its annotation together so the two cannot disagree.

mod common_responses;

use axum::body::Bytes;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Roost API", version = "1", description = include_str!("openapi_intro.md")),
    modifiers(&BearerAuth)
)]
pub(crate) struct Base;

/// The finished document as `/api/openapi.json` answers it: serialised once when the router is
/// built, so a request only clones a shared buffer.
#[derive(Clone)]
pub(crate) struct Served(pub(crate) Bytes);

impl Served {
    pub(crate) fn new(document: &utoipa::openapi::OpenApi) -> Served {
        // Plain structs and maps with string keys: serialising cannot fail.
        let mut document = serde_json::to_value(document).expect("the OpenAPI document serialises");
        common_responses::add(&mut document);
        Served(serde_json::to_vec(&document).expect("the OpenAPI document serialises").into())
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}
