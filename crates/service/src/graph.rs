//! The social graph: follow and unfollow (each one store transaction: both edges and both
//! counters, conditioned on the edge, so counters never drift), and the follower/following
//! lists, newest first, from the overloaded gsi1.

use roost_engines::{
    CancelReason, Cond, EngineError, Index, Item, KeyCondition, Page, QueryPage, TxOp, Update,
};

use crate::analytics::Activity;
use crate::cursor::PageRequest;
use crate::error::{ServiceError, ServiceResult};
use crate::jobs::Job;
use crate::limits::Limit;
use crate::model::{Caller, FollowState, NotificationKind, Paged, User};
use crate::notifications::NewNotification;
use crate::{crash_point, ids, keys, Service};

/// Which side of the graph a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The users who follow the user.
    Followers,
    /// The users the user follows.
    Following,
}

impl Service {
    /// Makes the caller follow `target` (an id or a username); following twice is harmless.
    pub async fn follow(&self, caller: &Caller, target: &str) -> ServiceResult<FollowState> {
        self.limit(Limit::Follows, &caller.user_id).await?;
        let target = self.resolve_user(target).await?;
        let me = caller.user_id.as_str();
        if target.id == me {
            return Err(ServiceError::validation("id", "you cannot follow yourself"));
        }
        // The edge's gsi1 sort key starts with a fresh id, so lists come out newest first
        // and two follows never tie.
        let since = ids::new_id();
        let follower = keys::follower_edge(&target.id, me);
        let following = keys::following_edge(me, &target.id);
        // No block either way: checked in the transaction, so that a follow racing a block
        // either lands before it (and the block removes it) or fails.
        let unblocked = |uid: &str, other: &str| TxOp::Check {
            key: keys::relation_edge(keys::BLOCKS, uid, other),
            cond: Cond::NotExists,
        };
        let mut ops = vec![
            unblocked(&target.id, me),
            unblocked(me, &target.id),
            TxOp::Put {
                item: Item::new(follower.pk, follower.sk)
                    .with_gsi1(keys::followers_gsi(&target.id), format!("{since}#{me}"))
                    .with("uid", me),
                cond: Cond::NotExists,
            },
            TxOp::Put {
                item: Item::new(following.pk, following.sk)
                    .with_gsi1(keys::following_gsi(me), format!("{since}#{}", target.id))
                    .with("uid", target.id.as_str()),
                cond: Cond::NotExists,
            },
            TxOp::Update {
                key: keys::user(&target.id),
                update: Update::new().add("followers_count", 1),
                cond: Cond::Exists,
            },
            TxOp::Update {
                key: keys::user(me),
                update: Update::new().add("following_count", 1),
                cond: Cond::Exists,
            },
        ];
        // The backfill is owed once the follow commits (see `outbox`); the request does it.
        let (owed, backfill) =
            self.outbox(Job::Backfill { follower_id: me.to_string(), followee_id: target.id.clone() })?;
        ops.push(owed);
        match self.store.transact_write(ops).await {
            Ok(()) => {
                crash_point::after_commit("follow");
                self.count_activity(Activity::Follow);
                self.forget_profiles(&[me, &target.id]).await;
                let note = NewNotification::new(NotificationKind::Follow, me).once(format!("follow#{me}"));
                self.notify(&target.id, note).await;
                match self.after_follow(me, &target.id).await {
                    Ok(()) => self.done_inline(backfill).await,
                    // Followed all the same: the relay queues the backfill from the outbox.
                    Err(err) => {
                        tracing::warn!(%err, "backfilling a new follower's feed failed; queued for the workers")
                    }
                }
            }
            Err(EngineError::TransactionCanceled { reasons }) => match failed_at(&reasons) {
                Some(0 | 1) => return Err(ServiceError::Forbidden("a block stands between you".into())),
                // Already following: nothing to write, but the cache and feed sides are done
                // again, so a follow whose process died between its commit and them (the
                // client saw no answer) is completed by the client's retry; a shared cache
                // would otherwise keep the old counts.
                Some(2 | 3) => {
                    self.forget_profiles(&[me, &target.id]).await;
                    self.after_follow(me, &target.id).await?
                }
                Some(4) => return Err(ServiceError::NotFound("user")),
                _ => return Err(ServiceError::Unauthorized),
            },
            Err(err) => return Err(err.into()),
        }
        self.follow_state(true, &target.id).await
    }

    /// Makes the caller stop following `target` (an id or a username); harmless when not following.
    pub async fn unfollow(&self, caller: &Caller, target: &str) -> ServiceResult<FollowState> {
        self.limit(Limit::Follows, &caller.user_id).await?;
        let target = self.resolve_user(target).await?;
        if target.id == caller.user_id {
            // The transaction would touch the profile twice, which no store allows.
            return Err(ServiceError::validation("id", "you cannot unfollow yourself"));
        }
        self.remove_follow(&caller.user_id, &target.id).await?;
        self.follow_state(false, &target.id).await
    }

