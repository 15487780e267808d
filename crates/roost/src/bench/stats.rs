//! Per-operation results of a run: a latency histogram, the error count and the first few
//! error messages. Each connection keeps its own `Recorder` (no locks on the hot path);
//! they are merged when the phase ends.

use std::collections::BTreeMap;
use std::time::Duration;

use super::histogram::Histogram;

/// How many error messages an operation keeps: enough to see what went wrong, not a log.
const ERROR_SAMPLES: usize = 5;

#[derive(Clone, Debug, Default)]
pub struct OpStats {
    /// Latencies of the successful (2xx) requests, in microseconds.
    pub latency: Histogram,
    /// Other non-2xx answers and transport failures (refused, reset, timed out).
    pub errors: u64,
    /// Answers that shed the request (429, 503): a server protecting itself, told apart
    /// from failures.
    pub shed: u64,
    pub error_samples: Vec<String>,
}

impl OpStats {
    /// Requests made, successful or not.
    pub fn count(&self) -> u64 {
        self.latency.count() + self.errors + self.shed
    }

    fn merge(&mut self, other: &OpStats) {
        self.latency.merge(&other.latency);
        self.errors += other.errors;
        self.shed += other.shed;
        for sample in &other.error_samples {
            if self.error_samples.len() < ERROR_SAMPLES {
                self.error_samples.push(sample.clone());
            }
        }
    }
}

/// The operations of one phase, by name.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    pub ops: BTreeMap<&'static str, OpStats>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    pub fn success(&mut self, op: &'static str, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.ops.entry(op).or_default().latency.record(micros);
    }

    pub fn error(&mut self, op: &'static str, message: impl FnOnce() -> String) {
        let stats = self.ops.entry(op).or_default();
        stats.errors += 1;
        if stats.error_samples.len() < ERROR_SAMPLES {
            stats.error_samples.push(message());
        }
    }

    /// A shed answer; its description joins the samples (a 429 may be the abuse limits).
    pub fn shed(&mut self, op: &'static str, message: impl FnOnce() -> String) {
        let stats = self.ops.entry(op).or_default();
        stats.shed += 1;
        if stats.error_samples.len() < ERROR_SAMPLES {
            stats.error_samples.push(message());
        }
    }

    pub fn merge(&mut self, other: &Recorder) {
        for (name, stats) in &other.ops {
            self.ops.entry(name).or_default().merge(stats);
        }
    }

    pub fn total_count(&self) -> u64 {
        self.ops.values().map(OpStats::count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_successes_and_errors_and_keeps_a_few_messages() {
        let mut a = Recorder::new();
        for i in 0..4 {
            a.success("feed", Duration::from_micros(100 + i));
            a.error("feed", || format!("boom {i}"));
        }
        let mut b = Recorder::new();
        for i in 0..4 {
            b.error("feed", || format!("bang {i}"));
        }
        b.success("post", Duration::from_millis(2));
        b.shed("post", || "HTTP 503: overloaded".into());
        a.merge(&b);
        let feed = &a.ops["feed"];
        assert_eq!(feed.count(), 12);
        assert_eq!(feed.errors, 8);
        assert_eq!(feed.error_samples.len(), ERROR_SAMPLES);
        assert_eq!(feed.error_samples[0], "boom 0");
        assert_eq!(a.ops["post"].latency.max(), 2_000);
        assert_eq!((a.ops["post"].shed, a.ops["post"].errors), (1, 0));
        assert_eq!(a.total_count(), 14);
    }
}
