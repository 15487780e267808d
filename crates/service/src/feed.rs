//! The home feed: fan-out on write, with big accounts merged in at read time.
//!
//! Each user's feed is kept twice: the store's feed table (`FEED#uid`, with a TTL) is the
//! truth, and a cache sorted set of post ids scored by time (capped at `feed_cap`) serves
//! reads. A new post is pushed into every follower's feed by a queued job; authors with more
//! than `fanout_threshold` followers are not fanned out: readers who follow them merge
//! their recent posts in at read time, so the reader cannot tell the difference.
//!
//! A cached feed carries a marker member. Only a feed with the marker is complete: a reader
//! that finds none rebuilds it from the store (marker first, then the store read), and
//! fan-out writes the store before it looks for the marker. Whatever the interleaving, a
//! post lands in the rebuilt copy or is pushed into it.

use std::time::Duration;

use roost_engines::{Index, Item, KeyCondition, Page, SkCond, WriteOp};

use crate::analytics::Activity;
use crate::cursor::PageRequest;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{Caller, Paged, Post, Profile};
use crate::telemetry::{self, CacheKind};
use crate::{ids, keys, time, Service};

/// The item that marks `uid` as a big account (merged into feeds at read time). Written in
/// the transaction of the post that makes its author one, so that post is never left with
/// neither a fan-out nor the mark.
pub(crate) fn celebrity_mark(uid: &str) -> Item {
    let key = keys::celebrity(uid);
    Item::new(key.pk, key.sk)
}

/// The marker member of a complete cached feed (or recent-posts list). Its score is above
/// every timestamp, so capping never removes it.
const MARKER: &str = "~complete";
const MARKER_SCORE: f64 = 1e15;
/// How long a cached feed lives without being rebuilt.
const FEED_CACHE_TTL: Duration = Duration::from_secs(3 * 24 * 3600);
/// How long a feed entry stays in the store's feed table.
const FEED_ENTRY_DAYS: i64 = 30;
/// How many of a followee's posts a follow brings into the feed.
const BACKFILL_POSTS: usize = 50;
/// Followers read per page during fan-out.
const FANOUT_PAGE: usize = 1000;
/// How long an instance reuses its copy of the big accounts' list before asking the cache
/// again. A new big account is forgotten at once on the instance that marks it; elsewhere
/// its posts may stay out of feeds this long, as with fan-out lag. It saves every feed
/// page a cache round trip.
const CELEBRITIES_MEMO: Duration = Duration::from_secs(1);

/// This instance's recent copy of the big accounts' list (see [`CELEBRITIES_MEMO`]).
#[derive(Default)]
pub(crate) struct CelebrityMemo(std::sync::Mutex<Option<(std::time::Instant, Vec<String>)>>);

impl CelebrityMemo {
    fn fresh(&self) -> Option<Vec<String>> {
        let memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
        memo.as_ref().filter(|(at, _)| at.elapsed() < CELEBRITIES_MEMO).map(|(_, all)| all.clone())
    }

