//! Who to follow: friends of friends ranked by how many of the people you follow follow
//! them, then the most followed accounts (what a new user, who follows nobody, gets).
//!
//! The work is bounded: the first page of the caller's followings, and the first page of
//! each of theirs. The answer is cached for a minute per user; accounts the caller follows
//! are filtered out again at read time, so a follow made in that minute shows at once.
//!
//! Popular accounts come from a store index (`keys::popular`): it is shared by every
//! instance, survives a cache flush, and costs a write only when an account's follower count
//! crosses a power of two. Within the candidates it yields, the exact counts of the
//! (cached) profiles order the answer.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use roost_engines::{Index, Item, KeyCondition, Page, TxOp};

use crate::cursor::PageRequest;
use crate::error::ServiceResult;
use crate::model::{Caller, Profile, User};
use crate::telemetry::{self, CacheKind};
use crate::{keys, Service};

/// How many of the caller's followings are asked whom they follow.
const FOLLOWEES_READ: usize = 50;
/// How many followings of each of those are read.
const SECOND_DEGREE_READ: usize = 100;
/// How many entries of the popular index are considered.
const POPULAR_READ: usize = 100;
/// Concurrent store queries for one answer.
const CONCURRENCY: usize = 8;
pub(crate) const MAX_SUGGESTIONS: usize = 50;
const SUGGESTIONS_TTL: Duration = Duration::from_secs(60);

/// The popular-index bucket of a follower count: its bit length (0 for nobody).
pub(crate) fn popularity_bucket(followers: i64) -> u32 {
    64 - (followers.max(0) as u64).leading_zeros()
}

/// Orders friends of friends: more mutual connections first, then more followers, then
/// by id so the order is stable.
fn rank(mutuals: &HashMap<String, usize>, followers: &HashMap<String, i64>) -> Vec<String> {
    let mut ranked: Vec<&String> = mutuals.keys().collect();
    let followers_of = |u: &String| followers.get(u).copied().unwrap_or(0);
    ranked.sort_by(|a, b| {
        mutuals[*b].cmp(&mutuals[*a]).then(followers_of(b).cmp(&followers_of(a))).then(a.cmp(b))
    });
    ranked.into_iter().cloned().collect()
}

impl Service {
    /// `GET /api/users/suggestions`.
    pub async fn suggestions(&self, caller: &Caller, limit: Option<u32>) -> ServiceResult<Vec<User>> {
        let limit = PageRequest { limit, cursor: None }.limit_up_to(MAX_SUGGESTIONS)?;
        let me = caller.user_id.as_str();
        let cache_key = self.ck.suggestions(me);
        let cached: Option<Vec<String>> =
            self.cache_mget_json(std::slice::from_ref(&cache_key)).await.remove(0);
        telemetry::cache_answers(CacheKind::Search, std::slice::from_ref(&cached));
        let uids: Vec<String> = match cached {
            Some(uids) => uids,
            None => {
                let uids = self.compute_suggestions(me).await?;
                self.cache_set_json(&cache_key, &uids, SUGGESTIONS_TTL).await;
                uids
            }
        };
        let profiles = self.profiles(&uids).await?;
        let ordered = uids.iter().filter_map(|u| profiles.get(u).cloned()).collect();
        let (users, hidden) =
            futures::try_join!(self.present_users(Some(caller), ordered), self.hidden_of(caller))?;
        // Both filtered at read time, so a follow or block made since the answer was cached
        // shows at once.
        Ok(users
            .into_iter()
            .filter(|u| u.followed_by_me != Some(true) && !hidden.blocks(&u.id))
            .take(limit)
            .collect())
    }

