//! Abuse limits: how often one account, or one client address, may do a costly or
//! spammable thing (sign in, register, post, comment, like, follow, upload).
//!
//! Each limit is a fixed-window counter in the cache (`Cache::incr_window`, atomic in both
//! implementations), so with Redis every instance counts against the same number. A fixed
//! window lets a burst of up to twice the limit straddle a window's end; for abuse limits
//! that is an acceptable price for one round trip per check.
//!
//! A limit the cache cannot check lets the request through (with a warning): the cache is
//! never the only copy of anything, and an unreachable cache should slow Roost down, not
//! lock everyone out. `rate_limits = off` turns every limit off (load tests, benchmarks).

use std::time::Duration;

use crate::config::ServiceConfig;
use crate::error::{ServiceError, ServiceResult};
use crate::Service;

/// One kind of limited action; the doc of each names its subject and window, and
/// `ServiceConfig` holds how many are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Failed sign-ins of one account (the normalised username), per 15 minutes.
    SignInFailures,
    /// Sign-in attempts from one address, per 15 minutes.
    SignInsPerAddress,
    /// Registrations from one address, per hour.
    RegistrationsPerAddress,
    /// Posts of one account, per minute.
    Posts,
    /// Comments of one account, per minute.
    Comments,
    /// Likes and unlikes of one account, per minute.
    Likes,
    /// Follows and unfollows of one account, per minute.
    Follows,
    /// Uploads of one account, per hour.
    Uploads,
}

const MINUTE: Duration = Duration::from_secs(60);

impl Limit {
    /// The name in the counter's cache key.
    fn name(self) -> &'static str {
        match self {
            Limit::SignInFailures => "sign-in-failures",
            Limit::SignInsPerAddress => "sign-ins",
            Limit::RegistrationsPerAddress => "registrations",
            Limit::Posts => "posts",
            Limit::Comments => "comments",
            Limit::Likes => "likes",
            Limit::Follows => "follows",
            Limit::Uploads => "uploads",
        }
    }

    /// How many per window, and the window.
    fn rule(self, config: &ServiceConfig) -> (u32, Duration) {
        match self {
            Limit::SignInFailures => (config.limit_sign_in_failures, 15 * MINUTE),
            Limit::SignInsPerAddress => (config.limit_sign_ins_per_address, 15 * MINUTE),
            Limit::RegistrationsPerAddress => (config.limit_registrations_per_address, 60 * MINUTE),
            Limit::Posts => (config.limit_posts, MINUTE),
            Limit::Comments => (config.limit_comments, MINUTE),
            Limit::Likes => (config.limit_likes, MINUTE),
            Limit::Follows => (config.limit_follows, MINUTE),
            Limit::Uploads => (config.limit_uploads, 60 * MINUTE),
        }
    }
}

impl Service {
    /// Counts one action of `subject` against `limit`: 429 (`RateLimited`, with the
    /// seconds until the window ends) once the window's count passes the limit.
    pub async fn limit(&self, limit: Limit, subject: &str) -> ServiceResult<()> {
        self.count_against(limit, subject, 1).await
    }

    /// 429 if `subject` has used up `limit` already, without counting anything: a signed-in
    /// account's failures are checked before its password, so once limited, even the right
    /// password waits.
    pub(crate) async fn check_limit(&self, limit: Limit, subject: &str) -> ServiceResult<()> {
        self.count_against(limit, subject, 0).await
    }

    async fn count_against(&self, limit: Limit, subject: &str, delta: u64) -> ServiceResult<()> {
        if !self.config.rate_limits {
            return Ok(());
        }
        let (max, window) = limit.rule(&self.config);
        let key = self.ck.rate_limit(limit.name(), subject);
        match self.cache.incr_window(&key, delta, window).await {
            // Counting: the action that makes `max + 1` is refused. Checking: `max` is full.
            Ok((count, left)) if count + 1 - delta > u64::from(max) => {
                Err(ServiceError::RateLimited { retry_after_secs: left.as_secs_f64().ceil().max(1.0) as u64 })
            }
            Ok(_) => Ok(()),
            Err(err) => {
                tracing::warn!(%err, limit = limit.name(), "rate limit not checked: the cache failed");
                Ok(())
            }
        }
    }
}
