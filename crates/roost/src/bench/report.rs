//! The results of a run, as a table for people or one JSON document for scripts.
//!
//! Per operation: requests made, throughput, latency percentiles of the successful ones
//! (ms) and errors with the first few messages; plus the workload's total throughput as a
//! fraction of `/healthz`'s at the same concurrency, which says how much of the server's
//! request-handling ceiling the real work leaves.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::stats::OpStats;
use super::workload::Phase;

/// One operation's numbers, latencies in milliseconds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OpSummary {
    pub count: u64,
    pub rps: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    pub errors: u64,
    /// Answers that shed the request (429, 503), not counted in `errors`.
    pub shed: u64,
    pub error_samples: Vec<String>,
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

impl OpSummary {
    pub fn of(stats: &OpStats, elapsed: Duration) -> OpSummary {
        let h = &stats.latency;
        OpSummary {
            count: stats.count(),
            rps: per_second(stats.count(), elapsed),
            p50: ms(h.percentile(50.0)),
            p90: ms(h.percentile(90.0)),
            p99: ms(h.percentile(99.0)),
            p999: ms(h.percentile(99.9)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
            errors: stats.errors,
            shed: stats.shed,
            error_samples: stats.error_samples.clone(),
        }
    }
}

pub struct Report {
    pub target: String,
    pub workload: &'static str,
    pub connections: usize,
    pub duration: Duration,
    pub healthz: Phase,
    pub run: Phase,
    /// Workload-specific facts (fan-out audience size, ...), added to the JSON as they are.
    pub extra: Map<String, Value>,
}

impl Report {
    fn healthz_summary(&self) -> OpSummary {
        let stats = self.healthz.recorder.ops.get("healthz").cloned().unwrap_or_default();
        OpSummary::of(&stats, self.healthz.elapsed)
    }

    fn operations(&self) -> Vec<(&'static str, OpSummary)> {
        self.run
            .recorder
            .ops
            .iter()
            .map(|(name, stats)| (*name, OpSummary::of(stats, self.run.elapsed)))
            .collect()
    }

    fn total(&self) -> (u64, f64, u64, u64) {
        let count = self.run.recorder.total_count();
        let errors = self.run.recorder.ops.values().map(|s| s.errors).sum();
        let shed = self.run.recorder.ops.values().map(|s| s.shed).sum();
        (count, per_second(count, self.run.elapsed), errors, shed)
    }

    /// Workload throughput / healthz throughput, when healthz answered at all.
    fn ratio(&self) -> Option<f64> {
        let healthz = self.healthz_summary().rps;
        (healthz > 0.0).then(|| self.total().1 / healthz)
    }

    pub fn to_json(&self) -> Value {
        let (count, rps, errors, shed) = self.total();
        let operations: Map<String, Value> =
            self.operations().into_iter().map(|(name, s)| (name.to_string(), json!(s))).collect();
        let mut doc = json!({
            "target": self.target,
            "workload": self.workload,
            "connections": self.connections,
            "duration_s": self.duration.as_secs_f64(),
            "elapsed_s": self.run.elapsed.as_secs_f64(),
            "healthz": self.healthz_summary(),
            "operations": operations,
            "total": {"count": count, "rps": rps, "errors": errors, "shed": shed},
            "healthz_ratio": self.ratio(),
        });
        if let Value::Object(map) = &mut doc {
            map.extend(self.extra.clone());
        }
        doc
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "roost bench: workload {}, {} connections, {:?} against {}",
            self.workload, self.connections, self.duration, self.target
        );
        for (key, value) in &self.extra {
            let _ = writeln!(out, "  {key}: {value}");
        }
        let _ = writeln!(
            out,
            "\n{:<16} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7}",
            "operation",
            "count",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms",
            "errors",
            "shed"
        );
        let row = |out: &mut String, name: &str, s: &OpSummary| {
            let _ = writeln!(
                out,
                "{name:<16} {:>9} {:>10.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>7} {:>7}",
                s.count, s.rps, s.p50, s.p90, s.p99, s.p999, s.max, s.errors, s.shed
            );
        };
        let healthz = self.healthz_summary();
        row(&mut out, "healthz", &healthz);
        let _ = writeln!(out, "{}", "-".repeat(103));
        let operations = self.operations();
        for (name, summary) in &operations {
            row(&mut out, name, summary);
        }
        let (count, rps, errors, shed) = self.total();
        let _ = writeln!(out, "{:<16} {count:>9} {rps:>10.1} {:>49} {errors:>7} {shed:>7}", "total", "");
        if let Some(ratio) = self.ratio() {
            let _ = writeln!(
                out,
                "\nworkload throughput = {:.1}% of /healthz's ({:.0} req/s) at the same concurrency",
                ratio * 100.0,
                healthz.rps
            );
        }
        let failing: Vec<_> = std::iter::once(("healthz", &healthz))
            .chain(operations.iter().map(|(n, s)| (*n, s)))
            .filter(|(_, s)| s.errors + s.shed > 0)
            .collect();
        if !failing.is_empty() {
            let _ = writeln!(out, "\nerrors and shed answers (first few of each):");
            for (name, s) in failing {
                for sample in &s.error_samples {
                    let _ = writeln!(out, "  {name}: {sample}");
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::stats::Recorder;

    fn phase(ops: &[(&'static str, u64, u64)], secs: u64) -> Phase {
        let mut recorder = Recorder::new();
        for &(name, ok, errors) in ops {
            for i in 0..ok {
                recorder.success(name, Duration::from_micros(1_000 + i));
            }
            for _ in 0..errors {
                recorder.error(name, || "HTTP 500: oops".into());
            }
        }
        Phase { recorder, elapsed: Duration::from_secs(secs) }
    }

    #[test]
    fn json_shape() {
        let mut extra = Map::new();
        extra.insert("fanout".into(), json!({"followers": 50}));
        let report = Report {
            target: "http://127.0.0.1:8080".into(),
            workload: "mixed",
            connections: 4,
            duration: Duration::from_secs(2),
            healthz: phase(&[("healthz", 1_000, 0)], 1),
            run: phase(&[("home_feed", 60, 0), ("create_post", 10, 2)], 2),
            extra,
        };
        let doc = report.to_json();
        assert_eq!(doc["workload"], "mixed");
        assert_eq!(doc["connections"], 4);
        assert_eq!(doc["fanout"]["followers"], 50);
        let feed = &doc["operations"]["home_feed"];
        for key in ["count", "rps", "p50", "p90", "p99", "p999", "max", "errors"] {
            assert!(feed[key].is_number(), "{key} missing: {feed}");
        }
        assert_eq!(feed["count"], 60);
        assert_eq!(feed["rps"], 30.0);
        assert!(feed["p50"].as_f64().unwrap() >= 1.0 && feed["max"].as_f64().unwrap() < 1.1);
        assert_eq!(doc["operations"]["create_post"]["count"], 12);
        assert_eq!(doc["operations"]["create_post"]["errors"], 2);
        assert_eq!(doc["operations"]["create_post"]["error_samples"][0], "HTTP 500: oops");
        assert_eq!(doc["healthz"]["rps"], 1000.0);
        assert_eq!(doc["total"]["count"], 72);
        assert_eq!(doc["total"]["errors"], 2);
        assert!((doc["healthz_ratio"].as_f64().unwrap() - 0.036).abs() < 1e-9);

        let text = report.to_text();
        assert!(text.contains("home_feed") && text.contains("3.6% of /healthz"), "{text}");
        assert!(text.contains("create_post: HTTP 500: oops"), "{text}");
    }
}
