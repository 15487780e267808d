//! Posts: create (the post item, the author's `posts_count` and the author's own feed entry
//! in one transaction, then the fan-out job), read (cache-aside, 2 h), delete (author or
//! moderator; the post leaves every feed and cache), a user's posts (gsi1) and the public
//! timeline (gsi2, hour buckets).

use std::collections::HashMap;

use roost_engines::{
    store::by_key, Cond, EngineError, Index, Item, KeyCondition, Page, SkCond, TxOp, Update,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::ttl;
use crate::cursor::PageRequest;
use crate::error::{ServiceError, ServiceResult};
use crate::idempotency::{deleted_since, IdempotencyKey};
use crate::jobs::Job;
use crate::limits::Limit;
use crate::model::{Caller, Image, NotificationKind, Paged, Post, Profile, StoredPost};
use crate::notifications::NewNotification;
use crate::telemetry::{self, CacheKind};
use crate::trending::Engagement;
use crate::{feed, ids, keys, media, post_search, time, Service};

pub(crate) const MAX_TEXT: usize = 500;
pub(crate) const MAX_MEDIA: usize = 4;
/// The widest window the public timeline reads (one query per hour bucket).
pub const MAX_TIMELINE_HOURS: u64 = 7 * 24;

/// `POST /api/posts`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct NewPost {
    /// The post's text, at most 500 characters.
    #[serde(default)]
    pub text: String,
    /// Ids of images the caller uploaded, at most 4.
    #[serde(default)]
    pub media_ids: Vec<String>,
    /// Id of the post this one replies to; absent for a top-level post.
    pub reply_to: Option<String>,
}

impl Service {
    /// Publishes a post by the caller.
    pub async fn create_post(&self, caller: &Caller, new: NewPost) -> ServiceResult<Post> {
        self.create_post_once(caller, new, None).await
    }

    /// Publishes a post by the caller, once per idempotency `key`: a retry with the key
    /// answers the post the first request made (see `idempotency`). A post held for review
    /// is not covered.
    pub async fn create_post_once(
        &self,
        caller: &Caller,
        new: NewPost,
        key: Option<&IdempotencyKey>,
    ) -> ServiceResult<Post> {
        if let Some(pid) = self.idempotent_replay(caller, key).await? {
            return self.post(Some(caller), &pid).await.map_err(deleted_since);
        }
        self.limit(Limit::Posts, &caller.user_id).await?;
        let text = crate::unicode::nfc(new.text.trim());
        let chars = text.chars().count();
        if chars > MAX_TEXT {
            return Err(ServiceError::validation(
                "text",
                format!("text must be at most {MAX_TEXT} characters"),
            ));
        }
        if chars == 0 && new.media_ids.is_empty() {
            return Err(ServiceError::validation(
                "text",
                "text must not be empty (unless the post has media)",
            ));
        }
        if new.media_ids.len() > MAX_MEDIA {
            return Err(ServiceError::validation(
                "media_ids",
                format!("at most {MAX_MEDIA} images per post"),
            ));
        }
        let media = self.own_media(caller, &new.media_ids).await?;
        if let Some(parent) = &new.reply_to {
            if self.load_post(parent).await?.is_none() {
                return Err(ServiceError::validation("reply_to", "no such post"));
            }
        }
        let author = self.profile(&caller.user_id).await?.ok_or(ServiceError::Unauthorized)?;

        let id = ids::new_id();
        let millis = ids::millis_of(&id).unwrap_or_else(time::now_millis);
        let stored = StoredPost {
            id: id.clone(),
            author_id: author.id.clone(),
            text,
            media,
            reply_to: new.reply_to,
            like_count: 0,
            comment_count: 0,
            created_at: time::rfc3339_of_millis(millis),
        };
        if let Some(word) = self.screened_word(&stored.text) {
            self.hold_post(&stored, &word).await?;
            let mut shown = self.present_posts(Some(caller), vec![stored]).await?.remove(0);
            shown.held = true;
            return Ok(shown);
        }
        let once = key.map(|k| Self::idempotency_put(caller, k, &id)).into_iter().collect();
        if let Err(err) = self.commit_post(&author, &stored, true, once, ServiceError::Unauthorized).await {
            // A concurrent request with the same key committed first: answer its post.
            return match self.idempotent_replay(caller, key).await? {
                Some(pid) => self.post(Some(caller), &pid).await.map_err(deleted_since),
                None => Err(err),
            };
        }
        Ok(self.present_posts(Some(caller), vec![stored]).await?.remove(0))
    }

