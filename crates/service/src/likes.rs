//! Likes (docs/architecture.md, "Like"): the cache answers at once (the post's like set), a
//! durable queued job carries the like to the store (the like item and the post's counter,
//! in one conditional transaction, so it is idempotent and the counter never drifts).
//!
//! The job is queued *before* the cache changes and before the answer: once a like is
//! acknowledged, its job is in the durable queue, whatever dies next. A post's like set
//! is loaded from the store on first use and carries a marker member, so its size minus one
//! is the like count. Reading a post loads its set if it is not cached, so that engagement
//! on a page of posts costs two pipelined cache calls.

use std::time::Duration;

use roost_engines::{CancelReason, Cond, EngineError, Index, Item, KeyCondition, Page, TxOp, Update};

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
        self.enqueue(&Job::SyncLike { post_id: pid.to_string(), user_id: uid.clone(), liked }).await?;
        let key = self.ensure_likes_cached(pid).await?;
        if liked {
            // Only a new like is engagement (an unlike is ignored: see `trending`).
            if self.cache.sadd(&key, &[uid]).await? == 1 {
                telemetry::engagement(telemetry::Engagement::Like);
                self.note_engagement(pid, Engagement::Liked).await;
            }
        } else {
            self.cache.srem(&key, &[uid]).await?;
        }
        let like_count = self.cache.scard(&key).await?.saturating_sub(1) as i64;
        self.announce_engagement(&post, like_count).await;
        Ok(LikeState { liked, like_count })
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
            members
                .extend(result.items.iter().filter_map(|i| i.sk.strip_prefix("LIKE#").map(str::to_string)));
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

    /// The job: make the store agree with an acknowledged like or unlike.
    pub(crate) async fn sync_like(&self, pid: &str, uid: &str, liked: bool) -> ServiceResult<()> {
        let like = keys::like(pid, uid);
        let (op, delta) = if liked {
            let item = Item::new(like.pk, like.sk)
                .with_gsi1(keys::liker_gsi(uid), keys::post_pk(pid))
                .with("user_id", uid);
            (TxOp::Put { item, cond: Cond::NotExists }, 1)
        } else {
            (TxOp::Delete { key: like, cond: Cond::Exists }, -1)
        };
        let mut ops = vec![
            op,
            TxOp::Update {
                key: keys::post(pid),
                update: Update::new().add("like_count", delta),
                cond: Cond::Exists,
            },
        ];
        if liked {
            // An account being erased likes nothing more (its erasure may have run already).
            ops.push(TxOp::Check { key: keys::user(uid), cond: Cond::Exists });
        }
        match self.store.transact_write(ops).await {
            Ok(()) => {}
            Err(EngineError::TransactionCanceled { reasons })
                if reasons.get(2).is_some_and(Option::is_some) =>
            {
                self.cache.srem(&self.ck.likes(pid), &[uid.to_string()]).await?;
                return Ok(());
            }
            // Already in that state (a repeated job), or the post is gone: nothing to do.
            Err(EngineError::TransactionCanceled { reasons })
                if reasons.iter().any(|r| r == &Some(CancelReason::ConditionFailed)) =>
            {
                return Ok(())
            }
            Err(err) => return Err(err.into()),
        }
        self.cache_del(&[self.ck.post(pid)]).await;
        if liked {
            self.notify_like(pid, uid).await;
        }
        // Mirror into a loaded like set: it may have been loaded from the store before
        // this job ran (after a restart of the embedded cache, say).
        let key = self.ck.likes(pid);
        if self.cache.exists(&key).await? {
            if liked {
                self.cache.sadd(&key, &[uid.to_string()]).await?;
            } else {
                self.cache.srem(&key, &[uid.to_string()]).await?;
            }
        }
        Ok(())
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
                self.store.batch_get(likes).await?.into_iter().map(|i| i.pk).collect()
            }
            None => Default::default(),
        };
        Ok(posts.iter().map(|p| (p.like_count.max(0), mine.contains(&keys::post_pk(&p.id)))).collect())
    }

    /// Two pipelined cache calls, and one store batch get for posts whose like set is not
    /// cached.
    async fn cached_like_states(
        &self,
        caller: Option<&Caller>,
        posts: &[StoredPost],
    ) -> ServiceResult<Vec<(i64, bool)>> {
        let set_keys: Vec<String> = posts.iter().map(|p| self.ck.likes(&p.id)).collect();
        let mut sizes = self.cache.scard_many(&set_keys).await?;
        if sizes.contains(&0) {
            // Posts whose like set is not cached: load each once, so that every later read
            // of them is answered by the cache alone.
            let cold = posts
                .iter()
                .zip(&sizes)
                .filter(|(_, &n)| n == 0)
                .map(|(p, _)| self.ensure_likes_cached(&p.id));
            futures::future::try_join_all(cold).await?;
            sizes = self.cache.scard_many(&set_keys).await?;
        }
        let mine = match caller {
            Some(c) => {
                let pairs: Vec<(String, String)> =
                    set_keys.iter().map(|k| (k.clone(), c.user_id.clone())).collect();
                self.cache.sismember_many(&pairs).await?
            }
            None => vec![false; posts.len()],
        };
        Ok(posts
            .iter()
            .zip(sizes.into_iter().zip(mine))
            .map(|(post, (size, member))| match size {
                // Evicted again in between: the store's counter is the next best answer.
                0 => (post.like_count.max(0), member),
                n => (n as i64 - 1, member),
            })
            .collect())
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
