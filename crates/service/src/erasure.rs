//! Account erasure (`DELETE /api/me`, docs/architecture.md, "Erasure").
//!
//! The request does what must hold at once: the erasure job is queued (durable, so it
//! survives a restart), the profile and its search entries go (every read then treats the
//! account as gone, and no follow, like or comment can reach it any more), the username
//! claim loses its password hash (nobody can sign in) and every session ends. The job then
//! removes every other trace, each step idempotent, so a job that died half way simply runs
//! again; the username claim goes last, which frees the name.

use std::time::Duration;

use roost_engines::{Cond, EngineError, Item, Key, TxOp, Update, WriteOp};

use crate::error::{ServiceError, ServiceResult};
use crate::jobs::Job;
use crate::model::{Caller, Profile, StoredPost};
use crate::walk::Source;
use crate::{keys, time, users, Service};

/// How long after the close the job starts: requests authenticated just before it may
/// still be writing, and DynamoDB's indexes (which the steps query) are eventually
/// consistent, typically within a second.
const SETTLE: Duration = Duration::from_secs(2);
/// Popular-index buckets an account may be filed under (bit lengths of an `i64` count).
const POPULAR_BUCKETS: u32 = 64;

/// The profile as far as the job still needs it (its search entries).
fn bare_profile(uid: &str, username: &str, display_name: &str) -> Profile {
    Profile {
        id: uid.to_string(),
        username: username.to_string(),
        display_name: display_name.to_string(),
        bio: String::new(),
        avatar_url: None,
        followers_count: 0,
        following_count: 0,
        posts_count: 0,
        created_at: String::new(),
        role: String::new(),
        suspended: false,
        sessions_after: None,
    }
}

/// Whether a transaction failed on a condition (the state it wanted to leave is gone).
fn cancelled(result: Result<(), EngineError>) -> ServiceResult<bool> {
    match result {
        Ok(()) => Ok(false),
        Err(EngineError::TransactionCanceled { .. }) => Ok(true),
        Err(err) => Err(err.into()),
    }
}

impl Service {
    /// `DELETE /api/me`: the account is closed at once, erased in the background.
    pub async fn request_erasure(&self, caller: &Caller) -> ServiceResult<()> {
        let item = self.store.get(&keys::user(&caller.user_id)).await?.ok_or(ServiceError::Unauthorized)?;
        let profile: Profile = item.attrs_as()?;
        // The erasure's job commits with the close (see `outbox`): once the request is
        // answered, the erasure will happen.
        let job = Job::EraseAccount {
            user_id: profile.id.clone(),
            username: profile.username.clone(),
            display_name: profile.display_name.clone(),
            closed_at_ms: time::now_millis(),
        };
        let (op, job) = self.outbox(job)?;
        self.close_account(&profile, Some(op)).await?;
        self.hand_over(job).await;
        Ok(())
    }

    /// What holds from the request on: no profile, no password, no session. `outboxed`:
    /// the erasure's outbox item, written with the close (none when the job closes again).
    async fn close_account(&self, profile: &Profile, outboxed: Option<TxOp>) -> ServiceResult<()> {
        let uid = profile.id.as_str();
        let mut ops = vec![TxOp::Delete { key: keys::user(uid), cond: Cond::None }];
        ops.extend(
            users::search_entries(profile).iter().map(|i| TxOp::Delete { key: i.key(), cond: Cond::None }),
        );
        ops.extend(outboxed);
        self.store.transact_write(ops).await?;
        // The claim itself stays until the rest is gone: the name is not free before that.
        let claim = keys::username_claim(&profile.username);
        let owner = Cond::Equals("uid".into(), uid.into());
        match self.store.update(&claim, Update::new().remove("password_hash"), owner).await {
            Ok(_) | Err(EngineError::ConditionFailed) => {}
            Err(err) => return Err(err.into()),
        }
        self.forget_profiles(&[uid]).await;
        self.cache_del(&[self.ck.username(&profile.username)]).await;
        self.revoke_sessions(uid, None).await
    }

