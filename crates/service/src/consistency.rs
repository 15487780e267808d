//! The consistency check behind `roost check`: recount every counter from the items it
//! counts, report the ones that drifted and, if asked, repair them.
//!
//! | counter | on | counts |
//! |---|---|---|
//! | `followers_count` | profile (`USER#uid` / `PROFILE`) | `USER#uid` / `FOLLOWER#…` edges |
//! | `following_count` | profile | `USER#uid` / `FOLLOWING#…` edges |
//! | `posts_count` | profile | posts (`POST#pid` / `META`) whose `author_id` is the user |
//! | `like_count` | post (`POST#pid` / `META`) | `POST#pid` / `LIKE#…` items but tombstones (unlikes) |
//! | `comment_count` | post | `POST#pid` / `COMMENT#…` thread items not `deleted` |
//!
//! The check is one scan of the store, so it costs one read of every item. A scan is not a
//! snapshot: a follow committing while it runs may have its edge counted and not its
//! counter, or the reverse. So a repair trusts nothing the scan saw: per drifted counter it
//! reads the counter, recounts its items with one query, reads the counter again, and
//! writes only if the counter did not move meanwhile and the fresh recount agrees with the
//! scan's — and then only on condition that the counter still holds what it read. Anything
//! that moved is reported as such, to be checked again. That is what makes `--repair` safe
//! beside a running server; the transactions that keep counters (see docs/architecture.md)
//! mean nothing drifts in normal operation, so repairs are for damage.

use std::collections::{BTreeMap, HashMap};

use roost_engines::{Cond, EngineError, Index, Item, Key, KeyCondition, Page, Update};

use crate::error::ServiceResult;
use crate::{keys, likes, Service};

/// Items read per scan page.
const SCAN_PAGE: usize = 1000;

/// One counter, where it lives, and what it should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    /// The item holding the counter (a profile or a post).
    pub key: Key,
    /// What the item is, for people: `user alice (01J…)`, `post 01J…`.
    pub label: String,
    /// The counter's attribute.
    pub counter: &'static str,
    /// Its stored value.
    pub stored: i64,
    /// The number of items it counts.
    pub counted: i64,
}

/// What a repair of one counter did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repair {
    /// The counter now holds the count.
    Fixed,
    /// The counter or its items changed while we looked: check again.
    Moved,
    /// The counter's item is gone (an erased account, a deleted post).
    Gone,
}

