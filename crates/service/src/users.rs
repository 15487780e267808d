//! Profiles: reading them (cache-aside, 1 h), many at once without one store round trip
//! each, and forgetting cached copies when they change.

use std::collections::HashMap;

use roost_engines::{store::by_key, Item};

use crate::config::ttl;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{Caller, Profile, User};
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

impl Service {
    /// One profile, from the cache or the store.
    pub async fn profile(&self, uid: &str) -> ServiceResult<Option<Profile>> {
        Ok(self.profiles(&[uid.to_string()]).await?.remove(uid))
    }

    /// Many profiles: one cache `MGET`, one store batch get for the misses.
    pub async fn profiles(&self, uids: &[String]) -> ServiceResult<HashMap<String, Profile>> {
        let mut found = HashMap::with_capacity(uids.len());
        if uids.is_empty() {
            return Ok(found);
        }
        let cache_keys: Vec<String> = uids.iter().map(|u| self.ck.user(u)).collect();
        let cached: Vec<Option<Profile>> = self.cache_mget_json(&cache_keys).await;
        let mut missing = Vec::new();
        for (uid, hit) in uids.iter().zip(cached) {
            match hit {
                Some(p) => {
                    found.insert(uid.clone(), p);
                }
                None if !found.contains_key(uid) => missing.push(keys::user(uid)),
                None => {}
            }
        }
        if !missing.is_empty() {
            missing.sort();
            missing.dedup();
            for (_, item) in by_key(self.store.batch_get(missing).await?) {
                let profile: Profile = item.attrs_as()?;
                self.cache_set_json(&self.ck.user(&profile.id), &profile, ttl::PROFILE).await;
                found.insert(profile.id.clone(), profile);
            }
        }
        Ok(found)
    }

    pub(crate) async fn forget_profiles(&self, uids: &[&str]) {
        let keys: Vec<String> = uids.iter().map(|u| self.ck.user(u)).collect();
        self.cache_del(&keys).await;
    }

    /// The id that owns a username (cached: a name changes owner only after an erasure,
    /// which forgets it).
    pub async fn user_id_by_username(&self, username: &str) -> ServiceResult<Option<String>> {
        let name = username.to_lowercase();
        let cache_key = self.ck.username(&name);
        if let Some(uid) = self.cache_get(&cache_key).await {
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
