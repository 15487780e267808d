//! Trending posts: ranked by engagement velocity with time decay, kept incrementally in the
//! cache, so a read is one range query and never a scan.
//!
//! Each event (a new post, a new like, a comment) adds `weight * 2^((t - epoch) / half_life)`
//! to its post's score: the score in log space, so older contributions decay relative to
//! newer ones without ever being rewritten. To keep the exponent small, the epoch moves:
//! time is cut into generations one window long, each with its own sorted set whose epoch
//! is the generation's start, and an event is added to the sets of its generation and of
//! the next. The set of the current generation therefore holds every event since the
//! start of the previous one, which covers the window; older sets expire.
//!
//! A second sorted set per window records when each post was last engaged with; posts
//! quiet for longer than the window are pruned from the scores before each read. A deleted
//! post is removed at once and filtered at read. Unlikes are ignored: subtracting a decayed
//! contribution exactly would need the like's time, and an unlike is not engagement.
//! The cache is the only copy: after a cache flush trending starts empty and refills from
//! new activity (it is a view of the last hours, so it is whole again within a window).

use std::time::Duration;

use crate::analytics::Activity;
use crate::cursor::PageRequest;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{Caller, Post};
use crate::{time, Service};

pub(crate) const MAX_TRENDING: usize = 50;
/// Pruned per read at most (the rest goes on the next read).
const PRUNE_BATCH: usize = 200;

/// The two windows of `GET /api/trending`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last hour (`1h`).
    Hour,
    /// The last 24 hours (`24h`).
    Day,
}

impl Window {
    /// Both windows; every event counts in each.
    pub const ALL: [Window; 2] = [Window::Hour, Window::Day];

    /// `?window=`: `1h` or `24h`, 24 hours when absent.
    pub fn parse(value: Option<&str>) -> ServiceResult<Window> {
        match value {
            Some("1h") => Ok(Window::Hour),
            Some("24h") | None => Ok(Window::Day),
            Some(_) => Err(ServiceError::validation("window", "window must be 1h or 24h")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Window::Hour => "1h",
            Window::Day => "24h",
        }
    }

    fn span_ms(self) -> u64 {
        match self {
            Window::Hour => 3_600_000,
            Window::Day => 24 * 3_600_000,
        }
    }

    fn half_life_ms(self) -> u64 {
        match self {
            Window::Hour => 3_600_000,
            Window::Day => 6 * 3_600_000,
        }
    }

    /// The generation whose set answers reads at `now`.
    fn generation(self, now_ms: u64) -> u64 {
        now_ms / self.span_ms()
    }
}

/// What happened to a post, and how much it counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engagement {
    /// The post was published (weight 1).
    Posted,
    /// The post was liked (weight 2).
    Liked,
    /// The post was commented on (weight 3).
    Commented,
}

impl Engagement {
    /// What analytics counts it as (engagement is noted once the write committed).
    fn activity(self) -> Activity {
        match self {
            Engagement::Posted => Activity::Post,
            Engagement::Liked => Activity::Like,
            Engagement::Commented => Activity::Comment,
        }
    }

    fn weight(self) -> f64 {
        match self {
            Engagement::Posted => 1.0,
            Engagement::Liked => 2.0,
            Engagement::Commented => 3.0,
        }
    }
}

/// The increments an event of `weight` at `at_ms` makes: `(generation, delta)` for its own
/// generation and the next, each relative to that generation's start.
pub(crate) fn increments(window: Window, weight: f64, at_ms: u64) -> [(u64, f64); 2] {
    let generation = window.generation(at_ms);
    [generation, generation + 1].map(|g| {
        let epoch = g * window.span_ms();
        let exponent = (at_ms as f64 - epoch as f64) / window.half_life_ms() as f64;
        (g, weight * exponent.exp2())
    })
}

impl Service {
    /// Records engagement with a post in every window. Best effort: trending is a view, and
    /// a cache failure must not fail the write that engaged.
    pub(crate) async fn note_engagement(&self, pid: &str, kind: Engagement) {
        self.count_activity(kind.activity());
        let now = time::now_millis();
        for window in Window::ALL {
            if let Err(err) = self.add_engagement(window, pid, kind.weight(), now).await {
                tracing::warn!(%err, pid, "trending not updated");
            }
        }
    }

    async fn add_engagement(&self, window: Window, pid: &str, weight: f64, now: u64) -> ServiceResult<()> {
        // Each set is read during its own generation and written during the one before.
        let keep = Duration::from_millis(2 * window.span_ms() + 60_000);
        for (generation, delta) in increments(window, weight, now) {
            let key = self.ck.trending(window.name(), generation);
            self.cache.zincrby(&key, delta, pid).await?;
            self.cache.expire(&key, keep).await?;
        }
        let seen = self.ck.trending_seen(window.name());
        self.cache.zadd(&seen, &[(now as f64, pid.to_string())]).await?;
        self.cache.expire(&seen, keep).await?;
        Ok(())
    }

    /// A deleted post leaves trending at once.
    pub(crate) async fn forget_trending(&self, pid: &str) {
        let now = time::now_millis();
        for window in Window::ALL {
            if let Err(err) = self.remove_trending(window, now, &[pid.to_string()]).await {
                tracing::warn!(%err, pid, "deleted post left in trending; filtered at read");
            }
        }
    }