/// Counts gathered by the scan, per item that holds counters.
#[derive(Default)]
struct Tally {
    /// Counter items: their key, label and stored counters.
    holders: BTreeMap<Key, (String, HashMap<&'static str, i64>)>,
    /// (holder, counter) → items counted.
    counted: HashMap<(Key, &'static str), i64>,
}

const PROFILE_COUNTERS: [&str; 3] = ["followers_count", "following_count", "posts_count"];
const POST_COUNTERS: [&str; 2] = ["like_count", "comment_count"];

impl Tally {
    fn holder(&mut self, item: &Item, label: String, counters: &[&'static str]) {
        let stored = counters.iter().map(|&c| (c, item.int(c).unwrap_or(0))).collect();
        self.holders.insert(item.key(), (label, stored));
    }

    fn count(&mut self, holder: Key, counter: &'static str) {
        *self.counted.entry((holder, counter)).or_default() += 1;
    }

    /// Files one scanned item: a counter holder, an item a counter counts, or neither.
    fn add(&mut self, item: &Item) {
        let (pk, sk) = (item.pk.as_str(), item.sk.as_str());
        if let Some(uid) = pk.strip_prefix("USER#") {
            if sk == "PROFILE" {
                let name = item.str("username").unwrap_or("?");
                self.holder(item, format!("user {name} ({uid})"), &PROFILE_COUNTERS);
            } else if sk.starts_with("FOLLOWER#") {
                self.count(keys::user(uid), "followers_count");
            } else if sk.starts_with("FOLLOWING#") {
                self.count(keys::user(uid), "following_count");
            }
        } else if let Some(pid) = pk.strip_prefix("POST#") {
            if sk == "META" {
                self.holder(item, format!("post {pid}"), &POST_COUNTERS);
                if let Some(author) = item.str("author_id") {
                    self.count(keys::user(author), "posts_count");
                }
            } else if sk.starts_with("LIKE#") && likes::is_like(item) {
                self.count(keys::post(pid), "like_count");
            } else if sk.starts_with(keys::COMMENT_PREFIX) && !is_deleted(item) {
                self.count(keys::post(pid), "comment_count");
            }
        }
    }

    /// Every counter whose stored value is not its count, in key order.
    fn drifts(mut self) -> Vec<Drift> {
        let mut drifts = Vec::new();
        for (key, (label, stored)) in self.holders {
            let counters = if key.sk == "PROFILE" { &PROFILE_COUNTERS[..] } else { &POST_COUNTERS[..] };
            for &counter in counters {
                let counted = self.counted.remove(&(key.clone(), counter)).unwrap_or(0);
                let stored = stored[counter];
                if stored != counted {
                    drifts.push(Drift { key: key.clone(), label: label.clone(), counter, stored, counted });
                }
            }
        }
        drifts
    }
}

fn is_deleted(item: &Item) -> bool {
    item.attrs.get("deleted").and_then(|d| d.as_bool()).unwrap_or(false)
}

impl Service {
    /// Scans the store and answers every counter that does not match its items.
    /// `progress` is told the number of items read so far after each page.
    pub async fn check_counters(&self, progress: &(dyn Fn(u64) + Sync)) -> ServiceResult<Vec<Drift>> {
        let mut tally = Tally::default();
        let (mut start, mut read) = (None, 0u64);
        loop {
            let page = self.store.scan(Page::forward(SCAN_PAGE).after(start)).await?;
            for item in &page.items {
                tally.add(item);
            }
            read += page.items.len() as u64;
            progress(read);
            match page.last_key {
                Some(key) => start = Some(key),
                None => return Ok(tally.drifts()),
            }
        }
    }

    /// Sets one drifted counter to its count, if nothing moved since the check (see the
    /// module's doc), and drops the cached copies that show it.
    pub async fn repair_counter(&self, drift: &Drift) -> ServiceResult<Repair> {
        let Some(before) = self.store.get(&drift.key).await? else { return Ok(Repair::Gone) };
        let counted = self.recount(drift).await?;
        let Some(after) = self.store.get(&drift.key).await? else { return Ok(Repair::Gone) };
        let stored = before.attrs.get(drift.counter).cloned();
        if stored != after.attrs.get(drift.counter).cloned() || counted != drift.counted {
            return Ok(Repair::Moved);
        }
        let cond = match stored {
            Some(value) => Cond::Equals(drift.counter.to_string(), value),
            None => Cond::Exists,
        };
        let update = Update::new().set(drift.counter, counted);
        match self.store.update(&drift.key, update, cond).await {
            Ok(_) => {}
            Err(EngineError::ConditionFailed) => return Ok(Repair::Moved),
            Err(err) => return Err(err.into()),
        }
        match drift.key.pk.strip_prefix("USER#") {
            Some(uid) => self.forget_profiles(&[uid]).await,
            None => self.cache_del(&[self.ck.post(drift.key.pk.trim_start_matches("POST#"))]).await,
        }
        Ok(Repair::Fixed)
    }

    /// The count of a counter's items now, by queries of their partition (or index).
    async fn recount(&self, drift: &Drift) -> ServiceResult<i64> {
        let pk = drift.key.pk.clone();
        let (index, cond) = match drift.counter {
            "followers_count" => (Index::Table, KeyCondition::begins_with(pk, "FOLLOWER#")),
            "following_count" => (Index::Table, KeyCondition::begins_with(pk, "FOLLOWING#")),
            "posts_count" => {
                (Index::Gsi1, KeyCondition::pk(keys::author_gsi(pk.trim_start_matches("USER#"))))
            }
            "like_count" => (Index::Table, KeyCondition::begins_with(pk, "LIKE#")),
            _ => (Index::Table, KeyCondition::begins_with(pk, keys::COMMENT_PREFIX)),
        };
        let (mut counted, mut start) = (0, None);
        loop {
            let page = self.store.query(index, cond.clone(), Page::forward(SCAN_PAGE).after(start)).await?;
            let counts =
                |item: &&Item| !is_deleted(item) && (drift.counter != "like_count" || likes::is_like(item));
            counted += page.items.iter().filter(counts).count() as i64;
            match page.last_key {
                Some(key) => start = Some(key),
                None => return Ok(counted),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(uid: &str, followers: i64, following: i64, posts: i64) -> Item {
        Item::new(format!("USER#{uid}"), "PROFILE")
            .with("username", uid.to_lowercase())
            .with("followers_count", followers)
            .with("following_count", following)
            .with("posts_count", posts)
    }

    fn post(pid: &str, author: &str, likes: i64, comments: i64) -> Item {
        Item::new(format!("POST#{pid}"), "META")
            .with("author_id", author)
            .with("like_count", likes)
            .with("comment_count", comments)
    }

    #[test]
    fn recounts_each_counter_from_its_items() {
        let mut tally = Tally::default();
        let items = [
            profile("A", 1, 0, 2),
            profile("B", 0, 1, 0),
            Item::new("USER#A", "FOLLOWER#B"),
            Item::new("USER#B", "FOLLOWING#A"),
            post("P1", "A", 1, 1),
            post("P2", "A", 0, 0),
            Item::new("POST#P1", "LIKE#B"),
            // An unlike's tombstone is no like.
            Item::new("POST#P1", "LIKE#C").with("unliked", true),
            Item::new("POST#P1", "COMMENT#C1"),
            Item::new("POST#P1", "COMMENT#C1/C2").with("deleted", true),
            // Items that count nothing.
            Item::new("POST#P3", "HELD").with("author_id", "A"),
            Item::new("USER#A", "BLOCKS#B"),
        ];
        for item in &items {
            tally.add(item);
        }
        assert_eq!(tally.drifts(), vec![]);
    }

    #[test]
    fn reports_every_drifted_counter_with_both_values() {
        let mut tally = Tally::default();
        for item in [profile("A", 7, 0, 0), post("P1", "GONE", 0, 3), Item::new("POST#P1", "LIKE#X")] {
            tally.add(&item);
        }
        let found: Vec<(String, &str, i64, i64)> =
            tally.drifts().into_iter().map(|d| (d.label, d.counter, d.stored, d.counted)).collect();
        assert_eq!(
            found,
            vec![
                ("post P1".to_string(), "like_count", 0, 1),
                ("post P1".to_string(), "comment_count", 3, 0),
                ("user a (A)".to_string(), "followers_count", 7, 0),
            ]
        );
    }
}
