//! User search: prefix autocomplete over usernames and display names, case-insensitive.
//!
//! The index lives in the store (one entry per name, partitioned by first character, so a
//! `begins_with` query answers a prefix), results are enriched from cached profiles, and
//! whole answers are cached for a few seconds because autocomplete asks the same prefixes
//! again and again.

use std::collections::HashSet;

use roost_engines::{Index, KeyCondition, Page};

use crate::config::ttl;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{Caller, User};
use crate::telemetry::{self, CacheKind};
use crate::{keys, Service};

impl Service {
    /// Users matching `query` (1 to 64 characters), at most `limit`.
    pub async fn search_users(
        &self,
        caller: Option<&Caller>,
        query: &str,
        limit: usize,
    ) -> ServiceResult<Vec<User>> {
        let q = query.trim().to_lowercase();
        if q.is_empty() {
            return Err(ServiceError::validation("q", "q must not be empty"));
        }
        if q.chars().count() > 64 {
            return Err(ServiceError::validation("q", "q must be at most 64 characters"));
        }
        let cache_key = self.ck.search(&format!("{q}:{limit}"));
        let cached: Option<Vec<String>> =
            self.cache_mget_json(std::slice::from_ref(&cache_key)).await.remove(0);
        telemetry::cache_answers(CacheKind::Search, std::slice::from_ref(&cached));
        let uids: Vec<String> = match cached {
            Some(uids) => uids,
            None => {
                let uids = self.search_index(&q, limit).await?;
                self.cache_set_json(&cache_key, &uids, ttl::SEARCH).await;
                uids
            }
        };
        let profiles = self.profiles(&uids).await?;
        // The cached answer is shared by everyone who typed the same prefix: blocks are
        // filtered per caller here (a page may then be short).
        let hidden = self.hidden_from(caller).await?;
        let ordered =
            uids.iter().filter(|u| !hidden.blocks(u)).filter_map(|u| profiles.get(u).cloned()).collect();
        self.present_users(caller, ordered).await
    }

    /// Usernames first (exact prefix matches are what people type), then display names.
    async fn search_index(&self, q: &str, limit: usize) -> ServiceResult<Vec<String>> {
        let mut seen = HashSet::new();
        let mut uids = Vec::new();
        for kind in ["u", "d"] {
            let cond = KeyCondition::begins_with(keys::search_pk(kind, q), q);
            let page = self.store.query(Index::Table, cond, Page::forward(limit)).await?;
            for item in page.items {
                if let Some(uid) = item.str("uid") {
                    if seen.insert(uid.to_string()) && uids.len() < limit {
                        uids.push(uid.to_string());
                    }
                }
            }
        }
        Ok(uids)
    }
}
