//! The OpenAPI document, generated from the handlers' annotations (served at
//! `/api/openapi.json`). A test checks that every route of API.md is in it.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Roost API", version = "1", description = "The HTTP contract of Roost (API.md)."),
    paths(
        routes::accounts::register, routes::accounts::login, routes::accounts::logout,
        routes::accounts::me, routes::accounts::edit_me,
        routes::users::profile, routes::users::search, routes::users::follow, routes::users::unfollow,
        routes::users::followers, routes::users::following,
        routes::posts::upload_media, routes::posts::media, routes::posts::thumbnail, routes::posts::create_post,
        routes::posts::get_post, routes::posts::delete_post, routes::posts::like, routes::posts::unlike,
        routes::feeds::home, routes::feeds::user_posts, routes::feeds::timeline,
        // Comments and notifications (issue 10)
        routes::comments::create_comment, routes::comments::comments, routes::comments::delete_comment,
        routes::notifications::notifications, routes::notifications::mark_read,
        // End of comments and notifications
        routes::ops::healthz, routes::ops::readyz, routes::ops::openapi,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}
