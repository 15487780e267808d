//! Dead letters: a job that failed `MAX_DELIVERIES` times (see the workers) is moved from the
//! job queue to a second stream in the cache, with why it failed, instead of being dropped.
//! Operators see them with `roost jobs list` and put them back with `roost jobs replay`;
//! metrics export their number ([`Service::dead_letter_count`]).
//!
//! The dead-letter stream is as durable as the job queue (the same SQLite file, or Redis
//! with its persistence) and nobody reads it as a group, so its entries stay until replayed.
//! Moving is "add to the dead letters, then acknowledge": a crash in between leaves the job
//! in both, and it may be dead-lettered twice; jobs are idempotent, so a replay of both is
//! harmless.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::jobs::{QueueMessage, STREAM};
use crate::time::now_millis;
use crate::Service;

/// The dead letters' stream (beside the job queue's).
const DEAD_STREAM: &str = "jobs-dead";
/// How long the time of a job's first failure is remembered (far longer than its retries).
const FIRST_FAILURE_TTL: Duration = Duration::from_secs(7 * 86_400);
/// The most dead letters one listing or replay reads.
pub const MAX_LISTED: usize = 10_000;

/// A job given up on, as kept in the dead letters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its id in the dead letters (what `replay` takes).
    #[serde(skip)]
    pub id: String,
    /// Its id in the job queue when it failed.
    pub job_id: String,
    /// The job's `kind` (`sync_like`, `fan_out`, ...), or `unreadable`.
    pub kind: String,
    /// The last error.
    pub error: String,
    /// How many times it was delivered, and failed.
    pub deliveries: u64,
    /// When it first failed (milliseconds since the epoch).
    pub first_failed_ms: u64,
    /// When it was given up on (milliseconds since the epoch).
    pub dead_at_ms: u64,
    /// The job as it was queued (JSON).
    pub payload: String,
}

impl Service {
    /// Remembers when job `id` first failed (best effort: only the listing shows it).
    pub async fn note_job_failure(&self, id: &str) {
        let now = Bytes::from(now_millis().to_string());
        if let Err(err) =
            self.cache.set_nx(&self.ck.job_first_failure(id), now, Some(FIRST_FAILURE_TTL)).await
        {
            tracing::debug!(%err, id, "remembering a job's first failure failed");
        }
    }

    /// Copies a job that failed for the last time to the dead letters; the worker then
    /// acknowledges it in the queue.
    pub async fn dead_letter_job(&self, message: &QueueMessage, error: &str) -> ServiceResult<DeadLetter> {
        let first_key = self.ck.job_first_failure(&message.id);
        let now = now_millis();
        let first_failed_ms = match self.cache.get(&first_key).await {
            Ok(Some(ms)) => std::str::from_utf8(&ms).ok().and_then(|ms| ms.parse().ok()).unwrap_or(now),
            _ => now,
        };
        let payload = String::from_utf8_lossy(&message.payload).into_owned();
        let kind = serde_json::from_str::<serde_json::Value>(&payload)
            .ok()
            .and_then(|job| job.get("kind").and_then(|k| k.as_str()).map(str::to_string))
            .unwrap_or_else(|| "unreadable".into());
        let mut letter = DeadLetter {
            id: String::new(),
            job_id: message.id.clone(),
            kind,
            error: error.to_string(),
            deliveries: message.deliveries,
            first_failed_ms,
            dead_at_ms: now,
            payload,
        };
        let record = serde_json::to_vec(&letter)?;
        letter.id = self.cache.xadd(&self.ck.queue(DEAD_STREAM), Bytes::from(record)).await?;
        self.cache_del(&[first_key]).await;
        Ok(letter)
    }

    /// How many jobs are in the dead letters.
    pub async fn dead_letter_count(&self) -> ServiceResult<u64> {
        Ok(self.cache.xlen(&self.ck.queue(DEAD_STREAM)).await?)
    }

    /// The dead letters, oldest first (at most `limit`).
    pub async fn dead_letters(&self, limit: usize) -> ServiceResult<Vec<DeadLetter>> {
        let entries = self.cache.xrange(&self.ck.queue(DEAD_STREAM), limit).await?;
        entries
            .into_iter()
            .map(|entry| {
                let mut letter: DeadLetter = serde_json::from_slice(&entry.payload).map_err(|e| {
                    ServiceError::Internal(format!("unreadable dead letter {}: {e}", entry.id))
                })?;
                letter.id = entry.id;
                Ok(letter)
            })
            .collect()
    }

    /// Queues dead letter `id`'s job again and removes it from the dead letters; false when
    /// there is no such dead letter.
    pub async fn replay_dead_letter(&self, id: &str) -> ServiceResult<bool> {
        let letters = self.dead_letters(MAX_LISTED).await?;
        let Some(letter) = letters.iter().find(|l| l.id == id) else { return Ok(false) };
        self.requeue(letter).await?;
        Ok(true)
    }

    /// Queues every dead letter's job again (up to [`MAX_LISTED`]); how many.
    pub async fn replay_dead_letters(&self) -> ServiceResult<usize> {
        let letters = self.dead_letters(MAX_LISTED).await?;
        for letter in &letters {
            self.requeue(letter).await?;
        }
        Ok(letters.len())
    }

    /// Queued first, removed second: a crash in between runs the job twice, never zero times.
    async fn requeue(&self, letter: &DeadLetter) -> ServiceResult<()> {
        self.cache.xadd(&self.ck.queue(STREAM), Bytes::from(letter.payload.clone().into_bytes())).await?;
        self.cache.xdel(&self.ck.queue(DEAD_STREAM), std::slice::from_ref(&letter.id)).await?;
        Ok(())
    }
}
