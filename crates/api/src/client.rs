//! The client's address, for per-address abuse limits: the connection's peer, or, behind a
//! trusted proxy (`trust_forwarded_for`), the last `X-Forwarded-For` entry, the one that
//! proxy appended (entries before it are whatever the client claimed).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::error::ApiError;

/// Whether `X-Forwarded-For` is believed; a request extension set by the router.
#[derive(Clone, Copy)]
pub(crate) struct ForwardedFor {
    pub trusted: bool,
}

/// The client's address as text (`unknown` when the server was started without
/// connection info, as in-process tests may).
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let trusted = parts.extensions.get::<ForwardedFor>().is_some_and(|f| f.trusted);
        if trusted {
            let forwarded = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
            let mut entries = forwarded.flat_map(|v| v.split(',')).map(str::trim).filter(|a| !a.is_empty());
            if let Some(last) = entries.next_back() {
                return Ok(ClientAddr(last.to_string()));
            }
        }
        let peer =
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string());
        Ok(ClientAddr(peer.unwrap_or_else(|| "unknown".into())))
    }
}
