//! Cache round trips per request of a bench run, per route: the server's `GET /metrics`
//! read before and after the timed phase, and the difference of its round-trip counter
//! (`roost_cache_round_trips_total`) divided by that of its request counter
//! (`roost_http_requests_total`, all statuses), route by route.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::bail;
use serde_json::{json, Value};

use super::client::Target;

const ROUND_TRIPS: &str = "roost_cache_round_trips_total";
const REQUESTS: &str = "roost_http_requests_total";

/// One reading of the two counters: route (`GET /api/feed`) → (requests, round trips).
#[derive(Debug, Default, PartialEq)]
pub struct Reading(BTreeMap<String, (f64, f64)>);

/// Reads the server's metrics now.
pub async fn read(target: &Arc<Target>) -> anyhow::Result<Reading> {
    Ok(parse(&metrics_text(target).await?))
}

/// The server's `GET /metrics` answer.
pub async fn metrics_text(target: &Arc<Target>) -> anyhow::Result<String> {
    let answer = target.connect().get("/metrics", None).await?;
    if !answer.is_success() {
        bail!("GET /metrics: {}", answer.describe());
    }
    Ok(String::from_utf8_lossy(&answer.body).into_owned())
}

/// The two counters of a Prometheus text exposition, summed per method and route.
fn parse(text: &str) -> Reading {
    let mut rows: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for line in text.lines() {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let Some((name, labels)) = series.split_once('{') else { continue };
        let Ok(value) = value.parse::<f64>() else { continue };
        let label = |key: &str| {
            let start = labels.find(&format!("{key}=\""))? + key.len() + 2;
            labels[start..].split('"').next()
        };
        let (Some(method), Some(route)) = (label("method"), label("route")) else { continue };
        let row = rows.entry(format!("{method} {route}")).or_default();
        match name {
            REQUESTS => row.0 += value,
            ROUND_TRIPS => row.1 += value,
            _ => {}
        }
    }
    Reading(rows)
}

/// Each route served during the run: requests, round trips, and round trips per request.
fn delta(before: &Reading, after: &Reading) -> Vec<(String, f64, f64)> {
    after
        .0
        .iter()
        .map(|(route, (requests, trips))| {
            let (requests0, trips0) = before.0.get(route).copied().unwrap_or_default();
            (route.clone(), requests - requests0, trips - trips0)
        })
        .filter(|(route, requests, _)| *requests > 0.0 && !route.ends_with(" /healthz"))
        .collect()
}

/// The run's round trips as a text table.
pub fn table(before: &Reading, after: &Reading) -> String {
    let mut out = format!("{:<40} {:>10} {:>12} {:>12}\n", "route", "requests", "cache trips", "per request");
    for (route, requests, trips) in delta(before, after) {
        let _ = writeln!(out, "{route:<40} {requests:>10} {trips:>12} {:>12.2}", trips / requests);
    }
    out
}

/// The same as JSON, for `--json`.
pub fn to_json(before: &Reading, after: &Reading) -> Value {
    let rows = delta(before, after).into_iter().map(|(route, requests, trips)| {
        json!({"route": route, "requests": requests, "cache_round_trips": trips,
               "per_request": trips / requests})
    });
    Value::Array(rows.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_route_over_statuses_between_readings() {
        let before = parse(
            "# TYPE roost_http_requests_total counter\n\
             roost_http_requests_total{method=\"GET\",route=\"/api/feed\",status=\"200\"} 10\n\
             roost_cache_round_trips_total{method=\"GET\",route=\"/api/feed\"} 40\n",
        );
        let after = parse(
            "roost_http_requests_total{method=\"GET\",route=\"/api/feed\",status=\"200\"} 18\n\
             roost_http_requests_total{method=\"GET\",route=\"/api/feed\",status=\"503\"} 2\n\
             roost_cache_round_trips_total{method=\"GET\",route=\"/api/feed\"} 80\n\
             roost_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 99\n\
             roost_http_request_duration_seconds_count{method=\"GET\",route=\"/api/feed\"} 20\n",
        );
        assert_eq!(delta(&before, &after), vec![("GET /api/feed".to_string(), 10.0, 40.0)]);
        assert!(table(&before, &after).contains("4.00"));
    }
}