    /// The erasure job.
    pub(crate) async fn erase_account(
        &self,
        uid: &str,
        username: &str,
        display_name: &str,
        closed_at_ms: u64,
    ) -> ServiceResult<()> {
        // Let writes that began before the close land, and reach the indexes the steps read.
        let settled = closed_at_ms + SETTLE.as_millis() as u64;
        let now = time::now_millis();
        if settled > now {
            tokio::time::sleep(Duration::from_millis(settled - now)).await;
        }
        self.close_account(&bare_profile(uid, username, display_name), None).await?;
        // Posts first: taking them out of followers' feeds walks the follower edges.
        self.erase_posts(uid).await?;
        self.erase_likes(uid).await?;
        self.erase_comments(uid).await?;
        self.erase_follows(uid).await?;
        self.erase_relations(uid).await?;
        self.erase_notifications(uid).await?;
        self.each_page(Source::partition(keys::feed_pk(uid)), |s, items| s.delete_items(items)).await?;
        self.each_page(Source::gsi1(keys::owner_gsi(uid)), |s, items| async move {
            s.delete_media(&items.iter().filter_map(|i| i.str("id").map(str::to_string)).collect::<Vec<_>>())
                .await
        })
        .await?;
        let mut leftovers: Vec<WriteOp> =
            (1..=POPULAR_BUCKETS).map(|b| WriteOp::Delete(keys::popular(b, uid))).collect();
        leftovers.push(WriteOp::Delete(keys::celebrity(uid)));
        self.store.batch_write(leftovers).await?;
        self.each_page(Source::partition(keys::user_pk(uid)), |s, items| s.delete_items(items)).await?;
        // Last: the name is free again.
        let owner = Cond::Equals("uid".into(), uid.into());
        match self.store.delete(&keys::username_claim(username), owner).await {
            Ok(_) | Err(EngineError::ConditionFailed) => {}
            Err(err) => return Err(err.into()),
        }
        // A sign-in that read the claim just before it lost its password may have opened one.
        self.revoke_sessions(uid, None).await?;
        self.forget_account_caches(uid, username).await;
        Ok(())
    }

    async fn delete_items(self, items: Vec<Item>) -> ServiceResult<()> {
        Ok(self.store.batch_write(items.iter().map(|i| WriteOp::Delete(i.key())).collect()).await?)
    }

    /// Each post goes as a delete does (feeds, search, what is filed under it, images),
    /// without touching the profile's counter (the profile is gone).
    async fn erase_posts(&self, uid: &str) -> ServiceResult<()> {
        self.each_page(Source::gsi1(keys::author_gsi(uid)), |s, items| async move {
            for item in items {
                let post: StoredPost = item.attrs_as()?;
                s.remove_post(&post, false, None).await?;
                s.retract(&post.id, &post.author_id).await?;
                s.delete_media(&post.media.iter().map(|m| m.id.clone()).collect::<Vec<_>>()).await?;
            }
            Ok(())
        })
        .await
    }

    /// Each like goes with one off its post's `like_count` (in one transaction, so the
    /// count drops once however often this runs).
    async fn erase_likes(&self, uid: &str) -> ServiceResult<()> {
        self.each_page(Source::gsi1(keys::liker_gsi(uid)), |s, items| async move {
            for like in items {
                let pid = like.pk.trim_start_matches("POST#").to_string();
                let ops = vec![
                    TxOp::Delete { key: like.key(), cond: Cond::Exists },
                    TxOp::Update {
                        key: keys::post(&pid),
                        update: Update::new().add("like_count", -1),
                        cond: Cond::Exists,
                    },
                ];
                if cancelled(s.store.transact_write(ops).await)? {
                    s.store.delete(&like.key(), Cond::None).await?;
                }
                s.cache.srem(&s.ck.likes(&pid), &[uid.to_string()]).await?;
                s.cache_del(&[s.ck.post(&pid)]).await;
            }
            Ok(())
        })
        .await
    }

    /// Each comment on another's post goes, thread item and lookup item, with one off the
    /// post's `comment_count` unless it was deleted before (which counted it already).
    /// Replies by others stay in the thread, under the comment's place.
    async fn erase_comments(&self, uid: &str) -> ServiceResult<()> {
        self.each_page(Source::gsi1(keys::commenter_gsi(uid)), |s, items| async move {
            for lookup in items {
                let (pid, path) =
                    (lookup.str("post_id").unwrap_or_default(), lookup.str("path").unwrap_or_default());
                let in_thread = keys::comment_in_thread(pid, path);
                let ops = vec![
                    TxOp::Delete {
                        key: in_thread.clone(),
                        cond: Cond::Equals("deleted".into(), false.into()),
                    },
                    TxOp::Delete { key: lookup.key(), cond: Cond::None },
                    TxOp::Update {
                        key: keys::post(pid),
                        update: Update::new().add("comment_count", -1),
                        cond: Cond::Exists,
                    },
                ];
                if cancelled(s.store.transact_write(ops).await)? {
                    s.store
                        .batch_write(vec![WriteOp::Delete(in_thread), WriteOp::Delete(lookup.key())])
                        .await?;
                }
                s.cache_del(&[s.ck.post(pid)]).await;
            }
            Ok(())
        })
        .await
    }

