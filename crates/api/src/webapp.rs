//! The web client at `/`, from the same origin as the API: the embedded build of `web/`
//! (crates/webapp). Every GET the API does not route falls through to here: a file of the
//! build when there is one, else the app's `index.html`, whose router shows the page (a
//! client route like `/u/alice`). The server's own paths (`/api/*`, the probes, `/metrics`)
//! never fall back to the app: an unknown one keeps the contract's JSON 404.
//!
//! Caching: Vite names everything under `/assets/` by its content hash, so those are
//! immutable for a year; `index.html` names the current hashes and is revalidated always.

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The app's page may run its own scripts and styles, show images from here, uploads being
/// previewed (`blob:`) and the S3 redirects of `/api/media` (any https origin), and talk to
/// this origin only. No inline script: Vite emits none.
const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob: data: https:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The router's fallback: the app, or the contract's 404 for the server's own paths.
pub(crate) async fn serve(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if !(method == Method::GET || method == Method::HEAD) || is_server_path(path) {
        return ApiError::not_found("no such route").into_response();
    }
    let file = path.trim_start_matches('/');
    if let Some(asset) = roost_webapp::get(file).filter(|a| a.path != "index.html") {
        let cache = if file.starts_with("assets/") { IMMUTABLE } else { "no-cache" };
        return answer(asset, cache);
    }
    if file.starts_with("assets/") {
        // A hash from an older build: the page must fail to load it, not run HTML as a script.
        return ApiError::not_found("no such asset").into_response();
    }
    answer(roost_webapp::index(), "no-cache")
}

fn is_server_path(path: &str) -> bool {
    ["/api", "/healthz", "/readyz", "/metrics"]
        .iter()
        .any(|prefix| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

fn answer(asset: &'static roost_webapp::Asset, cache: &'static str) -> Response {
    let mut response = (StatusCode::OK, asset.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if asset.content_type.starts_with("text/html") {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(APP_CSP));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::is_server_path;

    #[test]
    fn the_server_paths_never_fall_back_to_the_app() {
        for path in ["/api", "/api/", "/api/nope", "/healthz", "/readyz", "/metrics", "/metrics/x"] {
            assert!(is_server_path(path), "{path}");
        }
        for path in ["/", "/u/alice", "/apis", "/healthzz", "/settings"] {
            assert!(!is_server_path(path), "{path}");
        }
    }
}
