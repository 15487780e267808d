//! Presence: who is online (seen in the last five minutes) and when a user was last seen.
//!
//! Two cache sorted sets, member = user id, score = last-seen milliseconds:
//! - `presence:last-seen` answers `last_seen`; members older than 30 days are pruned.
//! - `presence:online` is pruned of members older than the online window, so its `ZCARD`
//!   is the online count (the Cache trait has no `ZCOUNT`; pruning composes `ZREVRANGEBYSCORE`
//!   and `ZREM`). A touch racing a prune can drop a fresh member until its next touch, which
//!   undercounts one user for at most `TOUCH_EVERY`; `presence` itself reads the other set.
//!
//! The hot path (`authenticate`) asks an in-process map first and writes to the cache at
//! most once per `TOUCH_EVERY` per user and instance. Open streams refresh their users
//! from the stream hub's ticker (`stream`), so a user with a stream open stays online.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::ServiceResult;
use crate::model::{OnlineCount, Presence};
use crate::{time, Service};

/// Seen within this long: online.
pub const ONLINE_WINDOW: Duration = Duration::from_secs(5 * 60);
/// A user's presence is written at most this often by one instance.
const TOUCH_EVERY: Duration = Duration::from_secs(30);
/// How long `last_seen` is remembered.
const LAST_SEEN_KEEP: Duration = Duration::from_secs(30 * 24 * 3600);
/// The prunes run at most this often per instance (on writes), and on every count.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Members removed per prune round trip.
const PRUNE_BATCH: usize = 500;

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// Remembers when this instance last wrote each user's presence.
#[derive(Default)]
pub(crate) struct PresenceThrottle {
    state: Mutex<ThrottleState>,
}

#[derive(Default)]
struct ThrottleState {
    touched: HashMap<String, u64>,
    /// The map's size after its last sweep: sweeping again once it doubles keeps the
    /// sweeps' cost proportional to the touches.
    swept_len: usize,
    pruned_at: u64,
}

impl PresenceThrottle {
    /// Whether `uid`'s presence should be written at `now` (and if so, notes it as written).
    pub(crate) fn due(&self, uid: &str, now: u64) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.touched.get(uid).is_some_and(|&at| now < at + millis(TOUCH_EVERY)) {
            return false;
        }
        state.touched.insert(uid.to_string(), now);
        if state.touched.len() > 2 * state.swept_len.max(1024) {
            state.touched.retain(|_, at| now < *at + millis(TOUCH_EVERY));
            state.swept_len = state.touched.len();
        }
        true
    }

    /// Whether this instance should prune the presence sets at `now` (noted if so).
    fn prune_due(&self, now: u64) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let due = now >= state.pruned_at + millis(PRUNE_EVERY);
        if due {
            state.pruned_at = now;
        }
        due
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.state.lock().unwrap().touched.len()
    }
}

impl Service {
    /// Marks a user as seen now, unless this instance did so in the last `TOUCH_EVERY`.
    /// Never fails: presence is not worth failing a request for.
    pub(crate) async fn touch_presence(&self, uid: &str) {
        let now = time::now_millis();
        if self.presence_throttle.due(uid, now) {
            self.count_active(uid);
            self.write_presence(&[uid.to_string()], now).await;
        }
    }

    /// Marks users as seen at `now` (two `ZADD`s whatever their number).
    pub(crate) async fn write_presence(&self, uids: &[String], now: u64) {
        if uids.is_empty() {
            return;
        }
        let members: Vec<(f64, String)> = uids.iter().map(|u| (now as f64, u.clone())).collect();
        let written = async {
            let (online, last_seen) = (self.ck.presence_online(), self.ck.presence_last_seen());
            self.cache.zadd(&online, &members).await?;
            self.cache.expire(&online, ONLINE_WINDOW * 2).await?;
            self.cache.zadd(&last_seen, &members).await?;
            self.cache.expire(&last_seen, LAST_SEEN_KEEP).await?;
            if self.presence_throttle.prune_due(now) {
                self.prune_presence(now).await?;
            }
            Ok::<_, roost_engines::EngineError>(())
        };
        if let Err(err) = written.await {
            tracing::warn!(%err, "presence write failed");
        }
    }

    /// Drops the members that fell out of each set's window.
    async fn prune_presence(&self, now: u64) -> Result<(), roost_engines::EngineError> {
        let sets = [
            (self.ck.presence_online(), now.saturating_sub(millis(ONLINE_WINDOW))),
            (self.ck.presence_last_seen(), now.saturating_sub(millis(LAST_SEEN_KEEP))),
        ];
        for (key, cutoff) in sets {
            loop {
                let stale = self.cache.zrevrangebyscore(&key, cutoff as f64, true, 0.0, PRUNE_BATCH).await?;
                if stale.is_empty() {
                    break;
                }
                let members: Vec<String> = stale.into_iter().map(|(m, _)| m).collect();
                self.cache.zrem(&key, &members).await?;
                if members.len() < PRUNE_BATCH {
                    break;
                }
            }
        }
        Ok(())
    }

    /// `GET /api/users/{user}/presence`.
    pub async fn presence(&self, user: &str) -> ServiceResult<Presence> {
        let profile = self.resolve_user(user).await?;
        let seen = self.cache.zscore(&self.ck.presence_last_seen(), &profile.id).await?.map(|s| s as u64);
        Ok(presence_at(seen, time::now_millis()))
    }

    /// `GET /api/online`.
    pub async fn online_count(&self) -> ServiceResult<OnlineCount> {
        self.prune_presence(time::now_millis()).await?;
        Ok(OnlineCount { count: self.cache.zcard(&self.ck.presence_online()).await? })
    }
}

/// A user's presence at `now`, from the last time they were seen.
fn presence_at(last_seen: Option<u64>, now: u64) -> Presence {
    Presence {
        online: last_seen.is_some_and(|at| now < at + millis(ONLINE_WINDOW)),
        last_seen: last_seen.map(time::rfc3339_of_millis),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_once_per_interval_per_user() {
        let throttle = PresenceThrottle::default();
        assert!(throttle.due("a", 1_000_000));
        assert!(!throttle.due("a", 1_000_000 + 29_999));
        assert!(throttle.due("b", 1_000_000 + 29_999));
        assert!(throttle.due("a", 1_000_000 + 30_000));
    }

    #[test]
    fn forgets_users_it_need_not_remember() {
        let throttle = PresenceThrottle::default();
        for i in 0..3000 {
            throttle.due(&format!("u{i}"), 0);
        }
        // Much later, new touches sweep the stale entries away.
        for i in 0..2100 {
            throttle.due(&format!("v{i}"), 10_000_000);
        }
        assert!(throttle.remembered() < 3000, "kept {}", throttle.remembered());
    }

    #[test]
    fn online_for_five_minutes_after_last_seen() {
        let seen = 1_700_000_000_000;
        assert!(presence_at(Some(seen), seen + 299_999).online);
        let later = presence_at(Some(seen), seen + 300_000);
        assert!(!later.online);
        assert_eq!(later.last_seen.as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!(presence_at(None, seen), Presence { online: false, last_seen: None });
    }
}
