//! `GET /metrics`: the Prometheus exposition of every metric the process records through
//! the `metrics` facade, rendered by `metrics-exporter-prometheus` from its in-process
//! recorder (no listener thread of its own). Served on the public router, or — with
//! `metrics_listen` — only on a small router of its own on another address.
//!
//! Histograms are exported as Prometheus histograms (fixed buckets), not summaries, so
//! that quantiles can be aggregated across instances in PromQL.

use std::time::Duration;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Bucket bounds (seconds) of every `*_seconds` histogram: from a cache hit to a timeout.
const BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// How often the recorder's histograms are compacted (the exporter leaves it to us when it
/// runs no listener of its own).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The installed recorder, to render `/metrics` from.
#[derive(Clone)]
pub struct Telemetry {
    handle: PrometheusHandle,
}

impl Telemetry {
    /// Installs the process-wide recorder and starts its upkeep task (call inside the
    /// runtime, before the engines are opened: metric handles bind to the recorder present
    /// when they are made).
    pub fn install() -> Result<Telemetry, BuildError> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)?
            .install_recorder()?;
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                every.tick().await;
                upkeep.run_upkeep();
            }
        });
        Ok(Telemetry { handle })
    }

    /// A router serving only `GET /metrics`, for `metrics_listen`.
    pub fn router(&self) -> Router {
        Self::add_route(Router::new(), self.clone())
            .fallback(|| async { crate::ApiError::not_found("no such route") })
    }

    /// `router` with `GET /metrics` added (outside the API's middleware: scraping is not
    /// traffic to measure).
    pub(crate) fn add_route(router: Router, telemetry: Telemetry) -> Router {
        router.route("/metrics", get(metrics).layer(Extension(telemetry)))
    }
}

async fn metrics(Extension(telemetry): Extension<Telemetry>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], telemetry.handle.render())
}
