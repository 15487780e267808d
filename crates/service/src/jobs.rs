//! Background jobs: what the service hands to the workers through the cache's durable
//! queue (one stream, one consumer group), and how each is carried out.
//!
//! Every job is idempotent: a worker may die after doing a job but before acknowledging
//! it, and then another worker does it again. A job that keeps failing is moved to the dead
//! letters (see `dead_letters`), never dropped.

use std::time::Duration;

use bytes::Bytes;
pub use roost_engines::QueueMessage;
use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::Service;

/// The stream's one consumer group: every instance's workers share it, so each job runs once.
const GROUP: &str = "workers";
pub(crate) const STREAM: &str = "jobs";

/// Work queued for the workers, serialized as JSON tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Push a new post into its author's followers' feeds.
    FanOut {
        /// The new post.
        post_id: String,
        /// Its author, whose followers' feeds receive it.
        author_id: String,
    },
    /// Remove a deleted post from the feeds it was fanned out to; delete what is filed
    /// under it and its images.
    Retract {
        /// The deleted post.
        post_id: String,
        /// Its author, whose followers' feeds held it.
        author_id: String,
        /// Its images. Absent from jobs queued before images went with their post.
        #[serde(default)]
        media_ids: Vec<String>,
    },
    /// Fill a new follower's feed with the followee's recent posts: done by the follow
    /// request itself, queued only when that failed after the follow committed.
    Backfill {
        /// The new follower, whose feed receives the posts.
        follower_id: String,
        /// Whom they follow now.
        followee_id: String,
    },
    /// Bring the store's like item and counter in line with a like or unlike the cache
    /// already answered.
    SyncLike {
        /// The post liked or unliked.
        post_id: String,
        /// Who liked or unliked it.
        user_id: String,
        /// True for a like, false for an unlike.
        liked: bool,
        /// When it was acknowledged (see `likes::next_like_version`): the store keeps the
        /// latest, so jobs of one like may run in any order. 0 in jobs queued before versions.
        #[serde(default)]
        version: u64,
    },
    /// Erase every trace of an account whose erasure was requested (see `erasure`). The
    /// names are carried here because the profile is gone by the time the job runs.
    EraseAccount {
        /// The account erased.
        user_id: String,
        /// Its username (its claim is released last).
        username: String,
        /// Its display name (for its search entries).
        display_name: String,
        /// When the account was closed (milliseconds since the epoch).
        #[serde(default)]
        closed_at_ms: u64,
    },
}

impl Job {
    /// A job as `enqueue` serialized it; anything else is an internal error.
    pub fn decode(payload: &[u8]) -> ServiceResult<Job> {
        serde_json::from_slice(payload).map_err(|e| ServiceError::Internal(format!("unreadable job: {e}")))
    }

    /// The job's kind, as serialized (`fan_out`, ...): the label of its metrics and costs.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::FanOut { .. } => "fan_out",
            Job::Retract { .. } => "retract",
            Job::Backfill { .. } => "backfill",
            Job::SyncLike { .. } => "sync_like",
            Job::EraseAccount { .. } => "erase_account",
        }
    }

    /// Jobs with the same key must run in queue order (a like then an unlike of the same
    /// post by the same user); jobs with different keys, or none, may run concurrently.
    pub fn ordering_key(&self) -> Option<String> {
        match self {
            Job::SyncLike { post_id, user_id, .. } => Some(format!("like:{post_id}:{user_id}")),
            _ => None,
        }
    }
}

impl Service {
    pub(crate) async fn enqueue(&self, job: &Job) -> ServiceResult<()> {
        self.enqueue_payload(&serde_json::to_value(job)?).await
    }

    /// Queues a job as serialized (with whatever the caller added, see `outbox`).
    pub(crate) async fn enqueue_payload(&self, payload: &serde_json::Value) -> ServiceResult<()> {
        #[cfg(debug_assertions)]
        refusal_on_purpose()?;
        self.cache.xadd(&self.ck.queue(STREAM), Bytes::from(serde_json::to_vec(payload)?)).await?;
        Ok(())
    }

    /// Creates the consumer group (idempotent); workers call it before reading.
    pub async fn prepare_job_queue(&self) -> ServiceResult<()> {
        Ok(self.cache.xgroup_create(&self.ck.queue(STREAM), GROUP).await?)
    }