    /// Publishes a new post: writes it with `extra` ops in one transaction (`canceled` is
    /// the answer if that is cancelled), then caches, notifies and fans it out. `attach`:
    /// the transaction attaches the post's images (not for a held post, whose images were
    /// attached when it was held).
    pub(crate) async fn commit_post(
        &self,
        author: &Profile,
        stored: &StoredPost,
        attach: bool,
        extra: Vec<TxOp>,
        canceled: ServiceError,
    ) -> ServiceResult<()> {
        let id = &stored.id;
        let millis = ids::millis_of(id).unwrap_or_else(time::now_millis);
        let key = keys::post(id);
        let item = Item::new(key.pk, key.sk)
            .with_gsi1(keys::author_gsi(&author.id), keys::author_gsi_sk(id))
            .with_gsi2(keys::timeline_gsi(&time::hour_bucket(millis)), id.as_str())
            .with_attrs(stored);
        let mut ops = vec![
            TxOp::Put { item, cond: Cond::NotExists },
            TxOp::Update {
                key: keys::user(&author.id),
                update: Update::new().add("posts_count", 1),
                cond: Cond::Exists,
            },
            // Read-your-writes: the post is in the author's own feed at once.
            TxOp::Put { item: feed::feed_entry(&author.id, id), cond: Cond::None },
        ];
        let media_ids: Vec<String> =
            if attach { stored.media.iter().map(|m| m.id.clone()).collect() } else { Vec::new() };
        let attached = ops.len()..ops.len() + media_ids.len();
        ops.extend(media::attach_ops(&media_ids));
        // Searchable at once: the post's index entries commit with it.
        ops.extend(post_search::posting_puts(id, &stored.text));
        ops.extend(extra);
        // A big account's posts are merged at read time: no fan-out to owe.
        let big = self.is_big_account(author).await?;
        let fan_out = if big {
            ops.push(TxOp::Put { item: feed::celebrity_mark(&author.id), cond: Cond::None });
            None
        } else {
            let (op, job) = self.outbox(Job::FanOut { post_id: id.clone(), author_id: author.id.clone() })?;
            ops.push(op);
            Some(job)
        };
        self.store.transact_write(ops).await.map_err(|err| match err {
            EngineError::TransactionCanceled { reasons }
                if reasons.iter().position(Option::is_some).is_some_and(|i| attached.contains(&i)) =>
            {
                media::already_attached("media_ids")
            }
            EngineError::TransactionCanceled { .. } => canceled,
            other => other.into(),
        })?;
        self.cache_set_json(&self.ck.post(id), stored, ttl::POST).await;
        let mention = NewNotification::new(NotificationKind::Mention, &author.id).post(id);
        self.notify_mentions(&stored.text, mention, std::slice::from_ref(&author.id)).await;
        self.forget_profiles(&[author.id.as_str()]).await;
        // Committed: from here on the cache's trouble must not turn the answer into an error
        // (the client's retry would post twice). The fan-out job pushes it again.
        if let Err(err) = self.push_to_cached_feeds(std::slice::from_ref(&author.id), id).await {
            tracing::warn!(%err, "a new post missed its author's cached feed; its fan-out job adds it");
        }
        self.note_recent_post(&author.id, id).await;
        self.publish_post(id, &author.id).await;
        self.note_engagement(id, Engagement::Posted).await;
        self.note_terms(&stored.text).await;
        match fan_out {
            Some(job) => {
                self.hand_over(job).await;
                Ok(())
            }
            None => {
                self.forget_celebrities().await;
                Ok(())
            }
        }
    }

