//! Headers on every answer that tell browsers to be strict with it: no MIME sniffing (a
//! JSON answer or an image must never be run as a script), no referrer leaking URLs, and a
//! content security policy that lets nothing load or frame it. The API's answers are no
//! pages, so the strictest policy fits them; the web client's page (webapp.rs) sets its
//! own, which is left in place.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// `default-src 'none'`: an answer opened as a page may load nothing at all;
/// `frame-ancestors 'none'`: nor be framed (clickjacking).
const CSP: &str = "default-src 'none'; frame-ancestors 'none'";

pub(crate) async fn add(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(CSP));
    response
}