    /// Both sides of every follow edge go, with one off the other account's counter.
    async fn erase_follows(&self, uid: &str) -> ServiceResult<()> {
        let user_pk = keys::user_pk(uid);
        self.each_page(Source::prefix(user_pk.clone(), "FOLLOWING#"), |s, items| async move {
            for edge in items {
                let other = edge.str("uid").unwrap_or_default();
                s.drop_edge(edge.key(), keys::follower_edge(other, uid), other, "followers_count").await?;
                let count = s.store.get(&keys::user(other)).await?.and_then(|p| p.int("followers_count"));
                s.note_follower_count(other, count.unwrap_or(0)).await;
            }
            Ok(())
        })
        .await?;
        self.each_page(Source::prefix(user_pk, "FOLLOWER#"), |s, items| async move {
            for edge in items {
                let other = edge.str("uid").unwrap_or_default();
                s.drop_edge(edge.key(), keys::following_edge(other, uid), other, "following_count").await?;
            }
            Ok(())
        })
        .await
    }

    /// Blocks and mutes, either way: the other account's edge of each (ours go with our
    /// partition).
    async fn erase_relations(&self, uid: &str) -> ServiceResult<()> {
        let pairs = [
            (keys::BLOCKS, keys::BLOCKED_BY),
            (keys::BLOCKED_BY, keys::BLOCKS),
            (keys::MUTES, keys::MUTED_BY),
            (keys::MUTED_BY, keys::MUTES),
        ];
        for (ours, theirs) in pairs {
            self.each_page(Source::prefix(keys::user_pk(uid), &format!("{ours}#")), |s, items| async move {
                let edges = items
                    .iter()
                    .filter_map(|edge| edge.str("uid"))
                    .map(|other| WriteOp::Delete(keys::relation_edge(theirs, other, uid)))
                    .collect();
                Ok(s.store.batch_write(edges).await?)
            })
            .await?;
        }
        Ok(())
    }

    /// One follow: the other account's edge and counter in one transaction, then ours.
    async fn drop_edge(&self, ours: Key, theirs: Key, other: &str, counter: &str) -> ServiceResult<()> {
        let ops = vec![
            TxOp::Delete { key: theirs.clone(), cond: Cond::Exists },
            TxOp::Update {
                key: keys::user(other),
                update: Update::new().add(counter, -1),
                cond: Cond::Exists,
            },
        ];
        if cancelled(self.store.transact_write(ops).await)? {
            self.store.delete(&theirs, Cond::None).await?;
        }
        self.store.delete(&ours, Cond::None).await?;
        self.forget_profiles(&[other]).await;
        Ok(())
    }

    /// The user's notifications, dedupe items and read marker, and what they caused in
    /// others' partitions (found through gsi1 `ACTOR#uid`).
    async fn erase_notifications(&self, uid: &str) -> ServiceResult<()> {
        for pk in [
            keys::notifications_pk(uid),
            keys::notification_once(uid, "").pk,
            keys::notifications_read(uid).pk,
        ] {
            self.each_page(Source::partition(pk), |s, items| s.delete_items(items)).await?;
        }
        self.each_page(Source::gsi1(keys::actor_gsi(uid)), |s, items| s.delete_items(items)).await
    }

    /// The account's own cache entries (others' entries only ever hold ids that the reads
    /// skip once the profile is gone, and expire).
    async fn forget_account_caches(&self, uid: &str, username: &str) {
        let ck = &self.ck;
        self.cache_del(&[
            ck.username(username),
            ck.user(uid),
            ck.user_epoch(uid),
            ck.feed(uid),
            ck.recent_posts(uid),
            ck.suggestions(uid),
            ck.celebrities(),
        ])
        .await;
        for key in [ck.presence_online(), ck.presence_last_seen()] {
            if let Err(err) = self.cache.zrem(&key, &[uid.to_string()]).await {
                tracing::warn!(%err, key, "presence not forgotten");
            }
        }
    }
}
