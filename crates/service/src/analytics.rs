//! Privacy-safe analytics: daily and monthly active users, and posts, likes, follows,
//! comments and feed reads per day, for `GET /api/admin/stats`.
//!
//! **No user id is kept.** A user counts as active under a *pseudonym*: an HMAC-SHA256 of
//! their id under a key derived from the token key and the period (the UTC day for daily
//! actives), so pseudonyms of two days cannot be linked, and none can be turned back into
//! an id without the token key. Pseudonyms go only into HyperLogLog sketches (`PFADD`),
//! which keep register maxima of their hashes, not the pseudonyms themselves. Event counts
//! are plain per-day counters.
//!
//! **Monthly actives** are distinct users over the last 30 days, which daily pseudonyms
//! cannot give (a user active on three days would count three times). So each active user
//! is also added, under a *window* pseudonym, to that day's window sketch; the count is the
//! union (`PFCOUNT` of 30 keys) of the last 30 days' window sketches. The window key rotates
//! every 60 days, on two schedules 30 days apart (`a` and `b`): any 30 consecutive days lie
//! within one period of one schedule, whose sketches all use one key, so the union counts
//! each user once; and a window pseudonym links a user's days for at most 60 days.
//!
//! **Where it is recorded:** active users where authentication touches presence (once per
//! user, instance and 30 s); posts, likes and comments where trending notes engagement
//! (after the write committed); follows after the follow transaction; feed reads on the feed
//! path. Recording only adds to an in-process tally, never waits on the cache: the tally is
//! written by a task a second later (`FLUSH_AFTER`), in one batch. A failed write loses
//! that second's figures and is logged; no request ever fails for analytics. An instance
//! that dies loses at most its last second.
//!
//! **Retention:** the day sketches and counters live `LIVE_DAYS` in the cache; the window
//! sketches 31 days. Every instance rolls the figures of the last `LIVE_DAYS` days up into
//! the store every `stats_rollup_secs` (pk `STATS`, sk `DAY#YYYY-MM-DD`, kept for good), so
//! past days survive the loss of the cache; figures read for a day are the larger of the
//! stored and the cached ones, field by field.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use hmac::{Hmac, Mac};
use roost_engines::{Cond, Index, Item, KeyCondition, Page, SkCond};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use crate::error::{ServiceError, ServiceResult};
use crate::model::Caller;
use crate::{telemetry, time, Service};

/// Days a day's sketch and counters stay in the cache (the roll-up has them long before).
pub const LIVE_DAYS: i64 = 8;
/// Days of the monthly-active figure.
pub const WINDOW_DAYS: i64 = 30;
/// How long a window pseudonym key lives: two windows, so a window fits in one period.
const PERIOD_DAYS: i64 = 2 * WINDOW_DAYS;
/// How long recorded figures wait in the tally before they are written, in one batch.
const FLUSH_AFTER: Duration = Duration::from_secs(1);
/// The days `GET /api/admin/stats` can show.
pub const MAX_DAYS: u32 = 90;
const DEFAULT_DAYS: u32 = 30;
const SECS_PER_DAY: i64 = 86_400;
/// The store partition of the rolled-up days.
const STATS_PK: &str = "STATS";

/// What is counted per day, besides active users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activity {
    /// A post published.
    Post,
    /// A new like.
    Like,
    /// A new follow.
    Follow,
    /// A comment published.
    Comment,
    /// A home feed page read.
    FeedRead,
}

impl Activity {
    const ALL: [Activity; 5] =
        [Activity::Post, Activity::Like, Activity::Follow, Activity::Comment, Activity::FeedRead];

    /// The counter's field in the day's hash, and in the API.
    fn field(self) -> &'static str {
        match self {
            Activity::Post => "posts",
            Activity::Like => "likes",
            Activity::Follow => "follows",
            Activity::Comment => "comments",
            Activity::FeedRead => "feed_reads",
        }
    }
}

/// One day's figures (`GET /api/admin/stats`), also the rolled-up store item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayStats {
    /// The UTC day, `YYYY-MM-DD`.
    pub date: String,
    /// Distinct users who made an authenticated request that day (an estimate, ±1%).
    pub active_users: u64,
    /// Posts published.
    pub posts: u64,
    /// New likes.
    pub likes: u64,
    /// New follows.
    pub follows: u64,
    /// Comments published.
    pub comments: u64,
    /// Home feed pages read.
    pub feed_reads: u64,
}

