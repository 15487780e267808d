//! Blocks and mutes (docs/architecture.md, "Blocks and mutes").
//!
//! Each is an edge item under the user who made it (`USER#uid / BLOCKS#other`, `MUTES#other`),
//! listed newest first on gsi1; a block also writes its reverse (`USER#other /
//! BLOCKEDBY#uid`), so that either side's blocks are one partition. A block removes the
//! follows both ways and forbids following, liking and commenting across it; a mute only
//! hides. What a user must not see or hear from is read on hot paths (every feed page,
//! like, comment and notification), so it is loaded once into a cached [`Hidden`] set and
//! checked in memory. The set is stamped with an epoch that every change moves (the
//! scheme of profiles, `users::profiles`), so no instance uses a copy read before a change,
//! and a fill that raced a change is ignored.

use std::collections::HashSet;

use bytes::Bytes;

use roost_engines::{Cond, EngineError, Index, Item, KeyCondition, Page, TxOp};
use serde::{Deserialize, Serialize};

use crate::config::ttl;
use crate::cursor::PageRequest;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{BlockState, Caller, MuteState, Paged, User};
use crate::telemetry::{self, CacheKind};
use crate::{ids, keys, Service};

/// Whom a user must not see or hear from.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Hidden {
    /// Those the user blocks and those who block the user: nothing passes either way.
    blocked: HashSet<String>,
    /// Those the user mutes: their posts and notifications are hidden from the user.
    muted: HashSet<String>,
}

impl Hidden {
    /// A block stands between the user and `other`, whoever made it.
    pub(crate) fn blocks(&self, other: &str) -> bool {
        self.blocked.contains(other)
    }

    /// The user must not see `other`'s posts or notifications.
    pub(crate) fn hides(&self, other: &str) -> bool {
        self.blocks(other) || self.muted.contains(other)
    }
}

/// A user's hidden set and its epoch as one cache read found them, undecoded (most reads
/// that carry one never look at it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HiddenRead {
    value: Option<Bytes>,
    epoch: Option<Bytes>,
}

impl HiddenRead {
    pub(crate) fn new(value: Option<Bytes>, epoch: Option<Bytes>) -> HiddenRead {
        HiddenRead { value, epoch }
    }
}

/// A [`Hidden`] set in the cache, with the epoch it is good for.
#[derive(Serialize, Deserialize)]
struct CachedHidden {
    epoch: String,
    hidden: Hidden,
}

/// Block or mute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relation {
    Block,
    Mute,
}

impl Relation {
    fn kind(self) -> &'static str {
        match self {
            Relation::Block => keys::BLOCKS,
            Relation::Mute => keys::MUTES,
        }
    }
}

impl Service {
    /// Blocks (`on`) or unblocks `target`; both idempotent. A new block removes the follows
    /// both ways, with their counters and feed entries.
    pub async fn set_block(&self, caller: &Caller, target: &str, on: bool) -> ServiceResult<BlockState> {
        let (me, other) = (caller.user_id.as_str(), self.relation_target(caller, target).await?);
        let changed = self.set_relation(Relation::Block, me, &other, on).await?;
        if changed {
            self.forget_hidden(&[me, &other]).await;
        }
        if changed && on {
            self.remove_follow(me, &other).await?;
            self.remove_follow(&other, me).await?;
            // Keeps the popular index in line with the counts the removals left.
            for uid in [me, other.as_str()] {
                self.follow_state(false, uid).await?;
            }
        }
        Ok(BlockState { blocking: on })
    }

    /// Mutes (`on`) or unmutes `target`; both idempotent.
    pub async fn set_mute(&self, caller: &Caller, target: &str, on: bool) -> ServiceResult<MuteState> {
        let (me, other) = (caller.user_id.as_str(), self.relation_target(caller, target).await?);
        if self.set_relation(Relation::Mute, me, &other, on).await? {
            self.forget_hidden(&[me]).await;
        }
        Ok(MuteState { muting: on })
    }

    /// `GET /api/me/blocks`: whom the caller blocks, newest first.
    pub async fn blocked_users(&self, caller: &Caller, page: &PageRequest) -> ServiceResult<Paged<User>> {
        self.users_on_gsi1(Some(caller), keys::relation_gsi(keys::BLOCKS, &caller.user_id), page).await
    }

    /// `GET /api/me/mutes`: whom the caller mutes, newest first.
    pub async fn muted_users(&self, caller: &Caller, page: &PageRequest) -> ServiceResult<Paged<User>> {
        self.users_on_gsi1(Some(caller), keys::relation_gsi(keys::MUTES, &caller.user_id), page).await
    }

    /// 403 when a block stands between `uid` and `other` (`what` names the refused act).
    pub(crate) async fn ensure_not_blocked(&self, uid: &str, other: &str, what: &str) -> ServiceResult<()> {
        if uid != other && self.hidden(uid).await?.blocks(other) {
            return Err(ServiceError::Forbidden(format!("a block stands between you: you cannot {what}")));
        }
        Ok(())
    }

    /// Whom `uid` must not see or hear from: one cache `MGET` (the set and its epoch), and
    /// on a miss three partition queries.
    pub(crate) async fn hidden(&self, uid: &str) -> ServiceResult<Hidden> {
        Ok(self.hidden_many(&[uid.to_string()]).await?.remove(0))
    }

