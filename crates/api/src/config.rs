//! The HTTP layer's settings. The binary fills them like every other setting (TOML file,
//! `ROOST_*` variables, flags); `roost serve` reads the connection ones, the router the rest.

use serde::{Deserialize, Serialize};

/// How the HTTP server protects itself and whom it lets in.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// A client must send a request's headers within this many seconds of starting it (or
    /// of opening the connection), else the connection is closed: a slow client cannot
    /// hold a connection open by trickling bytes (slowloris).
    pub header_read_timeout_secs: u64,
    /// An answer must have started within this many seconds (body reading included), else
    /// the request fails with 503. Event streams only need their first bytes in time.
    pub request_timeout_secs: u64,
    /// Open connections per instance; further clients wait in the listen queue.
    pub max_connections: usize,
    /// Requests handled at once per instance; one more is answered 503 with `Retry-After`
    /// at once rather than queued. Health, readiness and metrics are never refused.
    pub max_in_flight: usize,
    /// After SIGTERM (or Ctrl-C), requests under way and jobs being run get this many
    /// seconds to finish before the process exits anyway.
    pub shutdown_grace_secs: u64,
    /// Comma-separated origins (`https://app.example`) whose pages may call the API from a
    /// browser (CORS). Empty: same-origin only, and no CORS headers at all.
    pub cors_origins: String,
    /// Take the client's address from the last `X-Forwarded-For` entry (the one the proxy
    /// in front of Roost added) rather than from the connection. Only behind such a proxy:
    /// otherwise any client could claim any address and escape per-address limits.
    pub trust_forwarded_for: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_secs: 10,
            request_timeout_secs: 30,
            max_connections: 10_000,
            max_in_flight: 512,
            shutdown_grace_secs: 10,
            cors_origins: String::new(),
            trust_forwarded_for: false,
        }
    }
}

impl HttpConfig {
    /// The CORS origins, one per entry, without blanks.
    pub fn cors_origin_list(&self) -> Vec<String> {
        self.cors_origins.split(',').map(str::trim).filter(|o| !o.is_empty()).map(String::from).collect()
    }
}
