//! The HTTP client of the load generator: one keep-alive HTTP/1.1 connection per virtual
//! user, on hyper's connection-level API.
//!
//! hyper's `client::conn` rather than a pooled client (reqwest, or hyper-util's legacy
//! `Client`): a virtual user owns exactly one connection, so there is no pool to lock or
//! search per request, and the generator spends as little CPU as possible on a machine it
//! shares with the server. A connection that fails is dropped and redialled on next use.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;

/// Where the requests go: one resolved address of the `--target` URL.
#[derive(Debug)]
pub struct Target {
    /// The URL as given, for reports.
    pub url: String,
    addr: SocketAddr,
    host: HeaderValue,
    /// The URL's path, without a trailing slash, prefixed to every request path.
    prefix: String,
    timeout: Duration,
}

impl Target {
    /// Resolves an `http://host:port[/prefix]` URL. Only loopback addresses are accepted
    /// unless `allow_remote`: a load generator must not be pointed elsewhere by accident.
    pub async fn resolve(url: &str, allow_remote: bool, timeout: Duration) -> anyhow::Result<Arc<Target>> {
        let uri: Uri = url.parse().with_context(|| format!("--target {url:?} is not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => bail!("--target: only http:// is supported, not {other}://"),
            None => bail!("--target {url:?}: give a full URL such as http://127.0.0.1:8080"),
        }
        let authority = uri.authority().context("--target has no host")?;
        let port = authority.port_u16().unwrap_or(80);
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        let addr = tokio::net::lookup_host((host, port))
            .await
            .with_context(|| format!("resolving {host}"))?
            .next()
            .with_context(|| format!("{host} has no address"))?;
        if !addr.ip().is_loopback() && !allow_remote {
            bail!("--target {url} is not a loopback address ({addr}); pass --allow-remote to benchmark it");
        }
        Ok(Arc::new(Target {
            url: url.to_string(),
            addr,
            host: HeaderValue::from_str(authority.as_str())?,
            prefix: uri.path().trim_end_matches('/').to_string(),
            timeout,
        }))
    }

    pub fn connect(self: &Arc<Self>) -> Conn {
        Conn { target: self.clone(), sender: None }
    }

    /// Opens a long response on a connection of its own (an event stream): the status, and
    /// the body to read as it arrives. The connection closes when the body is dropped.
    pub async fn open(self: &Arc<Self>, path: &str, token: &str) -> anyhow::Result<(u16, Incoming)> {
        let timeout = self.timeout;
        let opening = async {
            let mut sender = self.connect().dial().await?;
            let request = Request::get(format!("{}{path}", self.prefix))
                .header(HOST, self.host.clone())
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .body(Full::new(Bytes::new()))?;
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            anyhow::Ok((response.status().as_u16(), response.into_body()))
        };
        tokio::time::timeout(timeout, opening)
            .await
            .with_context(|| format!("no answer within {timeout:?}"))?
    }
}

/// Added to the description of a 429.
pub const RATE_LIMIT_HINT: &str =
    " (the server's abuse limits refused it: set ROOST_RATE_LIMITS=off on the server for load tests)";

/// A server's answer: status and the whole body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether the server shed the request (429 or 503) rather than failing it.
    pub fn is_shed(&self) -> bool {
        self.status == 429 || self.status == 503
    }

    /// The body as JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_slice(&self.body).with_context(|| format!("unexpected answer: {}", self.describe()))
    }

    /// A short description for error reports: status and the start of the body, and for a
    /// 429 what to do about it (seeding and load tests are abuse by the server's measure).
    pub fn describe(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text: String = text.chars().take(200).collect();
        let hint = if self.status == 429 { RATE_LIMIT_HINT } else { "" };
        format!("HTTP {}: {}{hint}", self.status, text.trim())
    }
}

/// One virtual user's connection.
pub struct Conn {
    target: Arc<Target>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    async fn dial(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(self.target.addr)
            .await
            .with_context(|| format!("connecting to {}", self.target.addr))?;
        // Requests are small and latency is what we measure: no Nagle delay.
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection task does the socket I/O; it ends when `sender` is dropped.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends one request (JSON body if any) and reads the whole answer, within the target's
    /// timeout. Transport failures are errors; any HTTP status is an `Answer`.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        json: Option<Vec<u8>>,
    ) -> anyhow::Result<Answer> {
        let timeout = self.target.timeout;
        match tokio::time::timeout(timeout, self.exchange(method, path, token, json)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(err)) => {
                self.sender = None;
                Err(err)
            }
            Err(_) => {
                // The connection may still deliver the late answer: never reuse it.
                self.sender = None;
                bail!("no answer within {timeout:?}")
            }
        }
    }

    async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        json: Option<Vec<u8>>,
    ) -> anyhow::Result<Answer> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            self.sender = Some(self.dial().await?);
        }
        let Some(sender) = self.sender.as_mut() else { bail!("no connection") };
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.target.prefix))
            .header(HOST, self.target.host.clone());
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match json {
            Some(bytes) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        let request = request.body(body)?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer { status, body })
    }

    pub async fn get(&mut self, path: &str, token: Option<&str>) -> anyhow::Result<Answer> {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(
        &mut self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> anyhow::Result<Answer> {
        self.send(Method::POST, path, token, Some(serde_json::to_vec(body)?)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_says_how_to_turn_the_limits_off() {
        let limited = Answer { status: 429, body: Bytes::from_static(b"{}") };
        assert!(limited.describe().contains("ROOST_RATE_LIMITS=off"), "{}", limited.describe());
        let refused = Answer { status: 401, body: Bytes::from_static(b"{}") };
        assert!(!refused.describe().contains("ROOST_RATE_LIMITS"));
    }

    #[tokio::test]
    async fn resolves_loopback_and_refuses_others() {
        let t = Target::resolve("http://127.0.0.1:8080/base/", false, Duration::from_secs(1)).await.unwrap();
        assert_eq!(t.prefix, "/base");
        assert_eq!(t.host, "127.0.0.1:8080");
        assert!(Target::resolve("http://localhost:9", false, Duration::from_secs(1)).await.is_ok());
        assert!(Target::resolve("https://127.0.0.1", false, Duration::from_secs(1)).await.is_err());
        assert!(Target::resolve("127.0.0.1:8080", false, Duration::from_secs(1)).await.is_err());
        let err = Target::resolve("http://192.0.2.1:80", false, Duration::from_secs(1)).await.unwrap_err();
        assert!(err.to_string().contains("--allow-remote"), "{err}");
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_error_not_a_panic() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let t = Target::resolve(&format!("http://127.0.0.1:{port}"), false, Duration::from_secs(2))
            .await
            .unwrap();
        assert!(t.connect().get("/healthz", None).await.is_err());
    }
}
