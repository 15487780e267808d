//! The HTTP/1.1 server loop under `roost serve`, on hyper directly rather than
//! `axum::serve`, for what that does not offer:
//!
//! - a header-read timeout (`header_read_timeout_secs`): a connection that has not sent a
//!   complete request head in time is closed, so a client trickling bytes (slowloris) holds
//!   a connection for seconds, not forever;
//! - a cap on open connections (`max_connections`): past it, new clients wait in the
//!   listen queue instead of exhausting file descriptors and memory;
//! - the peer address as axum's `ConnectInfo`, for per-address limits.
//!
//! Shutdown is graceful: the listener closes (new connections are refused), idle
//! connections end, and requests under way get up to `shutdown_grace_secs` to finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_service::Service as _;
use tracing::{info, warn};

/// A failed `accept` (out of file descriptors, say) is retried after this pause, rather than
/// spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    http: &roost_api::HttpConfig,
    shutdown: impl Future<Output = ()>,
) {
    let connections = Arc::new(Semaphore::new(http.max_connections.max(1)));
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(http.header_read_timeout_secs));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    warn!(%err, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small answers go out at once rather than waiting for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            app.clone().call(request)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that goes away or times out is routine, not worth a log line.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let grace = Duration::from_secs(http.shutdown_grace_secs);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => info!("requests still under way after {grace:?}; stopping anyway"),
    }
}
