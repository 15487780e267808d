//! Likes (docs/architecture.md, "Like"): the cache answers at once (the post's like set), a
//! durable queued job carries the like to the store (the like item and the post's counter,
//! in one conditional transaction, so it is idempotent and the counter never drifts).
//!
//! The job is queued *before* the cache changes and before the answer: once a like is
//! acknowledged, its job is in the durable queue, whatever dies next. On a cache that may
//! lose the queue (`allow_volatile_cache`), the like is written to the store instead before
//! the answer. A post's like set is loaded from the store on first use and carries a marker
//! member, so its size minus one is the like count; it is changed only while it exists,
//! with its expiry renewed, in one cache operation (`supdate_if_exists`), so it never comes
//! back without the marker. Reading a post loads its set if it is not cached, so that
//! engagement on a page of posts costs one pipelined cache call.
//!
//! Order: each like or unlike carries a version (its acknowledgement time, see
//! [`next_like_version`]) and the store keeps the version of the last one applied on the
//! like item, an unlike leaving a tombstone. A job older than what the store holds does
//! nothing, so retries and instances may run the jobs of one like in any order and the last
//! acknowledged one wins (docs/reliability.md). The cache keeps the version of the last one
//! it answered (`like_version`), and only that one's job mirrors its state into the like
//! set: an older job run late must not undo in the cache what a newer answer said.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use roost_engines::{CancelReason, Cond, EngineError, Index, Item, KeyCondition, Page, TxOp, Update};
use serde_json::json;

use crate::comments::comment_id_of_sk;
use crate::error::{ServiceError, ServiceResult};
use crate::jobs::Job;
use crate::limits::Limit;
use crate::model::{Caller, LikeState, StoredPost};
use crate::telemetry::{self, CacheKind};
use crate::trending::Engagement;
use crate::{keys, Service};

/// Marks a like set as loaded from the store (an empty set cannot exist in Redis).
const MARKER: &str = "~loaded";
/// Like sets of posts nobody touches leave the cache after this.
const LIKES_TTL: Duration = Duration::from_secs(24 * 3600);
/// The like item's attribute holding the version of the last like or unlike applied.
const VERSION: &str = "version";
/// Marks a like item as a tombstone: the post is not liked; `version` says since when.
const UNLIKED: &str = "unliked";
/// A tombstone only has to outlive the jobs older than it (retries take minutes; a dead
/// letter replayed later than this may bring back a like that was undone).
const TOMBSTONE_TTL_SECS: i64 = 30 * 86_400;
/// How long the cache keeps the version of a user's last like or unlike of a post: longer
/// than a job waits behind retries. A job that finds none leaves the like set alone.
const LIKE_VERSION_TTL: Duration = Duration::from_secs(3600);
/// Reads and conditional writes of one like job before it gives up (and is retried later):
/// each lost race means another version landed meanwhile.
const SYNC_ATTEMPTS: usize = 3;

/// The version of a like or unlike acknowledged now: the time in milliseconds times 1024,
/// plus a tiebreak so that two acknowledged by this process within one millisecond keep
/// their order. Across instances, order is the clocks' (skew decides a true tie). Below
/// 2^53 until the year 2248, so exact as a JSON and DynamoDB number.
pub(crate) fn next_like_version() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = crate::time::now_millis() << 10;
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| Some(now.max(last + 1)))
        .unwrap_or_default();
    now.max(previous + 1)
}

/// Whether a stored like item is a live like (not a tombstone).
pub(crate) fn is_like(item: &Item) -> bool {
    !item.attrs.contains_key(UNLIKED)
}

impl Service {
    /// Like (`liked = true`) or unlike a post; both idempotent.
    pub async fn set_like(&self, caller: &Caller, pid: &str, liked: bool) -> ServiceResult<LikeState> {
        self.limit(Limit::Likes, &caller.user_id).await?;
        let Some(post) = self.load_post(pid).await? else {
            return Err(ServiceError::NotFound("post"));
        };
        if liked {
            self.ensure_not_blocked(&caller.user_id, &post.author_id, "like this post").await?;
        }
        let uid = caller.user_id.clone();
        let version = next_like_version();
        let job = Job::SyncLike { post_id: pid.to_string(), user_id: uid.clone(), liked, version };
        let version_key = self.ck.like_version(pid, &uid);
        let noted = self.cache.set(&version_key, Bytes::from(version.to_string()), Some(LIKE_VERSION_TTL));
        let (newly, size) = if self.config.allow_volatile_cache {
            // The cache may lose its queue on a restart: the store has the like before the answer.
            noted.await?;
            let changed = self.sync_like(pid, &uid, liked, version).await?;
            (changed, self.update_like_set(pid, &uid, liked).await?.1)
        } else {
            futures::try_join!(self.enqueue(&job), async { noted.await.map_err(ServiceError::from) })?;
            self.update_like_set(pid, &uid, liked).await?
        };
        // Only a new like is engagement (an unlike is ignored: see `trending`).
        if liked && newly {
            self.note_engagement(pid, Engagement::Liked).await;
        }
        let like_count = size.saturating_sub(1) as i64;
        self.announce_engagement(&post, like_count).await;
        Ok(LikeState { liked, like_count })
    }