    fn keep(&self, all: &[String]) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((std::time::Instant::now(), all.to_vec()));
    }

    fn forget(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// The store's row saying `pid` is in `reader`'s feed: its key and expiry, nothing else
/// (feed rows are most of the store; nothing reads an attribute of them).
pub(crate) fn feed_entry(reader: &str, pid: &str) -> Item {
    let key = keys::feed_entry(reader, pid);
    let expires = time::now_secs() + FEED_ENTRY_DAYS * 86_400;
    Item::new(key.pk, key.sk).with_ttl(expires)
}

/// `cond` narrowed to sort keys below `sk`, when there is one.
fn below(cond: KeyCondition, sk: Option<String>) -> KeyCondition {
    match sk {
        Some(sk) => cond.with_sk(SkCond::Lt(sk)),
        None => cond,
    }
}

fn score_of(pid: &str) -> f64 {
    ids::millis_of(pid).unwrap_or(0) as f64
}

impl Service {
    /// `GET /api/feed`: the posts of the people the caller follows and the caller's own,
    /// newest first.
    pub async fn home_feed(&self, caller: &Caller, page: &PageRequest) -> ServiceResult<Paged<Post>> {
        let started = std::time::Instant::now();
        let limit = page.limit()?;
        let before: Option<String> = page.cursor.as_deref().map(|c| self.cursors.decode(c)).transpose()?;
        let uid = &caller.user_id;
        self.count_activity(Activity::FeedRead);
        let mut ids = match self.feed_ids_cached(uid, before.as_deref(), limit + 1).await {
            Ok(ids) => ids,
            // The cache policy (`cached.rs`): the store's feed table answers instead.
            Err(ServiceError::Unavailable(err)) => {
                tracing::warn!(%err, "feed cache unavailable; reading the store's feed table");
                self.feed_ids_stored(uid, before.as_deref(), limit + 1).await?
            }
            Err(err) => return Err(err),
        };
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        let more = ids.len() > limit;
        ids.truncate(limit);
        let next_cursor = if more { ids.last().map(|position| self.cursors.encode(position)) } else { None };
        let (stored, hidden) = futures::try_join!(self.load_posts(&ids), self.hidden_of(caller))?;
        // Posts deleted since they were fanned out are skipped; the retract job catches up.
        // So are those of accounts blocked or muted since (a page may then be short).
        let posts = ids
            .iter()
            .filter_map(|id| stored.get(id).filter(|p| !hidden.hides(&p.author_id)).cloned())
            .collect();
        let items = self.present_posts(Some(caller), posts).await?;
        telemetry::feed_generated(started.elapsed());
        Ok(Paged { items, next_cursor })
    }

    /// Up to `count` feed ids below `before` from the cached sorted sets (rebuilt when
    /// incomplete), big accounts merged in; unsorted.
    async fn feed_ids_cached(
        &self,
        uid: &str,
        before: Option<&str>,
        count: usize,
    ) -> ServiceResult<Vec<String>> {
        let feed = self.ck.feed(uid);
        let mut ids = self
            .complete_ids_before(CacheKind::Feed, &feed, before, count, self.ensure_feed_cached(uid))
            .await?;
        for celebrity in self.followed_celebrities(uid).await? {
            let recent = self.ck.recent_posts(&celebrity);
            let ensure = self.ensure_recent_cached(&celebrity);
            ids.extend(
                self.complete_ids_before(CacheKind::RecentPosts, &recent, before, count, ensure).await?,
            );
        }
        Ok(ids)
    }

    /// Up to `count` ids of a cached sorted set below `before`, once `ensure` has made it
    /// complete. A first page (no cursor) reads the marker with the ids, so a complete set
    /// answers in one round trip and `ensure` runs only when the marker is missing.
    async fn complete_ids_before(
        &self,
        kind: CacheKind,
        key: &str,
        before: Option<&str>,
        count: usize,
        ensure: impl std::future::Future<Output = ServiceResult<()>>,
    ) -> ServiceResult<Vec<String>> {
        if before.is_none() {
            let (ids, complete) = self.sorted_ids_before(key, None, count).await?;
            if complete {
                telemetry::cache_lookups(kind, 1, 0);
                return Ok(ids);
            }
        }
        ensure.await?;
        Ok(self.sorted_ids_before(key, before, count).await?.0)
    }

    /// The same ids from the store alone, for when the cache cannot answer: the feed
    /// table, and the big accounts' posts from their author index.
    async fn feed_ids_stored(
        &self,
        uid: &str,
        before: Option<&str>,
        count: usize,
    ) -> ServiceResult<Vec<String>> {
        let feed = below(KeyCondition::pk(keys::feed_pk(uid)), before.map(str::to_string));
        let result = self.store.query(Index::Table, feed, Page::backward(count)).await?;
        let mut ids: Vec<String> = result.items.into_iter().map(|i| i.sk).collect();
        for celebrity in self.followed_among(uid, self.stored_celebrities().await?).await? {
            let posts =
                below(KeyCondition::pk(keys::author_gsi(&celebrity)), before.map(keys::author_gsi_sk));
            let result = self.store.query(Index::Gsi1, posts, Page::backward(count)).await?;
            ids.extend(result.items.iter().filter_map(|i| i.str("id").map(str::to_string)));
        }
        Ok(ids)
    }

    /// Up to `count` ids of a sorted set below `before` (all when `None`), newest first,
    /// and whether the marker was among the members read (it is, in a complete set, when
    /// there is no cursor: its score is the highest).
    async fn sorted_ids_before(
        &self,
        key: &str,
        before: Option<&str>,
        count: usize,
    ) -> ServiceResult<(Vec<String>, bool)> {
        let max = before.map_or(MARKER_SCORE, score_of);
        // Posts of the same millisecond share a score: fetch a few more and drop the ones
        // at or above the cursor, widening until the page is full or the set ends.
        let mut fetch = count + 8;
        loop {
            let rows = self.cache.zrevrangebyscore(key, max, false, 0.0, fetch).await?;
            let exhausted = rows.len() < fetch;
            let marked = rows.first().is_some_and(|(member, _)| member == MARKER);
            let ids: Vec<String> = rows
                .into_iter()
                .map(|(member, _)| member)
                .filter(|m| m != MARKER && before.is_none_or(|b| m.as_str() < b))
                .take(count)
                .collect();
            if ids.len() >= count || exhausted {
                return Ok((ids, marked));
            }
            fetch *= 2;
        }
    }

    /// Rebuilds a user's cached feed from the store's feed table if it is not complete.
    async fn ensure_feed_cached(&self, uid: &str) -> ServiceResult<()> {
        let cap = self.config.feed_cap;
        self.ensure_complete(CacheKind::Feed, &self.ck.feed(uid), async {
            let mut members = Vec::with_capacity(cap);
            let mut start = None;
            while members.len() < cap {
                let page = Page::backward(cap - members.len()).after(start);
                let result =
                    self.store.query(Index::Table, KeyCondition::pk(keys::feed_pk(uid)), page).await?;
                members.extend(result.items.iter().map(|i| (score_of(&i.sk), i.sk.clone())));
                match result.last_key {
                    Some(key) => start = Some(key),
                    None => break,
                }
            }
            Ok(members)
        })
        .await
    }

    /// Fills a cached sorted set with `load`'s members unless it is complete: the marker
    /// goes first, so that a post pushed meanwhile lands in it. A fill that fails drops
    /// the set, rather than leave a marker vouching for members that never arrived.
    async fn ensure_complete(
        &self,
        kind: CacheKind,
        key: &str,
        load: impl std::future::Future<Output = ServiceResult<Vec<(f64, String)>>>,
    ) -> ServiceResult<()> {
        let hit = self.cache.zscore(key, MARKER).await?.is_some();
        telemetry::cache_lookups(kind, hit as usize, !hit as usize);
        if hit {
            return Ok(());
        }
        self.cache.zadd(key, &[(MARKER_SCORE, MARKER.to_string())]).await?;
        self.cache.expire(key, FEED_CACHE_TTL).await?;
        let filled: ServiceResult<()> = async {
            let members = load.await?;
            if !members.is_empty() {
                self.cache.zadd(key, &members).await?;
            }
            Ok(())
        }
        .await;
        if filled.is_err() {
            self.cache_del(&[key.to_string()]).await;
        }
        filled
    }

    /// Writes a post into the feeds of `readers`: the store's feed table first, then each
    /// complete cached feed (capped).
    pub(crate) async fn add_to_feeds(&self, readers: &[String], pid: &str) -> ServiceResult<()> {
        let writes = readers.iter().map(|r| WriteOp::Put(feed_entry(r, pid))).collect();
        self.store.batch_write(writes).await?;
        self.push_to_cached_feeds(readers, pid).await
    }

    /// The cache half of `add_to_feeds`, for a caller that wrote the store's entries itself.
    pub(crate) async fn push_to_cached_feeds(&self, readers: &[String], pid: &str) -> ServiceResult<()> {
        let feeds: Vec<String> = readers.iter().map(|r| self.ck.feed(r)).collect();
        // The cap, and the marker on top of it.
        let keep = self.config.feed_cap as u64 + 1;
        self.cache.zadd_capped_if_marked(&feeds, MARKER, score_of(pid), pid, keep).await?;
        Ok(())
    }

    pub(crate) async fn remove_from_feeds(&self, readers: &[String], pids: &[String]) -> ServiceResult<()> {
        let deletes = readers
            .iter()
            .flat_map(|r| pids.iter().map(move |p| WriteOp::Delete(keys::feed_entry(r, p))))
            .collect();
        self.store.batch_write(deletes).await?;
        for reader in readers {
            self.cache.zrem(&self.ck.feed(reader), pids).await?;
        }
        Ok(())
    }

    /// The fan-out job: the post goes into every follower's feed, a page of followers at a time.
    pub(crate) async fn fan_out(&self, pid: &str, author: &str) -> ServiceResult<()> {
        if self.load_post(pid).await?.is_none() {
            return Ok(()); // deleted before its fan-out ran
        }
        // The author's own cached feed again: the create pushed it there, unless the cache
        // failed then (the post was committed all the same; see `commit_post`).
        self.push_to_cached_feeds(&[author.to_string()], pid).await?;
        self.for_each_follower_page(author, |service, followers| async move {
            service.add_to_feeds(&followers, pid).await
        })
        .await
    }

    /// The retract job: a deleted post leaves every follower's feed, and its likes go.
    pub(crate) async fn retract(&self, pid: &str, author: &str) -> ServiceResult<()> {
        let pids = [pid.to_string()];
        self.for_each_follower_page(author, |service, followers| {
            let pids = pids.clone();
            async move { service.remove_from_feeds(&followers, &pids).await }
        })
        .await?;
        self.delete_post_children(pid).await
    }

    async fn for_each_follower_page<F, Fut>(&self, author: &str, mut each: F) -> ServiceResult<()>
    where
        F: FnMut(Service, Vec<String>) -> Fut,
        Fut: std::future::Future<Output = ServiceResult<()>>,
    {
        let mut start = None;
        loop {
            let page = Page::backward(FANOUT_PAGE).after(start);
            let result =
                self.store.query(Index::Gsi1, KeyCondition::pk(keys::followers_gsi(author)), page).await?;
            let followers: Vec<String> =
                result.items.iter().filter_map(|i| i.str("uid").map(str::to_string)).collect();
            if !followers.is_empty() {
                each(self.clone(), followers).await?;
            }
            match result.last_key {
                Some(key) => start = Some(key),
                None => return Ok(()),
            }
        }
    }

    /// After a follow: the followee's recent posts join the follower's feed (a big
    /// account's posts are merged at read time instead).
    pub(crate) async fn backfill(&self, follower: &str, followee: &Profile) -> ServiceResult<()> {
        if self.is_big_account(followee).await? {
            return self.ensure_celebrity(&followee.id).await;
        }
        // One store write for all of them, then the cached feed (store first, as in
        // `add_to_feeds`); the cache calls go out together.
        let pids = self.recent_post_ids(&followee.id, BACKFILL_POSTS).await?;
        self.store
            .batch_write(pids.iter().map(|pid| WriteOp::Put(feed_entry(follower, pid))).collect())
            .await?;
        let reader = [follower.to_string()];
        futures::future::try_join_all(pids.iter().map(|pid| self.push_to_cached_feeds(&reader, pid))).await?;
        Ok(())
    }

    /// After an unfollow: the followee's posts leave the follower's feed.
    pub(crate) async fn unfill(&self, follower: &str, followee: &str) -> ServiceResult<()> {
        let pids = self.recent_post_ids(followee, self.config.feed_cap).await?;
        self.remove_from_feeds(&[follower.to_string()], &pids).await
    }

    /// An author's newest post ids, from the store.
    async fn recent_post_ids(&self, author: &str, count: usize) -> ServiceResult<Vec<String>> {
        let result = self
            .store
            .query(Index::Gsi1, KeyCondition::pk(keys::author_gsi(author)), Page::backward(count))
            .await?;
        Ok(result.items.iter().filter_map(|i| i.str("id").map(str::to_string)).collect())
    }

    // --- big accounts, merged at read time ---

    pub(crate) async fn is_big_account(&self, profile: &Profile) -> ServiceResult<bool> {
        Ok(profile.followers_count as u64 > self.config.fanout_threshold)
    }

    /// Marks an account as too big to fan out. Sticky: an account that drops back below
    /// the threshold stays merged at read time, which readers cannot tell apart.
    pub(crate) async fn ensure_celebrity(&self, uid: &str) -> ServiceResult<()> {
        self.store.put(celebrity_mark(uid), roost_engines::Cond::None).await?;
        self.forget_celebrities().await;
        Ok(())
    }

    /// After a big account was marked: readers load the list of big accounts again.
    pub(crate) async fn forget_celebrities(&self) {
        self.cache_del(&[self.ck.celebrities()]).await;
        self.celebrity_memo.forget();
    }

    /// The big accounts `uid` follows.
    async fn followed_celebrities(&self, uid: &str) -> ServiceResult<Vec<String>> {
        if let Some(all) = self.celebrity_memo.fresh() {
            return self.followed_among(uid, all).await;
        }
        let key = self.ck.celebrities();
        let mut all = self.cache.smembers(&key).await?;
        if all.is_empty() {
            all = self.stored_celebrities().await?;
            all.push(MARKER.to_string());
            self.cache.sadd(&key, &all).await?;
            self.cache.expire(&key, Duration::from_secs(300)).await?;
        }
        self.celebrity_memo.keep(&all);
        self.followed_among(uid, all).await
    }

    /// Every big account, from the store.
    async fn stored_celebrities(&self) -> ServiceResult<Vec<String>> {
        let result =
            self.store.query(Index::Table, KeyCondition::pk("CELEBRITIES"), Page::forward(10_000)).await?;
        Ok(result.items.into_iter().map(|i| i.sk).collect())
    }

    /// Those of `candidates` that `uid` follows.
    async fn followed_among(&self, uid: &str, candidates: Vec<String>) -> ServiceResult<Vec<String>> {
        let candidates: Vec<String> = candidates.into_iter().filter(|c| c != MARKER && c != uid).collect();
        if candidates.is_empty() {
            return Ok(candidates);
        }
        let edges = candidates.iter().map(|c| keys::following_edge(uid, c)).collect();
        let followed = self.store.batch_get(edges).await?;
        Ok(followed.into_iter().filter_map(|edge| edge.str("uid").map(str::to_string)).collect())
    }

    /// Keeps an author's cached recent posts current (only once the list is complete).
    pub(crate) async fn note_recent_post(&self, author: &str, pid: &str) {
        let key = self.ck.recent_posts(author);
        let result = async {
            let keep = self.config.feed_cap as u64 + 1;
            self.cache
                .zadd_capped_if_marked(std::slice::from_ref(&key), MARKER, score_of(pid), pid, keep)
                .await?;
            Ok::<_, roost_engines::EngineError>(())
        };
        if let Err(err) = result.await {
            tracing::warn!(%err, "recent-posts cache update failed; dropping it");
            self.cache_del(&[key]).await;
        }
    }

    pub(crate) async fn forget_recent_post(&self, author: &str, pid: &str) {
        if let Err(err) = self.cache.zrem(&self.ck.recent_posts(author), &[pid.to_string()]).await {
            tracing::warn!(%err, "recent-posts cache update failed; dropping it");
            self.cache_del(&[self.ck.recent_posts(author)]).await;
        }
    }

    async fn ensure_recent_cached(&self, author: &str) -> ServiceResult<()> {
        self.ensure_complete(CacheKind::RecentPosts, &self.ck.recent_posts(author), async {
            let ids = self.recent_post_ids(author, self.config.feed_cap).await?;
            Ok(ids.into_iter().map(|pid| (score_of(&pid), pid)).collect())
        })
        .await
    }
}
