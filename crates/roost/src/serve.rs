//! `roost serve`: open the engines, start the workers, serve HTTP until SIGTERM or Ctrl-C,
//! then shut down within `shutdown_grace_secs` (docs/reliability.md, "SIGTERM").

use std::time::{Duration, Instant};

use anyhow::Context;
use tracing::info;

use crate::cli::ServeArgs;
use crate::{config, deployment, http_server};

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let settings = config::load(args, config::environment())?;
    // Before the engines: metric handles bind to the recorder present when they are made.
    let telemetry = roost_api::Telemetry::install().context("installing the metrics recorder")?;
    let engines = deployment::open(&settings).await?;
    let service = roost_service::Service::new(engines, settings.service.clone())
        .await
        .context("starting the service")?;
    if settings.engines.redis_url.is_none() {
        // The in-process cache is this instance's alone, and died with its predecessor: every
        // job still queued is orphaned, and the like sets that answered for them are gone.
        // Run them before serving, so no read misses an acknowledged write.
        let ran = roost_workers::run_orphaned_jobs(&service).await;
        if ran > 0 {
            info!(jobs = ran, "ran the jobs a previous run left in the queue");
        }
    }
    let workers = roost_workers::spawn(service.clone());

    let public_metrics = settings.process.metrics_listen.is_none().then(|| telemetry.clone());
    let app = roost_api::router(service.clone(), &settings.http, public_metrics);
    let metrics_server = match &settings.process.metrics_listen {
        Some(address) => Some(serve_metrics(address, telemetry, &settings.http).await?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(&settings.process.listen)
        .await
        .with_context(|| format!("listening on {}", settings.process.listen))?;
    info!(listen = %listener.local_addr()?, engines = %deployment::describe(&settings), "roost is serving");
    // One deadline from the signal for everything: requests drain while the workers finish
    // the job each has under way (the rest go back to the queue), and event streams, which
    // never end by themselves, end at once rather than hold the drain.
    let grace = Duration::from_secs(settings.http.shutdown_grace_secs);
    let signalled = std::sync::OnceLock::new();
    let shutdown = async {
        shutdown_signal().await;
        let _ = signalled.set(Instant::now());
        service.close_streams();
        workers.begin_stop();
    };
    http_server::serve(listener, app, &settings.http, shutdown).await;
    if let Some(server) = metrics_server {
        server.abort();
    }
    let left = grace.saturating_sub(signalled.get().map_or(Duration::ZERO, Instant::elapsed));
    workers.stop(left).await;
    info!("roost stopped");
    Ok(())
}

/// `GET /metrics` alone on `address` (`metrics_listen`), on the same hardened server loop
/// as the API; it runs until the process ends.
async fn serve_metrics(
    address: &str,
    telemetry: roost_api::Telemetry,
    http: &roost_api::HttpConfig,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening for metrics on {address}"))?;
    info!(metrics_listen = %listener.local_addr()?, "serving /metrics");
    let http = http.clone();
    Ok(tokio::spawn(async move {
        http_server::serve(listener, telemetry.router(), &http, std::future::pending()).await;
    }))
}

/// JSON lines on stdout; `ROOST_LOG` (an `EnvFilter` directive) sets the level.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ROOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(true).init();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    info!("shutting down");
}
