//! The DynamoDB cost per route and per background job kind, from the capacity consumed
//! since the process started (`roost_engines::usage`) at the configured on-demand prices:
//! the architecture's cost optimisation, measured rather than estimated. On the embedded
//! store the units are what DynamoDB would have charged for the same calls.

use roost_engines::usage::{self, Totals};
/// What a piece of work is charged to (set by the HTTP layer and the workers).
pub use roost_engines::usage::{count_cache_round_trips, Workload};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::Caller;
use crate::{time, Service, ServiceResult};

/// `GET /api/admin/cost`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CostReport {
    /// When this process started counting (RFC 3339).
    pub since: String,
    /// The prices applied.
    pub prices: Prices,
    /// One entry per route that consumed capacity or was called, dearest per request first.
    pub routes: Vec<RouteCost>,
    /// One entry per background job kind (and `unattributed`: work outside any route or
    /// job), dearest per run first.
    pub background: Vec<JobCost>,
}

/// On-demand prices in USD.
#[derive(Debug, Serialize, ToSchema)]
pub struct Prices {
    /// USD per million read request units.
    pub read_request_units_per_million_usd: f64,
    /// USD per million write request units.
    pub write_request_units_per_million_usd: f64,
}

/// What one route consumed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteCost {
    /// Method and path template, e.g. `GET /api/feed`.
    pub route: String,
    /// Requests answered.
    pub requests: u64,
    /// Read request units consumed.
    pub read_units: f64,
    /// Write request units consumed.
    pub write_units: f64,
    /// USD per 1,000 requests.
    pub usd_per_1000_requests: f64,
}

/// What one background job kind consumed.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobCost {
    /// The job kind, e.g. `fan_out`.
    pub job: String,
    /// Jobs run.
    pub runs: u64,
    /// Read request units consumed.
    pub read_units: f64,
    /// Write request units consumed.
    pub write_units: f64,
    /// USD per 1,000 runs (0 when there were no runs).
    pub usd_per_1000_runs: f64,
}

impl Prices {
    /// USD per 1,000 of `count` runs that consumed `totals`.
    fn per_thousand(&self, totals: &Totals) -> f64 {
        if totals.count == 0 {
            return 0.0;
        }
        let usd = (totals.read_units * self.read_request_units_per_million_usd
            + totals.write_units * self.write_request_units_per_million_usd)
            / 1e6;
        usd * 1000.0 / totals.count as f64
    }
}

impl Service {
    /// The cost report (moderators only).
    pub async fn cost_report(&self, caller: &Caller) -> ServiceResult<CostReport> {
        self.ensure_moderator(caller).await?;
        Ok(self.cost_report_unchecked())
    }

    fn cost_report_unchecked(&self) -> CostReport {
        let prices = Prices {
            read_request_units_per_million_usd: self.config.dynamodb_read_price_per_million,
            write_request_units_per_million_usd: self.config.dynamodb_write_price_per_million,
        };
        let (since, totals) = usage::snapshot();
        let mut routes = Vec::new();
        let mut background = Vec::new();
        for (workload, t) in totals {
            let (read_units, write_units) = (t.read_units, t.write_units);
            match workload {
                Workload::Route(route) => routes.push(RouteCost {
                    route,
                    requests: t.count,
                    read_units,
                    write_units,
                    usd_per_1000_requests: prices.per_thousand(&t),
                }),
                Workload::Job(job) => background.push(JobCost {
                    job,
                    runs: t.count,
                    read_units,
                    write_units,
                    usd_per_1000_runs: prices.per_thousand(&t),
                }),
                Workload::Unattributed => background.push(JobCost {
                    job: "unattributed".into(),
                    runs: t.count,
                    read_units,
                    write_units,
                    usd_per_1000_runs: 0.0,
                }),
            }
        }
        routes.sort_by(|a, b| {
            b.usd_per_1000_requests.total_cmp(&a.usd_per_1000_requests).then(a.route.cmp(&b.route))
        });
        background
            .sort_by(|a, b| b.usd_per_1000_runs.total_cmp(&a.usd_per_1000_runs).then(a.job.cmp(&b.job)));
        let millis = since.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        CostReport { since: time::rfc3339_of_millis(millis), prices, routes, background }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_per_thousand_uses_both_prices() {
        let prices =
            Prices { read_request_units_per_million_usd: 0.125, write_request_units_per_million_usd: 0.625 };
        let totals = Totals { count: 1000, read_units: 1_000_000.0, write_units: 2_000_000.0 };
        assert!((prices.per_thousand(&totals) - 1.375).abs() < 1e-9);
        assert_eq!(prices.per_thousand(&Totals::default()), 0.0);
    }
}