    /// Adds `uid` to (or removes it from) the post's like set, loading the set first if it
    /// is not cached: whether the member changed, and the set's size (marker included).
    async fn update_like_set(&self, pid: &str, uid: &str, liked: bool) -> ServiceResult<(bool, u64)> {
        let key = self.ck.likes(pid);
        for _ in 0..SYNC_ATTEMPTS {
            if let Some(answer) = self.cache.supdate_if_exists(&key, uid, liked, LIKES_TTL).await? {
                return Ok(answer);
            }
            self.ensure_likes_cached(pid).await?;
        }
        Err(ServiceError::Internal("the like set was evicted as soon as it was loaded".into()))
    }

    /// Loads a post's like set from the store unless it is cached; returns its key.
    async fn ensure_likes_cached(&self, pid: &str) -> ServiceResult<String> {
        let key = self.ck.likes(pid);
        let hit = self.cache.exists(&key).await?;
        telemetry::cache_lookups(CacheKind::Likes, hit as usize, !hit as usize);
        if hit {
            return Ok(key);
        }
        let mut members = vec![MARKER.to_string()];
        let mut start = None;
        loop {
            let cond = KeyCondition::begins_with(keys::post_pk(pid), "LIKE#");
            let result = self.store.query(Index::Table, cond, Page::forward(1000).after(start)).await?;
            members.extend(
                result
                    .items
                    .iter()
                    .filter(|i| is_like(i))
                    .filter_map(|i| i.sk.strip_prefix("LIKE#").map(str::to_string)),
            );
            match result.last_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        // Concurrent loads add the same members: a union, so racing is harmless.
        self.cache.sadd(&key, &members).await?;
        self.cache.expire(&key, LIKES_TTL).await?;
        Ok(key)
    }

    /// The job: make the store agree with an acknowledged like or unlike of `version`,
    /// unless a later one is applied already. True when the store's state changed (a like
    /// became an unlike or the reverse).
    pub(crate) async fn sync_like(
        &self,
        pid: &str,
        uid: &str,
        liked: bool,
        version: u64,
    ) -> ServiceResult<bool> {
        for _ in 0..SYNC_ATTEMPTS {
            match self.try_sync_like(pid, uid, liked, version).await? {
                Some(changed) => return Ok(changed),
                // Another version landed between the read and the write: look again.
                None => continue,
            }
        }
        Err(ServiceError::Unavailable(format!("like {pid}/{uid} kept changing under its job")))
    }

    /// One read and one conditional transaction; `None` when the item changed in between.
    async fn try_sync_like(
        &self,
        pid: &str,
        uid: &str,
        liked: bool,
        version: u64,
    ) -> ServiceResult<Option<bool>> {
        let key = keys::like(pid, uid);
        let current = self.store.get(&key).await?;
        let was_liked = current.as_ref().is_some_and(is_like);
        let stored_version = current.as_ref().and_then(|i| i.int(VERSION)).map_or(0, i64::unsigned_abs);
        // Newer versions win; an equal one is the same job again (or, for jobs and items from
        // before versions, both 0, queue order), which has work only if the state differs.
        if version < stored_version || (version == stored_version && was_liked == liked) {
            return Ok(Some(false));
        }
        let cond = match &current {
            None => Cond::NotExists,
            Some(item) if item.attrs.contains_key(VERSION) => {
                Cond::Equals(VERSION.into(), json!(stored_version))
            }
            Some(_) => Cond::Equals("user_id".into(), json!(uid)),
        };
        let item = if liked {
            Item::new(key.pk, key.sk).with_gsi1(keys::liker_gsi(uid), keys::post_pk(pid))
        } else {
            Item::new(key.pk, key.sk)
                .with(UNLIKED, true)
                .with_ttl(crate::time::now_secs() + TOMBSTONE_TTL_SECS)
        };
        let item = item.with("user_id", uid).with(VERSION, version);
        let post = keys::post(pid);
        let counter = match (was_liked, liked) {
            (false, true) => {
                TxOp::Update { key: post, update: Update::new().add("like_count", 1), cond: Cond::Exists }
            }
            (true, false) => {
                TxOp::Update { key: post, update: Update::new().add("like_count", -1), cond: Cond::Exists }
            }
            // Only the version moves: the post must still exist all the same.
            _ => TxOp::Check { key: post, cond: Cond::Exists },
        };
        let mut ops = vec![TxOp::Put { item, cond }, counter];
        if liked {
            // An account being erased likes nothing more (its erasure may have run already).
            ops.push(TxOp::Check { key: keys::user(uid), cond: Cond::Exists });
        }
        let failed = |reason: Option<&Option<CancelReason>>| reason.is_some_and(Option::is_some);
        match self.store.transact_write(ops).await {
            Ok(()) => {}
            Err(EngineError::TransactionCanceled { reasons }) if failed(reasons.get(2)) => {
                self.cache.srem(&self.ck.likes(pid), &[uid.to_string()]).await?;
                return Ok(Some(false));
            }
            // The post is gone: nothing to do.
            Err(EngineError::TransactionCanceled { reasons }) if failed(reasons.get(1)) => {
                return Ok(Some(false))
            }
            Err(EngineError::TransactionCanceled { reasons }) if failed(reasons.first()) => return Ok(None),
            Err(err) => return Err(err.into()),
        }
        let changed = was_liked != liked;
        if changed {
            self.cache_del(&[self.ck.post(pid)]).await;
            if liked {
                self.notify_like(pid, uid).await;
            }
        }
        // Mirror into a loaded like set: it may have been loaded from the store before
        // this job ran (evicted after the request, say). Only for the last like or unlike
        // the cache answered for this user and post: an older one would hide the newer
        // state the cache holds already until the newer one's job ran, and through a
        // crash for as long as that job waits to be claimed.
        let latest = self.cache.get(&self.ck.like_version(pid, uid)).await?;
        if latest.is_some_and(|v| v.as_ref() == version.to_string().as_bytes()) {
            self.cache.supdate_if_exists(&self.ck.likes(pid), uid, liked, LIKES_TTL).await?;
        }
        Ok(Some(changed))
    }

    /// `(like_count, liked_by_me)` of each post, in order: from the like sets, or from
    /// the store when the cache cannot answer (the policy of `cached.rs`).
    pub(crate) async fn like_states(
        &self,
        caller: Option<&Caller>,
        posts: &[StoredPost],
    ) -> ServiceResult<Vec<(i64, bool)>> {
        if posts.is_empty() {
            return Ok(Vec::new());
        }
        match self.cached_like_states(caller, posts).await {
            Err(ServiceError::Unavailable(err)) => {
                tracing::warn!(%err, "like sets unavailable; counting from the store");
                self.stored_like_states(caller, posts).await
            }
            answer => answer,
        }
    }

    /// The store's answer: the posts' counters, and the caller's like items. Likes still
    /// queued are not in it yet.
    async fn stored_like_states(
        &self,
        caller: Option<&Caller>,
        posts: &[StoredPost],
    ) -> ServiceResult<Vec<(i64, bool)>> {
        let mine: std::collections::HashSet<String> = match caller {
            Some(c) => {
                let likes = posts.iter().map(|p| keys::like(&p.id, &c.user_id)).collect();
                self.store.batch_get(likes).await?.into_iter().filter(is_like).map(|i| i.pk).collect()
            }
            None => Default::default(),
        };
        Ok(posts.iter().map(|p| (p.like_count.max(0), mine.contains(&keys::post_pk(&p.id)))).collect())
    }

    /// One pipelined cache call (counts and the caller's membership together), and one
    /// store batch get for posts whose like set is not cached.
    async fn cached_like_states(
        &self,
        caller: Option<&Caller>,
        posts: &[StoredPost],
    ) -> ServiceResult<Vec<(i64, bool)>> {
        let set_keys: Vec<String> = posts.iter().map(|p| self.ck.likes(&p.id)).collect();
        let mut states = self.like_sets(&set_keys, caller).await?;
        if states.iter().any(|&(size, _)| size == 0) {
            // Posts whose like set is not cached: load each once, so that every later read
            // of them is answered by the cache alone.
            let cold = posts
                .iter()
                .zip(&states)
                .filter(|(_, &(size, _))| size == 0)
                .map(|(p, _)| self.ensure_likes_cached(&p.id));
            futures::future::try_join_all(cold).await?;
            states = self.like_sets(&set_keys, caller).await?;
        }
        Ok(posts
            .iter()
            .zip(states)
            .map(|(post, (size, member))| match size {
                // Evicted again in between: the store's counter is the next best answer.
                0 => (post.like_count.max(0), member),
                n => (n as i64 - 1, member),
            })
            .collect())
    }

    /// Each like set's size (marker included) and whether `caller` is in it, in one round trip.
    async fn like_sets(
        &self,
        set_keys: &[String],
        caller: Option<&Caller>,
    ) -> ServiceResult<Vec<(u64, bool)>> {
        Ok(match caller {
            Some(c) => self.cache.scard_sismember_many(set_keys, &c.user_id).await?,
            None => self.cache.scard_many(set_keys).await?.into_iter().map(|size| (size, false)).collect(),
        })
    }

    /// Everything filed under a deleted post (likes, comments) goes, and its images.
    pub(crate) async fn delete_post_children(&self, pid: &str) -> ServiceResult<()> {
        loop {
            let result = self
                .store
                .query(Index::Table, KeyCondition::pk(keys::post_pk(pid)), Page::forward(500))
                .await?;
            if result.items.is_empty() {
                break;
            }
            // A comment's lookup item lives outside the partition: its id ends the path.
            let lookups = result
                .items
                .iter()
                .filter_map(|i| comment_id_of_sk(&i.sk))
                .map(|cid| roost_engines::WriteOp::Delete(keys::comment(cid)));
            let deletes =
                result.items.iter().map(|i| roost_engines::WriteOp::Delete(i.key())).chain(lookups).collect();
            self.store.batch_write(deletes).await?;
            if result.last_key.is_none() {
                break;
            }
        }
        self.cache_del(&[self.ck.likes(pid)]).await;
        Ok(())
    }
}
