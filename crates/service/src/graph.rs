//! The social graph: follow and unfollow (each one store transaction: both edges and both
//! counters, conditioned on the edge, so counters never drift), and the follower/following
//! lists, newest first, from the overloaded gsi1.

use roost_engines::{
    CancelReason, Cond, EngineError, Index, Item, KeyCondition, Page, QueryPage, TxOp, Update,
};

use crate::cursor::PageRequest;
use crate::error::{ServiceError, ServiceResult};
use crate::limits::Limit;
use crate::model::{Caller, FollowState, NotificationKind, Paged, User};
use crate::notifications::NewNotification;
use crate::{ids, keys, Service};

/// Which side of the graph a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Followers,
    Following,
}

impl Service {
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
        let ops = vec![
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
        match self.store.transact_write(ops).await {
            Ok(()) => {
                self.forget_profiles(&[me, &target.id]).await;
                let note = NewNotification::new(NotificationKind::Follow, me).once(format!("follow#{me}"));
                self.notify(&target.id, note).await;
                self.after_follow(me, &target.id).await?;
            }
            Err(EngineError::TransactionCanceled { reasons }) => match failed_at(&reasons) {
                // Already following: following again is a no-op.
                Some(0 | 1) => {}
                Some(2) => return Err(ServiceError::NotFound("user")),
                _ => return Err(ServiceError::Unauthorized),
            },
            Err(err) => return Err(err.into()),
        }
        self.follow_state(true, &target.id).await
    }

    pub async fn unfollow(&self, caller: &Caller, target: &str) -> ServiceResult<FollowState> {
        self.limit(Limit::Follows, &caller.user_id).await?;
        let target = self.resolve_user(target).await?;
        let me = caller.user_id.as_str();
        if target.id == me {
            // The transaction below would touch the profile twice, which no store allows.
            return Err(ServiceError::validation("id", "you cannot unfollow yourself"));
        }
        let ops = vec![
            TxOp::Delete { key: keys::follower_edge(&target.id, me), cond: Cond::Exists },
            TxOp::Delete { key: keys::following_edge(me, &target.id), cond: Cond::Exists },
            TxOp::Update {
                key: keys::user(&target.id),
                update: Update::new().add("followers_count", -1),
                cond: Cond::Exists,
            },
            TxOp::Update {
                key: keys::user(me),
                update: Update::new().add("following_count", -1),
                cond: Cond::Exists,
            },
        ];
        match self.store.transact_write(ops).await {
            Ok(()) => {
                self.forget_profiles(&[me, &target.id]).await;
                self.after_unfollow(me, &target.id).await?;
            }
            // Not following (or the other account is gone): unfollowing again is a no-op.
            Err(EngineError::TransactionCanceled { .. }) => {}
            Err(err) => return Err(err.into()),
        }
        self.follow_state(false, &target.id).await
    }

    async fn follow_state(&self, following: bool, target: &str) -> ServiceResult<FollowState> {
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

    /// An unfollow takes the followee's posts out of the feed.
    async fn after_unfollow(&self, follower: &str, followee: &str) -> ServiceResult<()> {
        self.unfill(follower, followee).await
    }
}

/// The index of the first operation a cancelled transaction names.
fn failed_at(reasons: &[Option<CancelReason>]) -> Option<usize> {
    reasons.iter().position(Option::is_some)
}
