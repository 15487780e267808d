//! The DynamoDB cost of a bench run per route and job kind: `GET /api/admin/cost` read
//! before and after the timed phase (with a moderator's token, `--cost-token`), the
//! difference priced as the server prices it. On an embedded server the units are what
//! DynamoDB would have charged for the same calls.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::bail;
use serde_json::{json, Value};

use super::client::Target;

/// What to tell a user who gave no token.
pub const HOW: &str =
    "cost per route: make a moderator (`roost admin grant-moderator NAME` beside the server), \
sign in as them (POST /api/auth/login) and pass the token with --cost-token";

/// One reading of the server's cost report.
pub struct Reading {
    read_price: f64,
    write_price: f64,
    /// (section, name) → (count, read units, write units).
    rows: BTreeMap<(&'static str, String), (u64, f64, f64)>,
}

/// Reads the cost report now.
pub async fn read(target: &Arc<Target>, token: &str) -> anyhow::Result<Reading> {
    let answer = target.connect().get("/api/admin/cost", Some(token)).await?;
    if !answer.is_success() {
        bail!("GET /api/admin/cost with --cost-token: {}", answer.describe());
    }
    let report: Value = answer.json()?;
    let mut rows = BTreeMap::new();
    for (section, name, count) in [("routes", "route", "requests"), ("background", "job", "runs")] {
        for row in report[section].as_array().into_iter().flatten() {
            let key = (section, row[name].as_str().unwrap_or_default().to_string());
            let units = |field: &str| row[field].as_f64().unwrap_or(0.0);
            rows.insert(key, (row[count].as_u64().unwrap_or(0), units("read_units"), units("write_units")));
        }
    }
    let price = |field: &str| report["prices"][field].as_f64().unwrap_or(0.0);
    Ok(Reading {
        read_price: price("read_request_units_per_million_usd"),
        write_price: price("write_request_units_per_million_usd"),
        rows,
    })
}

/// One row of the run's cost: what changed between two readings.
struct Row {
    section: &'static str,
    name: String,
    count: u64,
    read_units: f64,
    write_units: f64,
    usd_per_1000: f64,
}

fn difference(before: &Reading, after: &Reading) -> Vec<Row> {
    let mut rows: Vec<Row> = after
        .rows
        .iter()
        .map(|((section, name), (count, read, write))| {
            let (count0, read0, write0) =
                before.rows.get(&(*section, name.clone())).copied().unwrap_or_default();
            let (count, read_units, write_units) = (count - count0.min(*count), read - read0, write - write0);
            let usd = (read_units * after.read_price + write_units * after.write_price) / 1e6;
            let usd_per_1000 = if count == 0 { 0.0 } else { usd * 1000.0 / count as f64 };
            Row { section, name: name.clone(), count, read_units, write_units, usd_per_1000 }
        })
        .filter(|row| row.count > 0 || row.read_units > 0.0 || row.write_units > 0.0)
        .collect();
    rows.sort_by(|a, b| a.section.cmp(b.section).reverse().then(b.usd_per_1000.total_cmp(&a.usd_per_1000)));
    rows
}

/// The run's cost as a table.
pub fn table(before: &Reading, after: &Reading) -> String {
    let mut out = format!(
        "\nDynamoDB cost of this run (on-demand, {} USD per million reads, {} per million writes)\n",
        after.read_price, after.write_price
    );
    let _ = writeln!(
        out,
        "{:<44} {:>9} {:>12} {:>12} {:>14}",
        "route or job", "count", "read units", "write units", "USD per 1000"
    );
    for row in difference(before, after) {
        let _ = writeln!(
            out,
            "{:<44} {:>9} {:>12.1} {:>12.1} {:>14.7}",
            row.name, row.count, row.read_units, row.write_units, row.usd_per_1000
        );
    }
    out
}

/// The run's cost as JSON, for `--json`.
pub fn to_json(before: &Reading, after: &Reading) -> Value {
    let rows: Vec<Value> = difference(before, after)
        .into_iter()
        .map(|r| {
            json!({"kind": if r.section == "routes" { "route" } else { "job" }, "name": r.name, "count": r.count,
                "read_units": r.read_units, "write_units": r.write_units, "usd_per_1000": r.usd_per_1000})
        })
        .collect();
    json!({"read_price_per_million_usd": after.read_price, "write_price_per_million_usd": after.write_price, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(rows: &[(&'static str, &str, u64, f64, f64)]) -> Reading {
        Reading {
            read_price: 0.125,
            write_price: 0.625,
            rows: rows.iter().map(|(s, n, c, r, w)| ((*s, n.to_string()), (*c, *r, *w))).collect(),
        }
    }

    #[test]
    fn the_run_is_the_difference_of_the_readings() {
        let before = reading(&[("routes", "GET /api/feed", 10, 10.0, 0.0)]);
        let after = reading(&[
            ("routes", "GET /api/feed", 1010, 1010.0, 0.0),
            ("background", "fan_out", 2, 0.0, 4.0),
        ]);
        let rows = difference(&before, &after);
        assert_eq!(rows[0].name, "GET /api/feed");
        assert_eq!(rows[0].count, 1000);
        assert!((rows[0].usd_per_1000 - 0.000125).abs() < 1e-12);
        assert_eq!(rows[1].name, "fan_out");
        assert!(table(&before, &after).contains("GET /api/feed"));
    }
}