    /// Removes the follow `follower -> followee`, if there is one: both edges and both
    /// counters in one transaction, then the followee's posts leave the follower's feed.
    pub(crate) async fn remove_follow(&self, follower: &str, followee: &str) -> ServiceResult<()> {
        let ops = vec![
            TxOp::Delete { key: keys::follower_edge(followee, follower), cond: Cond::Exists },
            TxOp::Delete { key: keys::following_edge(follower, followee), cond: Cond::Exists },
            TxOp::Update {
                key: keys::user(followee),
                update: Update::new().add("followers_count", -1),
                cond: Cond::Exists,
            },
            TxOp::Update {
                key: keys::user(follower),
                update: Update::new().add("following_count", -1),
                cond: Cond::Exists,
            },
        ];
        match self.store.transact_write(ops).await {
            Ok(()) => {
                crash_point::after_commit("unfollow");
                self.forget_profiles(&[follower, followee]).await;
                self.after_unfollow(follower, followee).await
            }
            // Not following: nothing to write, but the profiles are forgotten and the
            // followee's posts leave the feed again, so an unfollow whose process died after
            // its commit is completed by a retry.
            Err(EngineError::TransactionCanceled { reasons })
                if matches!(failed_at(&reasons), Some(0 | 1)) =>
            {
                self.forget_profiles(&[follower, followee]).await;
                self.after_unfollow(follower, followee).await
            }
            // The other account is gone: nothing to undo.
            Err(EngineError::TransactionCanceled { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    pub(crate) async fn follow_state(&self, following: bool, target: &str) -> ServiceResult<FollowState> {
        // A consistent read of the counter the transaction just moved, not a cached copy.
        let item = self.store.get(&keys::user(target)).await?.ok_or(ServiceError::NotFound("user"))?;
        let followers_count = item.int("followers_count").unwrap_or(0).max(0);
        self.note_follower_count(target, followers_count).await;
        Ok(FollowState { following, followers_count })
    }

    /// Followers or followings of a user, newest first.
    pub async fn connections(
        &self,
        caller: Option<&Caller>,
        user: &str,
        direction: Direction,
        page: &PageRequest,
    ) -> ServiceResult<Paged<User>> {
        let owner = self.resolve_user(user).await?;
        let gsi_pk = match direction {
            Direction::Followers => keys::followers_gsi(&owner.id),
            Direction::Following => keys::following_gsi(&owner.id),
        };
        self.users_on_gsi1(caller, gsi_pk, page).await
    }

    /// A page of the users listed (attribute `uid`) under a gsi1 partition of edges, in the
    /// index's order backward: newest first.
    pub(crate) async fn users_on_gsi1(
        &self,
        caller: Option<&Caller>,
        gsi_pk: String,
        page: &PageRequest,
    ) -> ServiceResult<Paged<User>> {
        let request = Page::backward(page.limit()?).after(self.cursors.decode_start(page.cursor.as_deref())?);
        let QueryPage { items, last_key } =
            self.store.query(Index::Gsi1, KeyCondition::pk(gsi_pk), request).await?;
        let uids: Vec<String> = items.iter().filter_map(|i| i.str("uid").map(str::to_string)).collect();
        let profiles = self.profiles(&uids).await?;
        // An account erased a moment ago may still have edges: leave it out.
        let ordered = uids.iter().filter_map(|u| profiles.get(u).cloned()).collect();
        Ok(Paged {
            items: self.present_users(caller, ordered).await?,
            next_cursor: last_key.as_ref().map(|position| self.cursors.encode(position)),
        })
    }

    /// Whether `follower` follows `followee` (a consistent read of the edge).
    pub async fn is_following(&self, follower: &str, followee: &str) -> ServiceResult<bool> {
        Ok(self.store.get(&keys::following_edge(follower, followee)).await?.is_some())
    }

    /// A follow brings the followee's recent posts into the feed (the counts decide
    /// whether the followee is now too big to fan out, so they are read fresh).
    async fn after_follow(&self, follower: &str, followee: &str) -> ServiceResult<()> {
        let Some(item) = self.store.get(&keys::user(followee)).await? else { return Ok(()) };
        self.backfill(follower, &item.attrs_as()?).await
    }

    /// The backfill's job (see `after_follow`), if the follow still stands.
    pub(crate) async fn backfill_job(&self, follower: &str, followee: &str) -> ServiceResult<()> {
        if self.store.get(&keys::following_edge(follower, followee)).await?.is_none() {
            return Ok(());
        }
        self.after_follow(follower, followee).await
    }

    /// An unfollow takes the followee's posts out of the feed.
    async fn after_unfollow(&self, follower: &str, followee: &str) -> ServiceResult<()> {
        self.unfill(follower, followee).await
    }
}

/// The index of the first operation a cancelled transaction names.
fn failed_at(reasons: &[Option<CancelReason>]) -> Option<usize> {
    reasons.iter().position(Option::is_some)
}