impl DayStats {
    fn count(&self, activity: Activity) -> u64 {
        match activity {
            Activity::Post => self.posts,
            Activity::Like => self.likes,
            Activity::Follow => self.follows,
            Activity::Comment => self.comments,
            Activity::FeedRead => self.feed_reads,
        }
    }

    fn count_mut(&mut self, activity: Activity) -> &mut u64 {
        match activity {
            Activity::Post => &mut self.posts,
            Activity::Like => &mut self.likes,
            Activity::Follow => &mut self.follows,
            Activity::Comment => &mut self.comments,
            Activity::FeedRead => &mut self.feed_reads,
        }
    }

    /// Field by field, the larger of two readings of one day.
    fn max(mut self, other: &DayStats) -> DayStats {
        self.active_users = self.active_users.max(other.active_users);
        for activity in Activity::ALL {
            let mine = self.count_mut(activity);
            *mine = (*mine).max(other.count(activity));
        }
        self
    }

    fn is_empty(&self) -> bool {
        *self == DayStats { date: self.date.clone(), ..DayStats::default() }
    }
}

/// `GET /api/admin/stats`: oldest day first, today (live) last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    /// One entry per day asked for.
    pub days: Vec<DayStats>,
    /// Distinct users active over the last 30 days, today included (an estimate, ±1%).
    pub monthly_active_users: u64,
}

/// Figures recorded by this instance and not written to the cache yet.
#[derive(Default)]
pub(crate) struct Tally {
    state: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    /// (day, activity) → count.
    counts: HashMap<(i64, Activity), i64>,
    /// Sketch key → (its lifetime, pseudonyms to add).
    active: HashMap<String, (Duration, Vec<String>)>,
    /// A flush task is already waiting.
    scheduled: bool,
}

impl Tally {
    /// Runs `record` on the pending figures; true when the caller must schedule a flush.
    fn record(&self, record: impl FnOnce(&mut Pending)) -> bool {
        let mut pending = self.state.lock().unwrap_or_else(|e| e.into_inner());
        record(&mut pending);
        !std::mem::replace(&mut pending.scheduled, true)
    }

