//! The workers' metrics: runs per job kind and outcome, run time, retries, dead letters,
//! fan-out lag, queue depth, outbox backlog.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use roost_service::ids;
use roost_service::jobs::{Job, QueueMessage};

/// One job run being measured.
pub(crate) struct JobRun {
    kind: &'static str,
    started: Instant,
    /// For a fan-out: the post's creation time (ms since the epoch), from its id.
    post_created_ms: Option<u64>,
    deliveries: u64,
}

impl JobRun {
    /// Starts measuring the run of `message` (its kind is known once decoded, see `of`).
    pub(crate) fn start(message: &QueueMessage) -> Self {
        JobRun {
            kind: "unreadable",
            started: Instant::now(),
            post_created_ms: None,
            deliveries: message.deliveries,
        }
    }

    /// The run is of `job`.
    pub(crate) fn of(mut self, job: &Job) -> Self {
        self.kind = job.kind();
        if let Job::FanOut { post_id, .. } = job {
            self.post_created_ms = ids::millis_of(post_id);
        }
        if self.deliveries > 1 {
            metrics::counter!("roost_job_retries_total", "kind" => self.kind).increment(1);
        }
        self
    }

    fn finish(&self, outcome: &'static str) {
        metrics::histogram!("roost_job_duration_seconds", "kind" => self.kind)
            .record(self.started.elapsed().as_secs_f64());
        metrics::counter!("roost_job_runs_total", "kind" => self.kind, "outcome" => outcome).increment(1);
    }

    /// Done: for a fan-out, the lag from the post's commit to its last feed written.
    pub(crate) fn succeeded(self) {
        self.finish("done");
        if let Some(created) = self.post_created_ms {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
            metrics::histogram!("roost_fanout_lag_seconds")
                .record(now.saturating_sub(created) as f64 / 1000.0);
        }
    }

    /// Failed; it stays queued and is retried.
    pub(crate) fn failed(self) {
        self.finish("failed");
    }

    /// Failed too often and dropped. Counted apart, so that an alert fires on it and a
    /// dead-letter queue can take these over later.
    pub(crate) fn dead_lettered(self) {
        self.finish("dead_letter");
        metrics::counter!("roost_job_dead_letters_total", "kind" => self.kind).increment(1);
    }
}

/// Jobs queued and not yet acknowledged.
pub(crate) fn queue_depth(depth: u64) {
    metrics::gauge!("roost_job_queue_depth").set(depth as f64);
}

/// What the outbox relay found: items the fast path did not queue, and the oldest's age.
pub(crate) fn outbox_backlog(backlog: roost_service::outbox::OutboxBacklog) {
    metrics::gauge!("roost_outbox_backlog").set(backlog.items as f64);
    metrics::gauge!("roost_outbox_oldest_seconds").set(backlog.oldest_secs);
    metrics::counter!("roost_outbox_relayed_total").increment(backlog.relayed);
}