    /// New jobs for this worker, waiting up to `block` when there are none.
    pub async fn next_jobs(
        &self,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> ServiceResult<Vec<QueueMessage>> {
        Ok(self.cache.xreadgroup(&self.ck.queue(STREAM), GROUP, consumer, count, block).await?)
    }

    /// Jobs another worker took and never finished (it died), now this worker's.
    pub async fn claim_stale_jobs(&self, consumer: &str, count: usize) -> ServiceResult<Vec<QueueMessage>> {
        let idle = Duration::from_secs(self.config.job_claim_idle_secs);
        Ok(self.cache.xautoclaim(&self.ck.queue(STREAM), GROUP, consumer, idle, count).await?)
    }

    /// Every job pending with any worker, whatever its idle time, now this worker's; then
    /// the jobs no worker read yet. For an instance that is the only one on its queue (the
    /// embedded cache) at startup, when every pending job was its dead predecessor's.
    pub async fn claim_orphaned_jobs(
        &self,
        consumer: &str,
        count: usize,
    ) -> ServiceResult<Vec<QueueMessage>> {
        let queue = self.ck.queue(STREAM);
        let claimed = self.cache.xautoclaim(&queue, GROUP, consumer, Duration::ZERO, count).await?;
        if !claimed.is_empty() {
            return Ok(claimed);
        }
        Ok(self.cache.xreadgroup(&queue, GROUP, consumer, count, Duration::ZERO).await?)
    }

    /// Hands jobs `consumer` read and will not run back to the queue: their idle time is
    /// set past `job_claim_idle_secs`, so the next claim of any worker takes them at once
    /// (and an instance's startup claim, which takes every pending job, anyway).
    pub async fn hand_back_jobs(&self, consumer: &str, ids: &[String]) -> ServiceResult<()> {
        let idle = Duration::from_secs(self.config.job_claim_idle_secs.saturating_add(1));
        self.cache.xclaim_idle(&self.ck.queue(STREAM), GROUP, consumer, ids, idle).await?;
        Ok(())
    }

    /// Marks job `id` done, so it is never delivered again.
    pub async fn ack_job(&self, id: &str) -> ServiceResult<()> {
        self.cache.xack(&self.ck.queue(STREAM), GROUP, &[id.to_string()]).await?;
        Ok(())
    }

    /// Jobs queued and not yet done (metrics, and tests waiting for the workers).
    pub async fn pending_jobs(&self) -> ServiceResult<u64> {
        Ok(self.cache.xlen(&self.ck.queue(STREAM)).await?)
    }

    /// Carries out one queued job.
    pub async fn run_job(&self, job: Job) -> ServiceResult<()> {
        #[cfg(debug_assertions)]
        failure_on_purpose()?;
        match job {
            Job::FanOut { post_id, author_id } => self.fan_out(&post_id, &author_id).await,
            Job::Retract { post_id, author_id, media_ids } => {
                self.retract(&post_id, &author_id).await?;
                self.delete_media(&media_ids).await
            }
            Job::Backfill { follower_id, followee_id } => self.backfill_job(&follower_id, &followee_id).await,
            Job::EraseAccount { user_id, username, display_name, closed_at_ms } => {
                self.erase_account(&user_id, &username, &display_name, closed_at_ms).await
            }
            Job::SyncLike { post_id, user_id, liked, version } => {
                self.sync_like(&post_id, &user_id, liked, version).await.map(drop)
            }
        }
    }
}

/// Debug builds only, for the tests of dead letters: while the file named by
/// `ROOST_TEST_FAILING_JOBS` exists, every job fails.
#[cfg(debug_assertions)]
fn failure_on_purpose() -> ServiceResult<()> {
    match std::env::var_os("ROOST_TEST_FAILING_JOBS") {
        Some(path) if std::path::Path::new(&path).exists() => {
            Err(ServiceError::Internal("a job failing on purpose (ROOST_TEST_FAILING_JOBS)".into()))
        }
        _ => Ok(()),
    }
}

/// Debug builds only, for the outbox tests: while the file named by
/// `ROOST_TEST_FAILING_ENQUEUE` exists, queuing any job fails.
#[cfg(debug_assertions)]
fn refusal_on_purpose() -> ServiceResult<()> {
    match std::env::var_os("ROOST_TEST_FAILING_ENQUEUE") {
        Some(path) if std::path::Path::new(&path).exists() => Err(ServiceError::Unavailable(
            "the queue refusing on purpose (ROOST_TEST_FAILING_ENQUEUE)".into(),
        )),
        _ => Ok(()),
    }
}