    fn take(&self) -> Pending {
        std::mem::take(&mut *self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Days since the epoch (UTC) of a moment in seconds.
fn day_of(secs: i64) -> i64 {
    secs.div_euclid(SECS_PER_DAY)
}

/// `YYYY-MM-DD` of a day number.
pub fn date_of(day: i64) -> String {
    match ::time::OffsetDateTime::from_unix_timestamp(day * SECS_PER_DAY) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => "0000-00-00".into(),
    }
}

/// The window schedule and period whose period holds the 30 days ending on `today`.
fn window_for(today: i64) -> (&'static str, i64) {
    let first = today - (WINDOW_DAYS - 1);
    if first.div_euclid(PERIOD_DAYS) == today.div_euclid(PERIOD_DAYS) {
        ("a", today.div_euclid(PERIOD_DAYS))
    } else {
        ("b", (today + WINDOW_DAYS).div_euclid(PERIOD_DAYS))
    }
}

/// The periods of both schedules a day belongs to.
fn periods_of(day: i64) -> [(&'static str, i64); 2] {
    [("a", day.div_euclid(PERIOD_DAYS)), ("b", (day + WINDOW_DAYS).div_euclid(PERIOD_DAYS))]
}

/// Makes pseudonyms: HMAC-SHA256 of the user id under a key per period, itself an HMAC of
/// the period's name under the analytics key (derived from the token key).
pub(crate) struct Pseudonyms {
    key: Vec<u8>,
}

impl Pseudonyms {
    /// Pseudonyms under `key` (see `TokenSigner::derive_key`).
    pub(crate) fn new(key: Vec<u8>) -> Pseudonyms {
        Pseudonyms { key }
    }

    fn mac(key: &[u8], message: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(message.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// `uid`'s pseudonym in `period` (`day#2026-11-30`, `window#a#341`): 128 bits, hex.
    fn of(&self, period: &str, uid: &str) -> String {
        let period_key = Self::mac(&self.key, period);
        Self::mac(&period_key, uid)[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Service {
    /// Counts one activity today. Never waits, never fails.
    pub(crate) fn count_activity(&self, activity: Activity) {
        telemetry::engagement(activity);
        let day = day_of(time::now_secs());
        if self.tally.record(|p| *p.counts.entry((day, activity)).or_default() += 1) {
            self.schedule_flush();
        }
    }

    /// Counts a user as active today (and in the monthly windows), under pseudonyms only.
    pub(crate) fn count_active(&self, uid: &str) {
        let day = day_of(time::now_secs());
        let date = date_of(day);
        let mut entries = vec![(
            self.ck.stats_active(&date),
            Duration::from_secs(LIVE_DAYS as u64 * SECS_PER_DAY as u64),
            self.pseudonyms.of(&format!("day#{date}"), uid),
        )];
        for (schedule, period) in periods_of(day) {
            entries.push((
                self.ck.stats_window(schedule, period, &date),
                Duration::from_secs((WINDOW_DAYS as u64 + 1) * SECS_PER_DAY as u64),
                self.pseudonyms.of(&format!("window#{schedule}#{period}"), uid),
            ));
        }
        let schedule = self.tally.record(move |p| {
            for (key, keep, pseudonym) in entries {
                p.active.entry(key).or_insert_with(|| (keep, Vec::new())).1.push(pseudonym);
            }
        });
        if schedule {
            self.schedule_flush();
        }
    }

    fn schedule_flush(&self) {
        let service = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(FLUSH_AFTER).await;
            service.flush_analytics().await;
        });
    }

    /// Writes the tally to the cache now.
    async fn flush_analytics(&self) {
        let pending = self.tally.take();
        let written = async {
            for ((day, activity), n) in pending.counts {
                let key = self.ck.stats_events(&date_of(day));
                self.cache.hincrby(&key, activity.field(), n).await?;
                self.cache.expire(&key, Duration::from_secs(LIVE_DAYS as u64 * SECS_PER_DAY as u64)).await?;
            }
            for (key, (keep, pseudonyms)) in pending.active {
                self.cache.pfadd(&key, &pseudonyms).await?;
                self.cache.expire(&key, keep).await?;
            }
            Ok::<_, roost_engines::EngineError>(())
        };
        if let Err(err) = written.await {
            tracing::warn!(%err, "analytics not written; this second's figures are lost");
        }
    }

    /// A day's figures as the cache has them.
    async fn live_stats(&self, day: i64) -> ServiceResult<DayStats> {
        let date = date_of(day);
        let (events, active) = (self.ck.stats_events(&date), [self.ck.stats_active(&date)]);
        let (counters, active) = tokio::join!(self.cache.hgetall(&events), self.cache.pfcount(&active));
        let mut stats = DayStats { date, active_users: active?, ..DayStats::default() };
        for (field, value) in counters? {
            if let Some(activity) = Activity::ALL.into_iter().find(|a| a.field() == field) {
                *stats.count_mut(activity) = value.max(0) as u64;
            }
        }
        Ok(stats)
    }

    /// The rolled-up days `first..=last`, by date.
    async fn stored_stats(&self, first: i64, last: i64) -> ServiceResult<HashMap<String, DayStats>> {
        let mut stored = HashMap::new();
        let range = SkCond::Between(format!("DAY#{}", date_of(first)), format!("DAY#{}", date_of(last)));
        let mut start = None;
        loop {
            let cond = KeyCondition::pk(STATS_PK).with_sk(range.clone());
            let page = self.store.query(Index::Table, cond, Page::forward(100).after(start)).await?;
            for item in &page.items {
                let day: DayStats = item.attrs_as()?;
                stored.insert(day.date.clone(), day);
            }
            match page.last_key {
                Some(key) => start = Some(key),
                None => return Ok(stored),
            }
        }
    }

    /// Writes the figures of the days still in the cache into the store (the larger of the
    /// two, field by field), so they outlive the cache. Run periodically by every instance;
    /// running it twice is harmless. Answers how many days it wrote.
    pub async fn roll_up_stats(&self) -> ServiceResult<usize> {
        self.flush_analytics().await;
        let today = day_of(time::now_secs());
        let first = today - (LIVE_DAYS - 1);
        let stored = self.stored_stats(first, today).await?;
        let mut written = 0;
        for day in first..=today {
            let live = self.live_stats(day).await?;
            // Nothing cached: a quiet day, or a lost cache; either way nothing to add.
            if live.is_empty() {
                continue;
            }
            let merged = match stored.get(&live.date) {
                Some(before) => live.max(before),
                None => live,
            };
            if stored.get(&merged.date) != Some(&merged) {
                let item = Item::new(STATS_PK, format!("DAY#{}", merged.date)).with_attrs(&merged);
                self.store.put(item, Cond::None).await?;
                written += 1;
            }
        }
        Ok(written)
    }

    /// How often the workers roll the figures up (`stats_rollup_secs`, at least a second).
    pub fn stats_rollup_interval(&self) -> Duration {
        Duration::from_secs(self.config.stats_rollup_secs.max(1))
    }

    /// `GET /api/admin/stats?days=N`: moderators only.
    pub async fn stats(&self, caller: &Caller, days: Option<u32>) -> ServiceResult<Stats> {
        self.ensure_moderator(caller).await?;
        let days = days.unwrap_or(DEFAULT_DAYS);
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(ServiceError::BadRequest(format!("days must be between 1 and {MAX_DAYS}")));
        }
        // This instance's last second counts too.
        self.flush_analytics().await;
        let today = day_of(time::now_secs());
        let first = today - (i64::from(days) - 1);
        let stored = self.stored_stats(first, today).await?;
        let live_from = first.max(today - (LIVE_DAYS - 1));
        let live = futures::future::try_join_all((live_from..=today).map(|day| self.live_stats(day))).await?;
        let days = (first..=today)
            .map(|day| {
                let date = date_of(day);
                let cached = live.iter().find(|s| s.date == date);
                match (stored.get(&date), cached) {
                    (Some(stored), Some(cached)) => cached.clone().max(stored),
                    (Some(stored), None) => stored.clone(),
                    (None, Some(cached)) => cached.clone(),
                    (None, None) => DayStats { date, ..DayStats::default() },
                }
            })
            .collect();
        let (schedule, period) = window_for(today);
        let window: Vec<String> = ((today - (WINDOW_DAYS - 1))..=today)
            .map(|day| self.ck.stats_window(schedule, period, &date_of(day)))
            .collect();
        let monthly_active_users = self.cache.pfcount(&window).await?;
        Ok(Stats { days, monthly_active_users })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_day_numbers() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(day_of(1_700_000_000)), "2023-11-14");
        assert_eq!(day_of(-1), -1, "before the epoch rounds down");
    }

    #[test]
    fn every_window_lies_in_one_period_of_its_schedule() {
        for today in 20_000..20_200 {
            let (schedule, period) = window_for(today);
            for day in (today - (WINDOW_DAYS - 1))..=today {
                assert!(
                    periods_of(day).contains(&(schedule, period)),
                    "day {day} of the window ending {today}"
                );
            }
        }
    }

    #[test]
    fn pseudonyms_differ_per_period_and_per_user_and_hide_the_id() {
        let p = Pseudonyms::new(b"key".to_vec());
        let monday = p.of("day#2026-11-30", "01JUSER");
        assert_eq!(monday, p.of("day#2026-11-30", "01JUSER"), "stable within a day");
        assert_ne!(monday, p.of("day#2026-12-01", "01JUSER"), "unlinkable across days");
        assert_ne!(monday, p.of("day#2026-11-30", "01JOTHER"));
        assert_ne!(monday, Pseudonyms::new(b"other".to_vec()).of("day#2026-11-30", "01JUSER"));
        assert_eq!(monday.len(), 32);
        assert!(!monday.contains("01JUSER"));
    }

    #[test]
    fn the_larger_reading_wins_field_by_field() {
        let a = DayStats { date: "d".into(), active_users: 5, posts: 1, likes: 9, ..DayStats::default() };
        let b =
            DayStats { date: "d".into(), active_users: 3, posts: 4, feed_reads: 2, ..DayStats::default() };
        let m = a.max(&b);
        assert_eq!((m.active_users, m.posts, m.likes, m.feed_reads), (5, 4, 9, 2));
        assert!(DayStats { date: "d".into(), ..DayStats::default() }.is_empty());
        assert!(!m.is_empty());
    }
}