    /// [`Self::hidden`] of many users, in order, in one `MGET`.
    pub(crate) async fn hidden_many(&self, uids: &[String]) -> ServiceResult<Vec<Hidden>> {
        let cache_keys: Vec<String> =
            uids.iter().flat_map(|u| [self.ck.hidden(u), self.ck.hidden_epoch(u)]).collect();
        let mut cached = self.cache_mget(&cache_keys).await;
        let mut found = Vec::with_capacity(uids.len());
        for (uid, pair) in uids.iter().zip(cached.chunks_mut(2)) {
            found.push(self.hidden_as_read(uid, HiddenRead::new(pair[0].take(), pair[1].take())).await?);
        }
        Ok(found)
    }

    /// [`Self::hidden`] of the caller, from what the session check read when it did.
    pub(crate) async fn hidden_of(&self, caller: &Caller) -> ServiceResult<Hidden> {
        match &caller.hidden_read {
            Some(read) => self.hidden_as_read(&caller.user_id, read.clone()).await,
            None => self.hidden(&caller.user_id).await,
        }
    }

    /// The hidden set a cache read found, if it is good for the epoch read with it; read
    /// from the store (and cached) otherwise.
    async fn hidden_as_read(&self, uid: &str, read: HiddenRead) -> ServiceResult<Hidden> {
        let epoch = read.epoch.map(|e| String::from_utf8_lossy(&e).into_owned()).unwrap_or_default();
        let hit = read
            .value
            .and_then(|v| serde_json::from_slice::<CachedHidden>(&v).ok())
            .filter(|c| c.epoch == epoch);
        telemetry::cache_lookups(CacheKind::Blocks, hit.is_some() as usize, hit.is_none() as usize);
        match hit {
            Some(cached) => Ok(cached.hidden),
            None => self.load_hidden(uid, epoch).await,
        }
    }

    /// Reads a hidden set from the store and caches it under `epoch`, read before the store
    /// queries: a fill that raced a change is ignored by the next read.
    async fn load_hidden(&self, uid: &str, epoch: String) -> ServiceResult<Hidden> {
        let ids = |kind| self.relation_ids(uid, kind);
        let (blocks, blocked_by, mutes) =
            futures::try_join!(ids(keys::BLOCKS), ids(keys::BLOCKED_BY), ids(keys::MUTES))?;
        let hidden = Hidden { blocked: blocks.into_iter().chain(blocked_by).collect(), muted: mutes };
        let cached = CachedHidden { epoch, hidden };
        self.cache_set_json(&self.ck.hidden(uid), &cached, ttl::PROFILE).await;
        Ok(cached.hidden)
    }

    /// [`Self::hidden`] for a caller who may be anonymous (who then sees everything).
    pub(crate) async fn hidden_from(&self, caller: Option<&Caller>) -> ServiceResult<Hidden> {
        match caller {
            Some(c) => self.hidden_of(c).await,
            None => Ok(Hidden::default()),
        }
    }

    /// The ids under `uid`'s edges of one kind.
    async fn relation_ids(&self, uid: &str, kind: &str) -> ServiceResult<HashSet<String>> {
        let mut found = HashSet::new();
        let mut start = None;
        loop {
            let cond = KeyCondition::begins_with(keys::user_pk(uid), format!("{kind}#"));
            let result = self.store.query(Index::Table, cond, Page::forward(1000).after(start)).await?;
            found.extend(result.items.iter().filter_map(|i| i.str("uid").map(str::to_string)));
            match result.last_key {
                Some(key) => start = Some(key),
                None => return Ok(found),
            }
        }
    }

    /// Call after a block or mute change: no cached set of these users is used again.
    async fn forget_hidden(&self, uids: &[&str]) {
        for uid in uids {
            self.cache_set(&self.ck.hidden_epoch(uid), ids::new_id().into(), ttl::PROFILE * 2).await;
        }
    }

    /// The user a block or mute names: it must exist and not be the caller.
    async fn relation_target(&self, caller: &Caller, target: &str) -> ServiceResult<String> {
        let target = self.resolve_user(target).await?;
        if target.id == caller.user_id {
            return Err(ServiceError::validation("user", "you cannot block or mute yourself"));
        }
        Ok(target.id)
    }

    /// Writes (`on`) or deletes the edge items of a relation; whether anything changed.
    async fn set_relation(&self, relation: Relation, me: &str, other: &str, on: bool) -> ServiceResult<bool> {
        let kind = relation.kind();
        // Each edge: its key, whom it names, and its list entry (the reverse edge has none).
        let mut edges =
            vec![(keys::relation_edge(kind, me, other), other, Some(keys::relation_gsi(kind, me)))];
        let reverse = match relation {
            Relation::Block => keys::BLOCKED_BY,
            Relation::Mute => keys::MUTED_BY,
        };
        edges.push((keys::relation_edge(reverse, other, me), me, None));
        // The gsi1 sort key starts with a fresh id, so lists come out newest first.
        let since = ids::new_id();
        let ops = edges
            .into_iter()
            .map(|(key, names, gsi)| {
                if !on {
                    return TxOp::Delete { key, cond: Cond::Exists };
                }
                let mut item = Item::new(key.pk, key.sk).with("uid", names);
                if let Some(gsi) = gsi {
                    item = item.with_gsi1(gsi, format!("{since}#{names}"));
                }
                TxOp::Put { item, cond: Cond::NotExists }
            })
            .collect();
        match self.store.transact_write(ops).await {
            Ok(()) => Ok(true),
            // Already in that state: blocking or muting again is a no-op.
            Err(EngineError::TransactionCanceled { .. }) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }
}
