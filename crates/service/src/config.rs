//! The service's settings. Every one has a default that suits a real deployment; the
//! binary fills them from the TOML file and `ROOST_*` variables.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What the service layer reads from configuration; every field has a default.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Prefix of every cache key, so that deployments (or test runs) can share one Redis.
    pub cache_namespace: String,
    /// Overrides the token key kept in the store (all instances must agree on it).
    pub token_secret: Option<String>,
    /// How long a session lives without logout.
    pub session_ttl_days: u32,
    /// Argon2id cost. The defaults are OWASP's recommendation (19 MiB, 2 passes); tests
    /// lower them to register thousands of users quickly.
    pub argon2_memory_kib: u32,
    /// Argon2id passes (see `argon2_memory_kib`).
    pub argon2_iterations: u32,
    /// The largest image accepted, in bytes.
    pub media_max_bytes: usize,
    /// The total bytes of images one user may keep (their uploads, attached or not).
    pub media_quota_bytes: u64,
    /// An upload attached to no post or profile within this long is removed.
    pub unattached_media_max_age_secs: u64,
    /// How many post ids a cached home feed keeps.
    pub feed_cap: usize,
    /// Authors with more followers than this are not fanned out on write; their posts are
    /// merged into readers' feeds at read time.
    pub fanout_threshold: u64,
    /// A queued job delivered to a worker that has not acknowledged it for this long is
    /// taken over by another worker (its instance is presumed dead).
    pub job_claim_idle_secs: u64,
    /// A committed write's job still in the outbox this long after the commit (the request
    /// could not queue it) is queued by the outbox relay; also how often the relay sweeps.
    pub outbox_grace_secs: u64,
    /// Concurrent jobs per instance.
    pub worker_concurrency: usize,
    /// Run on a Redis that keeps nothing across a restart (no AOF, no RDB): refused
    /// otherwise. Likes and unlikes are then written to the store before they are
    /// acknowledged, since the queue could lose their jobs.
    pub allow_volatile_cache: bool,
    /// Comma-separated words (case-insensitive, whole words) that hold a post or comment
    /// for review instead of publishing it; empty: no screening.
    pub screening_words: String,
    /// Abuse limits (see `limits`): on by default; off for load tests and benchmarks.
    pub rate_limits: bool,
    /// Failed sign-ins of one account per 15 minutes; past it, even the right password
    /// waits for the window to end.
    pub limit_sign_in_failures: u32,
    /// Sign-in attempts from one address per 15 minutes.
    pub limit_sign_ins_per_address: u32,
    /// New accounts from one address per hour.
    pub limit_registrations_per_address: u32,
    /// Posts of one account per minute.
    pub limit_posts: u32,
    /// Comments of one account per minute.
    pub limit_comments: u32,
    /// Likes and unlikes of one account per minute.
    pub limit_likes: u32,
    /// Follows and unfollows of one account per minute.
    pub limit_follows: u32,
    /// Image uploads of one account per hour.
    pub limit_uploads: u32,
    /// How often each instance rolls the analytics of the last days up from the cache into
    /// the store (see `analytics`).
    pub stats_rollup_secs: u64,
    /// USD per million DynamoDB read request units (on-demand, us-east-1 by default), for
    /// the cost per route.
    pub dynamodb_read_price_per_million: f64,
    /// USD per million DynamoDB write request units (see the read price).
    pub dynamodb_write_price_per_million: f64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            cache_namespace: "roost".into(),
            token_secret: None,
            session_ttl_days: 30,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            media_max_bytes: 10 * 1024 * 1024,
            media_quota_bytes: 1024 * 1024 * 1024,
            unattached_media_max_age_secs: 24 * 3600,
            feed_cap: 800,
            fanout_threshold: 10_000,
            job_claim_idle_secs: 30,
            outbox_grace_secs: 10,
            worker_concurrency: 4,
            allow_volatile_cache: false,
            screening_words: String::new(),
            rate_limits: true,
            limit_sign_in_failures: 10,
            limit_sign_ins_per_address: 100,
            limit_registrations_per_address: 20,
            limit_posts: 60,
            limit_comments: 60,
            limit_likes: 300,
            limit_follows: 100,
            limit_uploads: 200,
            stats_rollup_secs: 300,
            dynamodb_read_price_per_million: 0.125,
            dynamodb_write_price_per_million: 0.625,
        }
    }
}

/// Cache lifetimes (docs/architecture.md, "Cache keys").
pub mod ttl {
    use super::Duration;
    /// A cached profile.
    pub const PROFILE: Duration = Duration::from_secs(3600);
    /// A cached post.
    pub const POST: Duration = Duration::from_secs(2 * 3600);
    /// A cached list of followers.
    pub const FOLLOWER_LIST: Duration = Duration::from_secs(30 * 60);
    /// Sessions are re-checked against the store at least this often, in case the cache
    /// missed a revocation (the store is the only copy that counts).
    pub const SESSION: Duration = Duration::from_secs(5 * 60);
    /// A cached username-to-id lookup.
    pub const USERNAME: Duration = Duration::from_secs(24 * 3600);
    pub(crate) const SEARCH: Duration = Duration::from_secs(30);
}
