//! Profiles: reading them (cache-aside, 1 h), many at once without one store round trip
//! each, and forgetting cached copies when they change.

use std::collections::HashMap;

use roost_engines::{store::by_key, Item};
use serde::{Deserialize, Serialize};

use crate::config::ttl;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{Caller, Profile, User};
use crate::telemetry::{self, CacheKind};
use crate::{ids, keys, Service};

/// The prefix-search entries of a profile: its username and its display name, lower-cased.
pub(crate) fn search_entries(p: &Profile) -> Vec<Item> {
    let mut entries = Vec::with_capacity(2);
    for (kind, term) in [("u", p.username.clone()), ("d", p.display_name.to_lowercase())] {
        let term: String = term.chars().take(64).collect();
        entries.push(
            Item::new(keys::search_pk(kind, &term), keys::search_sk(&term, &p.id)).with("uid", p.id.as_str()),
        );
    }
    entries
}

/// A profile in the cache, with the epoch it is good for.
#[derive(Serialize, Deserialize)]
pub(crate) struct CachedProfile {
    epoch: String,
    profile: Profile,
}

impl Service {
    /// One profile, from the cache or the store.
    pub async fn profile(&self, uid: &str) -> ServiceResult<Option<Profile>> {
        Ok(self.profiles(&[uid.to_string()]).await?.remove(uid))
    }

    /// Many profiles: one cache `MGET` (profiles and their epochs), one store batch get for
    /// the misses.
    ///
    /// A plain delete-on-write would let a read that fetched from the store just before a
    /// write put its stale copy back just after the write's delete, for the whole TTL (a
    /// storm of follows showed counters off that way). So each write moves the user's epoch
    /// instead, and a fill is stamped with the epoch read *before* its store read: a fill
    /// that raced a write carries an old epoch and is ignored.
    pub async fn profiles(&self, uids: &[String]) -> ServiceResult<HashMap<String, Profile>> {
        let mut found = HashMap::with_capacity(uids.len());
        if uids.is_empty() {
            return Ok(found);
        }
        // A page of posts names the same authors many times over.
        let mut unique: Vec<&String> = uids.iter().collect();
        unique.sort_unstable();
        unique.dedup();
        let cache_keys: Vec<String> =
            unique.iter().flat_map(|u| [self.ck.user(u), self.ck.user_epoch(u)]).collect();
        let cached = self.cache_mget(&cache_keys).await;
        let mut missing = Vec::new();
        let mut epochs = HashMap::new();
        for ((uid, pair), key) in unique.into_iter().zip(cached.chunks(2)).zip(cache_keys.iter().step_by(2)) {
            let epoch = pair[1].as_ref().map(|e| String::from_utf8_lossy(e).into_owned()).unwrap_or_default();
            let hit =
                pair[0].as_ref().and_then(|v| self.profile_memo.decode(key, v)).filter(|c| c.epoch == epoch);
            match hit {
                Some(c) => {
                    found.insert(uid.clone(), c.profile.clone());
                }
                None => {
                    missing.push(keys::user(uid));
                    epochs.insert(uid.clone(), epoch);
                }
            }
        }
        telemetry::cache_lookups(CacheKind::Profile, cache_keys.len() / 2 - missing.len(), missing.len());
        if !missing.is_empty() {
            missing.sort();
            missing.dedup();
            for (_, item) in by_key(self.store.batch_get(missing).await?) {
                let profile: Profile = item.attrs_as()?;
                let epoch = epochs.remove(&profile.id).unwrap_or_default();
                let cached = CachedProfile { epoch, profile };
                self.cache_set_json(&self.ck.user(&cached.profile.id), &cached, ttl::PROFILE).await;
                found.insert(cached.profile.id.clone(), cached.profile);
            }
        }
        Ok(found)
    }

    /// Call after a profile's store write: moves its epoch, so no copy cached before (or by
    /// a read that raced the write) is used again. The epoch outlives every copy stamped
    /// with the one before it.
    pub(crate) async fn forget_profiles(&self, uids: &[&str]) {
        for uid in uids {
            self.cache_set(&self.ck.user_epoch(uid), ids::new_id().into(), ttl::PROFILE * 2).await;
        }
    }

    /// The id that owns a username (cached: a name changes owner only after an erasure,
    /// which forgets it).
    pub async fn user_id_by_username(&self, username: &str) -> ServiceResult<Option<String>> {
        let name = username.to_lowercase();
        let cache_key = self.ck.username(&name);
        let cached = self.cache_get(&cache_key).await;
        telemetry::cache_lookups(CacheKind::Username, cached.is_some() as usize, cached.is_none() as usize);
        if let Some(uid) = cached {
            return Ok(Some(String::from_utf8_lossy(&uid).into_owned()));
        }
        let Some(claim) = self.store.get(&keys::username_claim(&name)).await? else { return Ok(None) };
        let uid = claim.str("uid").unwrap_or_default().to_string();
        self.cache_set(&cache_key, uid.clone().into(), ttl::USERNAME).await;
        Ok(Some(uid))
    }

    /// A user named either by id or by username (API paths accept both: ids are upper
    /// case and usernames lower case, so they never collide).
    pub async fn resolve_user(&self, id_or_name: &str) -> ServiceResult<Profile> {
        let uid = if ids::looks_like_id(id_or_name) {
            Some(id_or_name.to_string())
        } else {
            self.user_id_by_username(id_or_name).await?
        };
        match uid {
            Some(uid) => self.profile(&uid).await?.ok_or(ServiceError::NotFound("user")),
            None => Err(ServiceError::NotFound("user")),
        }
    }

    /// `GET /api/users/{username}`.
    pub async fn user(&self, caller: Option<&Caller>, id_or_name: &str) -> ServiceResult<User> {
        let profile = self.resolve_user(id_or_name).await?;
        Ok(self.present_users(caller, vec![profile]).await?.remove(0))
    }

    /// Profiles as API users, with `followed_by_me` for a signed-in caller (one batch get).
    pub async fn present_users(
        &self,
        caller: Option<&Caller>,
        profiles: Vec<Profile>,
    ) -> ServiceResult<Vec<User>> {
        let Some(caller) = caller else {
            return Ok(profiles.iter().map(|p| User::from_profile(p, None)).collect());
        };
        let edges: Vec<_> = profiles.iter().map(|p| keys::following_edge(&caller.user_id, &p.id)).collect();
        let followed = by_key(self.store.batch_get(edges.clone()).await?);
        Ok(profiles
            .iter()
            .zip(edges)
            .map(|(p, edge)| User::from_profile(p, Some(followed.contains_key(&edge))))
            .collect())
    }
}
