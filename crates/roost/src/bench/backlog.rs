//! Waits for the server's job queue to drain before a timed run, so that a run does not
//! pay for the fan-out its predecessor left queued (a closed-loop `post1k` run queues more
//! fan-out than the writer clears, and the next run's creates used to wait behind it).
//!
//! The depth is the server's `roost_job_queue_depth` gauge, sampled every 5 s: scripts
//! that start runs back to back should pause that long between them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::Target;
use super::round_trips;

const DEPTH: &str = "roost_job_queue_depth";
/// The longest wait; a queue still busy then is reported, and the run goes ahead.
const PATIENCE: Duration = Duration::from_secs(600);

/// Returns once the server reports no queued jobs (or after `PATIENCE`).
pub async fn drain(target: &Arc<Target>) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let depth = depth(&round_trips::metrics_text(target).await?);
        if depth == 0 {
            if started.elapsed() >= Duration::from_secs(1) {
                eprintln!("job queue drained after {:.0?}", started.elapsed());
            }
            return Ok(());
        }
        if started.elapsed() >= PATIENCE {
            eprintln!("warning: {depth} jobs still queued after {PATIENCE:?}; running anyway");
            return Ok(());
        }
        if started.elapsed() < Duration::from_secs(1) {
            eprintln!("waiting for the server's {depth} queued jobs to finish");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The gauge's value in a Prometheus text exposition; 0 when absent (no worker has
/// sampled it yet, or the server runs without workers).
fn depth(text: &str) -> u64 {
    text.lines()
        .filter_map(|line| line.strip_prefix(DEPTH)?.strip_prefix(' ')?.trim().parse::<f64>().ok())
        .map(|depth| depth as u64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::depth;

    #[test]
    fn reads_the_gauge_and_nothing_else() {
        let text =
            "# TYPE roost_job_queue_depth gauge\nroost_job_queue_depth 42\nroost_job_queue_depth_other 7\n";
        assert_eq!(depth(text), 42);
        assert_eq!(depth("roost_http_requests_total{route=\"/\"} 3\n"), 0);
    }
}
