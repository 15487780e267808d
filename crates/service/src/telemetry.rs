//! The service's metrics: cache hit ratio per kind of cached value, feed generation time,
//! and engagement counters (rates are derived from them in PromQL). Recorded through the
//! `metrics` facade, so the service knows nothing of Prometheus; with no recorder installed
//! (tests, `roost admin`) each call is a no-op.

use std::sync::LazyLock;
use std::time::Duration;

use metrics::Counter;

use crate::analytics::Activity;

/// What a cache lookup was for: the `kind` label of the hit-ratio counters.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CacheKind {
    /// A home feed's sorted set.
    Feed,
    /// A big account's recent posts, merged into feeds at read time.
    RecentPosts,
    /// A post.
    Post,
    /// A profile.
    Profile,
    /// A post's like set.
    Likes,
    /// A username's owner.
    Username,
    /// A session and its floor.
    Session,
    /// Block and mute lists.
    Blocks,
    /// Search answers and suggestions.
    Search,
}

impl CacheKind {
    fn label(self) -> &'static str {
        match self {
            CacheKind::Feed => "feed",
            CacheKind::RecentPosts => "recent_posts",
            CacheKind::Post => "post",
            CacheKind::Profile => "profile",
            CacheKind::Likes => "likes",
            CacheKind::Username => "username",
            CacheKind::Session => "session",
            CacheKind::Blocks => "blocks",
            CacheKind::Search => "search",
        }
    }

    const ALL: [CacheKind; 9] = [
        CacheKind::Feed,
        CacheKind::RecentPosts,
        CacheKind::Post,
        CacheKind::Profile,
        CacheKind::Likes,
        CacheKind::Username,
        CacheKind::Session,
        CacheKind::Blocks,
        CacheKind::Search,
    ];
}

/// The (hit, miss) counters of every kind, registered once: a lookup is on every request's
/// path, and a handle's increment is one atomic add where the macro would look the metric
/// up by name and labels each time.
static LOOKUPS: LazyLock<Vec<(Counter, Counter)>> = LazyLock::new(|| {
    CacheKind::ALL
        .iter()
        .map(|kind| {
            let counter = |result: &'static str| {
                metrics::counter!("roost_cache_lookups_total", "kind" => kind.label(), "result" => result)
            };
            (counter("hit"), counter("miss"))
        })
        .collect()
});

/// Counts `hits` and `misses` of one kind of cached value.
pub(crate) fn cache_lookups(kind: CacheKind, hits: usize, misses: usize) {
    let (hit, miss) = &LOOKUPS[kind as usize];
    hit.increment(hits as u64);
    miss.increment(misses as u64);
}

/// Counts the hits and misses of one multi-key lookup.
pub(crate) fn cache_answers<T>(kind: CacheKind, answers: &[Option<T>]) {
    let hits = answers.iter().filter(|a| a.is_some()).count();
    cache_lookups(kind, hits, answers.len() - hits);
}

/// Counts one activity (the analytics' own count of it: `Service::count_activity`).
pub(crate) fn engagement(what: Activity) {
    let kind = match what {
        Activity::Post => "post",
        Activity::Like => "like",
        Activity::Follow => "follow",
        Activity::Comment => "comment",
        Activity::FeedRead => "feed_read",
    };
    metrics::counter!("roost_engagement_total", "kind" => kind).increment(1);
}

/// Records how long one home feed page took to put together.
pub(crate) fn feed_generated(took: Duration) {
    metrics::histogram!("roost_feed_generation_duration_seconds").record(took.as_secs_f64());
}