    /// Up to [`MAX_SUGGESTIONS`] user ids, best first.
    async fn compute_suggestions(&self, me: &str) -> ServiceResult<Vec<String>> {
        let followees = self.following_ids(me, FOLLOWEES_READ).await?;
        let mut excluded: HashSet<String> = followees.iter().cloned().collect();
        excluded.insert(me.to_string());

        let second: Vec<Vec<String>> = futures::stream::iter(followees.clone())
            .map(|f| {
                let service = self.clone();
                async move { service.following_ids(&f, SECOND_DEGREE_READ).await }
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        let mut mutuals: HashMap<String, usize> = HashMap::new();
        for uid in second.into_iter().flatten().filter(|u| !excluded.contains(u)) {
            *mutuals.entry(uid).or_default() += 1;
        }
        let candidates: Vec<String> = mutuals.keys().cloned().collect();
        let followers = follower_counts(&self.profiles(&candidates).await?);
        let mut ranked = rank(&mutuals, &followers);
        ranked.truncate(MAX_SUGGESTIONS);

        if ranked.len() < MAX_SUGGESTIONS {
            excluded.extend(ranked.iter().cloned());
            for uid in self.popular_accounts().await? {
                if ranked.len() == MAX_SUGGESTIONS {
                    break;
                }
                if !excluded.contains(&uid) {
                    ranked.push(uid);
                }
            }
        }
        Ok(ranked)
    }

    /// The first `count` accounts `uid` follows, newest first.
    async fn following_ids(&self, uid: &str, count: usize) -> ServiceResult<Vec<String>> {
        let page = self
            .store
            .query(Index::Gsi1, KeyCondition::pk(keys::following_gsi(uid)), Page::backward(count))
            .await?;
        Ok(page.items.iter().filter_map(|i| i.str("uid").map(str::to_string)).collect())
    }

    /// The most followed accounts, most followers first.
    async fn popular_accounts(&self) -> ServiceResult<Vec<String>> {
        let page = self
            .store
            .query(Index::Table, KeyCondition::pk(keys::POPULAR_PK), Page::backward(POPULAR_READ))
            .await?;
        let uids: Vec<String> = page.items.iter().filter_map(|i| i.str("uid").map(str::to_string)).collect();
        let profiles = self.profiles(&uids).await?;
        let followers = follower_counts(&profiles);
        let mut found: Vec<String> = profiles.into_keys().collect();
        found.sort_by(|a, b| followers[b].cmp(&followers[a]).then(a.cmp(b)));
        Ok(found)
    }

    /// Keeps the popular index in line with an account's follower count, as a follow or an
    /// unfollow just left it. Idempotent: it files the account under the bucket of `count`
    /// and removes it from the neighbouring buckets, and writes only when `count` is at a
    /// bucket's edge. Best effort: a failure leaves the entry one bucket off until the
    /// next crossing, which only shifts a suggestion.
    pub(crate) async fn note_follower_count(&self, uid: &str, count: i64) {
        let bucket = popularity_bucket(count);
        let neighbours: Vec<u32> = [popularity_bucket(count - 1), popularity_bucket(count + 1)]
            .into_iter()
            .filter(|b| *b != bucket)
            .collect();
        if neighbours.is_empty() {
            return;
        }
        let mut ops: Vec<TxOp> = neighbours
            .into_iter()
            .filter(|b| *b > 0)
            .map(|b| TxOp::Delete { key: keys::popular(b, uid), cond: Default::default() })
            .collect();
        if bucket > 0 {
            let key = keys::popular(bucket, uid);
            ops.push(TxOp::Put {
                item: Item::new(key.pk, key.sk).with("uid", uid),
                cond: Default::default(),
            });
        }
        if let Err(err) = self.store.transact_write(ops).await {
            tracing::warn!(%err, uid, "popular index not updated");
        }
    }
}

fn follower_counts(profiles: &HashMap<String, Profile>) -> HashMap<String, i64> {
    profiles.iter().map(|(u, p)| (u.clone(), p.followers_count)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_bit_lengths() {
        assert_eq!(popularity_bucket(-3), 0);
        assert_eq!(popularity_bucket(0), 0);
        assert_eq!(popularity_bucket(1), 1);
        assert_eq!(popularity_bucket(2), 2);
        assert_eq!(popularity_bucket(3), 2);
        assert_eq!(popularity_bucket(4), 3);
        assert_eq!(popularity_bucket(1 << 20), 21);
    }

    #[test]
    fn ranks_by_mutuals_then_followers_then_id() {
        let mutuals: HashMap<String, usize> =
            [("a", 1), ("b", 3), ("c", 1), ("d", 1)].into_iter().map(|(u, n)| (u.to_string(), n)).collect();
        let followers: HashMap<String, i64> =
            [("a", 5), ("b", 0), ("c", 9), ("d", 5)].into_iter().map(|(u, n)| (u.to_string(), n)).collect();
        assert_eq!(rank(&mutuals, &followers), ["b", "c", "a", "d"]);
    }
}