    async fn remove_trending(&self, window: Window, now: u64, pids: &[String]) -> ServiceResult<()> {
        let generation = window.generation(now);
        for g in [generation, generation + 1] {
            self.cache.zrem(&self.ck.trending(window.name(), g), pids).await?;
        }
        self.cache.zrem(&self.ck.trending_seen(window.name()), pids).await?;
        Ok(())
    }

    /// `GET /api/trending`: the top posts of a window, best first.
    pub async fn trending(
        &self,
        caller: Option<&Caller>,
        window: Window,
        limit: Option<u32>,
    ) -> ServiceResult<Vec<Post>> {
        let limit = PageRequest { limit, cursor: None }.limit_up_to(MAX_TRENDING)?;
        let now = time::now_millis();
        let seen = self.ck.trending_seen(window.name());
        let cutoff = now.saturating_sub(window.span_ms()) as f64;
        let quiet = self.cache.zrevrangebyscore(&seen, cutoff, true, f64::NEG_INFINITY, PRUNE_BATCH).await?;
        if !quiet.is_empty() {
            let pids: Vec<String> = quiet.into_iter().map(|(pid, _)| pid).collect();
            self.remove_trending(window, now, &pids).await?;
        }
        let key = self.ck.trending(window.name(), window.generation(now));
        // A few spare: posts deleted while their removal failed are skipped below.
        let top = self.cache.zrevrange(&key, 0, (limit + 10) as i64 - 1).await?;
        let pids: Vec<String> = top.into_iter().map(|(pid, _)| pid).collect();
        let mut stored = self.load_posts(&pids).await?;
        let posts = pids.iter().filter_map(|p| stored.remove(p)).take(limit).collect();
        self.present_posts(caller, posts).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const HOUR: u64 = 3_600_000;
    /// Some moment well after the epoch, at the start of a day.
    const T0: u64 = 20_000 * 24 * HOUR;

    /// The cache's sorted sets, in memory: (window, generation) -> post -> score.
    #[derive(Default)]
    struct Sets(HashMap<(&'static str, u64), HashMap<&'static str, f64>>);

    impl Sets {
        fn engage(&mut self, window: Window, pid: &'static str, kind: Engagement, at: u64) {
            for (g, delta) in increments(window, kind.weight(), at) {
                *self.0.entry((window.name(), g)).or_default().entry(pid).or_default() += delta;
            }
        }

        fn ranking(&self, window: Window, now: u64) -> Vec<&'static str> {
            let Some(set) = self.0.get(&(window.name(), window.generation(now))) else { return vec![] };
            let mut ranked: Vec<(&'static str, f64)> = set.iter().map(|(p, s)| (*p, *s)).collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            ranked.into_iter().map(|(p, _)| p).collect()
        }
    }

    #[test]
    fn parses_the_window() {
        assert_eq!(Window::parse(None).unwrap(), Window::Day);
        assert_eq!(Window::parse(Some("1h")).unwrap(), Window::Hour);
        assert_eq!(Window::parse(Some("24h")).unwrap(), Window::Day);
        assert!(matches!(Window::parse(Some("7d")), Err(ServiceError::Validation { field: "window", .. })));
    }

    #[test]
    fn recent_engagement_outranks_older_engagement() {
        let now = T0 + 10 * HOUR;
        let mut sets = Sets::default();
        for window in Window::ALL {
            for _ in 0..3 {
                sets.engage(window, "old", Engagement::Liked, now - 50 * 60_000);
            }
            for _ in 0..2 {
                sets.engage(window, "new", Engagement::Liked, now);
            }
        }
        // Three likes 50 minutes ago weigh less than two now with a half-life of an hour...
        assert_eq!(sets.ranking(Window::Hour, now), ["new", "old"]);
        // ...but more with a half-life of six hours.
        assert_eq!(sets.ranking(Window::Day, now), ["old", "new"]);
    }

    #[test]
    fn a_half_life_halves_a_contribution() {
        let [(_, early), _] = increments(Window::Day, 1.0, T0 + HOUR);
        let [(_, late), _] = increments(Window::Day, 1.0, T0 + 7 * HOUR);
        assert!((late / early - 2.0).abs() < 1e-9, "{early} {late}");
    }

    #[test]
    fn the_next_generation_already_holds_the_current_ranking() {
        let mut sets = Sets::default();
        let window = Window::Hour;
        // Late in one generation: "a" a little earlier, "b" a little later, same weight.
        sets.engage(window, "a", Engagement::Commented, T0 + 40 * 60_000);
        sets.engage(window, "b", Engagement::Liked, T0 + 59 * 60_000);
        sets.engage(window, "b", Engagement::Liked, T0 + 59 * 60_000);
        let before = sets.ranking(window, T0 + 59 * 60_000);
        let after = sets.ranking(window, T0 + 61 * 60_000);
        assert_eq!(before, ["b", "a"]);
        assert_eq!(after, before, "the ranking carries over into the next generation");
        // Two generations on, with no new activity, the old set is no longer read.
        assert!(sets.ranking(window, T0 + 2 * HOUR + 1).is_empty());
    }

    #[test]
    fn scores_stay_small_whatever_the_date() {
        for at in [T0, T0 + 23 * HOUR, u64::from(u32::MAX) * 1000 * 50] {
            for window in Window::ALL {
                for (_, delta) in increments(window, 3.0, at) {
                    assert!(delta.is_finite() && (3.0 / 16.0..=3.0 * 16.0).contains(&delta), "{delta}");
                }
            }
        }
    }
}