    /// The media items of `ids`, which must be the caller's own uploads.
    async fn own_media(&self, caller: &Caller, ids: &[String]) -> ServiceResult<Vec<Image>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found = by_key(self.store.batch_get(ids.iter().map(|m| keys::media(m)).collect()).await?);
        ids.iter()
            .map(|mid| match found.get(&keys::media(mid)) {
                Some(item) if item.str("owner_id") == Some(caller.user_id.as_str()) => {
                    Ok(item.attrs_as::<Image>()?)
                }
                _ => Err(ServiceError::validation("media_ids", format!("no such image of yours: {mid}"))),
            })
            .collect()
    }

    /// One post, from the cache or the store; `None` if absent or deleted.
    pub async fn load_post(&self, pid: &str) -> ServiceResult<Option<StoredPost>> {
        Ok(self.load_posts(&[pid.to_string()]).await?.remove(pid))
    }

    /// Many posts: one cache `MGET`, one store batch get for the misses.
    pub async fn load_posts(&self, pids: &[String]) -> ServiceResult<HashMap<String, StoredPost>> {
        let mut found = HashMap::with_capacity(pids.len());
        if pids.is_empty() {
            return Ok(found);
        }
        let cache_keys: Vec<String> = pids.iter().map(|p| self.ck.post(p)).collect();
        let cached = self.cache_mget_memo(&self.post_memo, &cache_keys).await;
        telemetry::cache_answers(CacheKind::Post, &cached);
        let mut missing = Vec::new();
        for (pid, hit) in pids.iter().zip(cached) {
            match hit {
                Some(post) => {
                    found.insert(pid.clone(), StoredPost::clone(&post));
                }
                None => missing.push(keys::post(pid)),
            }
        }
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            for item in self.store.batch_get(missing).await? {
                let post: StoredPost = item.attrs_as()?;
                self.cache_set_json(&self.ck.post(&post.id), &post, ttl::POST).await;
                found.insert(post.id.clone(), post);
            }
        }
        Ok(found)
    }

    /// Post `pid` as `caller` sees it (`liked_by_me` false for anonymous callers); a post
    /// held for review only for its author and moderators.
    pub async fn post(&self, caller: Option<&Caller>, pid: &str) -> ServiceResult<Post> {
        let (stored, held) = match self.load_post(pid).await? {
            Some(post) => (post, false),
            None => (self.held_post_for(caller, pid).await?.ok_or(ServiceError::NotFound("post"))?, true),
        };
        let mut shown = self
            .present_posts(caller, vec![stored])
            .await?
            .into_iter()
            .next()
            .ok_or(ServiceError::NotFound("post"))?;
        shown.held = held;
        Ok(shown)
    }

    /// Deletes a post: its author or a moderator may. It leaves the author's feed and the
    /// caches at once, and every follower's feed through a queued job.
    pub async fn delete_post(&self, caller: &Caller, pid: &str) -> ServiceResult<()> {
        let post = self.load_post(pid).await?.ok_or(ServiceError::NotFound("post"))?;
        self.ensure_author_or_moderator(caller, &post.author_id, "post").await?;
        let media_ids = post.media.iter().map(|m| m.id.clone()).collect();
        let retract = Job::Retract { post_id: pid.to_string(), author_id: post.author_id.clone(), media_ids };
        // Deleted meanwhile by someone else (false): the outcome the caller wanted.
        self.remove_post(&post, true, Some(retract)).await?;
        Ok(())
    }

    /// The part of a delete that happens at once: one transaction takes the post, its
    /// search postings and its images' items (their URLs answer 404 from then on) and, with
    /// `count`, one off the author's `posts_count`; then the caches and the author's feed.
    /// False when the post was gone already. What is filed elsewhere is the retract's job:
    /// `then`, written to the outbox in the same transaction and queued after it.
    pub(crate) async fn remove_post(
        &self,
        post: &StoredPost,
        count: bool,
        then: Option<Job>,
    ) -> ServiceResult<bool> {
        let pid = post.id.as_str();
        let mut ops = vec![TxOp::Delete { key: keys::post(pid), cond: Cond::Exists }];
        if count {
            ops.push(TxOp::Update {
                key: keys::user(&post.author_id),
                update: Update::new().add("posts_count", -1),
                cond: Cond::Exists,
            });
        }
        ops.extend(post.media.iter().map(|m| TxOp::Delete { key: keys::media(&m.id), cond: Cond::None }));
        ops.extend(post_search::posting_deletes(pid, &post.text));
        let then = match then {
            Some(job) => {
                let (op, job) = self.outbox(job)?;
                ops.push(op);
                Some(job)
            }
            None => None,
        };
        match self.store.transact_write(ops).await {
            Ok(()) => {}
            Err(EngineError::TransactionCanceled { .. }) => return Ok(false),
            Err(err) => return Err(err.into()),
        }
        self.cache_del(&[self.ck.post(pid)]).await;
        self.forget_profiles(&[post.author_id.as_str()]).await;
        self.remove_from_feeds(std::slice::from_ref(&post.author_id), &[pid.to_string()]).await?;
        self.forget_recent_post(&post.author_id, pid).await;
        self.forget_trending(pid).await;
        if let Some(job) = then {
            self.hand_over(job).await;
        }
        Ok(true)
    }

    /// Only the author of a post or comment (`what`), or a moderator, may remove it.
    pub(crate) async fn ensure_author_or_moderator(
        &self,
        caller: &Caller,
        author_id: &str,
        what: &str,
    ) -> ServiceResult<()> {
        if author_id == caller.user_id {
            return Ok(());
        }
        let me = self.profile(&caller.user_id).await?.ok_or(ServiceError::Unauthorized)?;
        if me.is_moderator() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!("only the author or a moderator may delete a {what}")))
        }
    }

    /// A user's posts, newest first.
    pub async fn user_posts(
        &self,
        caller: Option<&Caller>,
        user: &str,
        page: &PageRequest,
    ) -> ServiceResult<Paged<Post>> {
        let author = self.resolve_user(user).await?;
        let request = Page::backward(page.limit()?).after(self.cursors.decode_start(page.cursor.as_deref())?);
        let result =
            self.store.query(Index::Gsi1, KeyCondition::pk(keys::author_gsi(&author.id)), request).await?;
        let posts = result.items.iter().map(|i| i.attrs_as::<StoredPost>()).collect::<Result<Vec<_>, _>>()?;
        Ok(Paged {
            items: self.present_posts(caller, posts).await?,
            next_cursor: result.last_key.as_ref().map(|position| self.cursors.encode(position)),
        })
    }

    /// The public timeline: every post in `[since, until)`, newest first, read bucket by
    /// bucket from the hour-partitioned gsi2.
    pub async fn timeline(
        &self,
        caller: Option<&Caller>,
        since: Option<&str>,
        until: Option<&str>,
        page: &PageRequest,
    ) -> ServiceResult<Paged<Post>> {
        let limit = page.limit()?;
        let parse = |field: &'static str, value: Option<&str>| -> ServiceResult<Option<u64>> {
            value
                .map(|v| {
                    time::parse_rfc3339_millis(v)
                        .ok_or_else(|| ServiceError::validation(field, "expected an RFC 3339 time"))
                })
                .transpose()
        };
        let until = parse("until", until)?.unwrap_or_else(|| time::now_millis() + 1);
        let since = parse("since", since)?.unwrap_or(until.saturating_sub(24 * 3600 * 1000));
        if since >= until {
            return Err(ServiceError::validation("since", "since must be before until"));
        }
        if until - since > MAX_TIMELINE_HOURS * 3600 * 1000 {
            return Err(ServiceError::validation(
                "since",
                format!("the window may span at most {MAX_TIMELINE_HOURS} hours"),
            ));
        }
        // Ids below `upper` and at or above `lower` fall in the window.
        let before: Option<String> = page.cursor.as_deref().map(|c| self.cursors.decode(c)).transpose()?;
        let upper = before.unwrap_or_else(|| ids::floor_id(until));
        let lower = ids::floor_id(since);
        let mut found: Vec<StoredPost> = Vec::new();
        let mut hour = ids::millis_of(&upper).unwrap_or(until).min(until) / 3_600_000;
        let mut more = false;
        while hour >= since / 3_600_000 && !more {
            let cond = KeyCondition::pk(keys::timeline_gsi(&time::hour_bucket(hour * 3_600_000)))
                .with_sk(SkCond::Between(lower.clone(), upper.clone()));
            let mut start = None;
            loop {
                let want = limit + 1 - found.len();
                let result =
                    self.store.query(Index::Gsi2, cond.clone(), Page::backward(want).after(start)).await?;
                for item in result.items.iter().filter(|i| i.gsi2.as_ref().is_some_and(|g| g.1 < upper)) {
                    found.push(item.attrs_as()?);
                }
                if found.len() > limit {
                    more = true;
                    break;
                }
                match result.last_key {
                    Some(key) => start = Some(key),
                    None => break,
                }
            }
            if hour == 0 {
                break;
            }
            hour -= 1;
        }
        found.truncate(limit);
        let next_cursor = if more { found.last().map(|p| self.cursors.encode(&p.id)) } else { None };
        Ok(Paged { items: self.present_posts(caller, found).await?, next_cursor })
    }

    /// Posts as the API shows them: author summary, live like count and `liked_by_me`,
    /// without one round trip per post. Posts whose author is gone are left out.
    pub async fn present_posts(
        &self,
        caller: Option<&Caller>,
        posts: Vec<StoredPost>,
    ) -> ServiceResult<Vec<Post>> {
        self.note_presented(caller, &posts);
        let author_ids: Vec<String> = posts.iter().map(|p| p.author_id.clone()).collect();
        // Independent reads: in flight together, so a page waits for one round trip, not two.
        let (authors, engagement) =
            futures::try_join!(self.profiles(&author_ids), self.like_states(caller, &posts))?;
        Ok(posts
            .into_iter()
            .zip(engagement)
            .filter_map(|(p, (like_count, liked_by_me))| {
                let author = authors.get(&p.author_id)?;
                Some(Post {
                    author: author.into(),
                    id: p.id,
                    text: p.text,
                    media: p.media,
                    reply_to: p.reply_to,
                    like_count,
                    comment_count: p.comment_count.max(0),
                    liked_by_me,
                    created_at: p.created_at,
                    held: false,
                })
            })
            .collect())
    }
}
