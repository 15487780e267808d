//! Redis's own health for the metrics: memory, connections, evictions, keyspace hit ratio
//! (from `INFO`) and the slow log's length (`SLOWLOG LEN`), polled by a background task.
//! In a cluster these come from whichever node the pool's next client talks to.

use std::collections::HashMap;
use std::time::Duration;

use fred::prelude::ClientLike;
use fred::types::{ClusterHash, CustomCommand};
use roost_engines::EngineResult;
use tokio::task::JoinHandle;

use super::error::unavailable;
use super::RedisCache;

/// The `INFO` fields exported, and the metric each becomes (gauges: they go up and down).
const GAUGES: [(&str, &str); 4] = [
    ("used_memory", "roost_redis_used_memory_bytes"),
    ("maxmemory", "roost_redis_maxmemory_bytes"),
    ("connected_clients", "roost_redis_connected_clients"),
    ("blocked_clients", "roost_redis_blocked_clients"),
];
/// `INFO` fields that only grow (until Redis restarts): exported as counters.
const COUNTERS: [(&str, &str); 3] = [
    ("evicted_keys", "roost_redis_evicted_keys_total"),
    ("keyspace_hits", "roost_redis_keyspace_hits_total"),
    ("keyspace_misses", "roost_redis_keyspace_misses_total"),
];

/// `INFO`'s `field:value` lines (sections and comments skipped).
fn parse_info(text: &str) -> HashMap<&str, &str> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.trim_end().split_once(':'))
        .collect()
}

impl RedisCache {
    /// Reads `INFO` and `SLOWLOG LEN` once and sets the metrics.
    pub async fn export_server_stats(&self) -> EngineResult<()> {
        let client = self.connections.pool.next();
        let command = |name: &'static str| CustomCommand::new(name, ClusterHash::Random, false);
        let info: String = self
            .run(async { client.custom(command("INFO"), Vec::<String>::new()).await.map_err(unavailable) })
            .await?;
        let slowlog: u64 = self
            .run(async { client.custom(command("SLOWLOG"), vec!["LEN"]).await.map_err(unavailable) })
            .await?;
        let fields = parse_info(&info);
        let number = |field: &str| fields.get(field).and_then(|v| v.parse::<u64>().ok());
        for (field, metric) in GAUGES {
            if let Some(value) = number(field) {
                metrics::gauge!(metric).set(value as f64);
            }
        }
        for (field, metric) in COUNTERS {
            if let Some(value) = number(field) {
                metrics::counter!(metric).absolute(value);
            }
        }
        metrics::gauge!("roost_redis_slowlog_length").set(slowlog as f64);
        Ok(())
    }

    /// Polls [`Self::export_server_stats`] every `every` until the task is aborted.
    pub fn spawn_server_stats(&self, every: Duration) -> JoinHandle<()> {
        let cache = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                if let Err(err) = cache.export_server_stats().await {
                    tracing::debug!(%err, "reading Redis INFO for the metrics failed");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_lines_become_fields() {
        let text = "# Memory\r\nused_memory:1024\r\nmaxmemory:0\r\n\r\n# Stats\r\nevicted_keys:7\r\n";
        let fields = parse_info(text);
        assert_eq!(fields.get("used_memory"), Some(&"1024"));
        assert_eq!(fields.get("evicted_keys"), Some(&"7"));
        assert!(!fields.contains_key("# Memory"));
    }
}
