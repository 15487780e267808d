//! Notifications: follow, like, comment, reply and mention, kept in the store (one partition
//! per recipient, sorted by notification id, so newest first is a backward query) for 90
//! days. Each is written after the write that caused it has committed, by [`Service::notify`];
//! a failure to notify is logged and never fails that write.
//!
//! Once-only notifications (a like, a follow) carry a dedupe item put with the notification
//! in one transaction, conditioned on its absence: like, unlike, like again notifies once.
//! Read state is one marker item per user: a notification is read when its id is at or
//! below the marker, so marking read is one write whatever the number of notifications.

use roost_engines::{Cond, EngineError, Index, Item, KeyCondition, Page, SkCond, TxOp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::normalize_username;
use crate::blocks::Hidden;
use crate::cursor::PageRequest;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{Caller, Notification, NotificationKind, Paged};
use crate::{ids, keys, time, Service};

/// Notifications (and their dedupe items) leave the store after this.
const KEEP_SECS: i64 = 90 * 24 * 3600;
/// The unread count stops here (`GET /api/me` shows "100+" rather than counting on).
pub const MAX_UNREAD: usize = 100;
/// At most this many users are notified of one text's mentions.
pub const MAX_MENTIONS: usize = 10;

/// The usernames `@mentioned` in a text: lower-cased, each once, in order of appearance, at
/// most [`MAX_MENTIONS`]. A mention starts at an `@` that does not follow a letter, digit or
/// `_` (so `a@b.example` is not one) and is the whole run of such characters after it,
/// which must be a valid username (`@bob,` names bob; `@bobé` names nobody).
pub fn mentions(text: &str) -> Vec<String> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let chars: Vec<char> = text.chars().collect();
    let mut found: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() && found.len() < MAX_MENTIONS {
        if chars[i] != '@' || (i > 0 && is_word(chars[i - 1])) {
            i += 1;
            continue;
        }
        let end = (i + 1..chars.len()).find(|&j| !is_word(chars[j])).unwrap_or(chars.len());
        let run: String = chars[i + 1..end].iter().collect();
        if let Ok(name) = normalize_username(&run) {
            if !found.contains(&name) {
                found.push(name);
            }
        }
        i = end.max(i + 1);
    }
    found
}

/// A notification about to be sent: what happened, who did it, to what.
#[derive(Clone, Debug)]
pub(crate) struct NewNotification {
    kind: NotificationKind,
    actor_id: String,
    post_id: Option<String>,
    comment_id: Option<String>,
    /// Sent at most once per recipient and this key (see the module doc).
    once: Option<String>,
}

impl NewNotification {
    pub(crate) fn new(kind: NotificationKind, actor_id: &str) -> Self {
        NewNotification { kind, actor_id: actor_id.to_string(), post_id: None, comment_id: None, once: None }
    }
    pub(crate) fn post(mut self, pid: &str) -> Self {
        self.post_id = Some(pid.to_string());
        self
    }
    pub(crate) fn comment(mut self, cid: &str) -> Self {
        self.comment_id = Some(cid.to_string());
        self
    }
    pub(crate) fn once(mut self, key: String) -> Self {
        self.once = Some(key);
        self
    }
}

/// A notification's item attributes (its id is the sort key).
#[derive(Serialize, Deserialize)]
struct StoredNotification {
    kind: NotificationKind,
    actor_id: String,
    post_id: Option<String>,
    comment_id: Option<String>,
}

/// `POST /api/notifications/read`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct MarkRead {
    /// The newest notification id read (usually the first of the list).
    pub up_to_id: Option<String>,
}

impl Service {
    /// Sends `note` to `recipient` (nobody is notified of their own doing). Never fails:
    /// the write that caused it has committed already.
    pub(crate) async fn notify(&self, recipient: &str, note: NewNotification) {
        if recipient == note.actor_id {
            return;
        }
        // Nothing passes a block, and a mute silences: the notification is never made.
        let hidden = match self.hidden(recipient).await {
            Ok(hidden) if hidden.hides(&note.actor_id) => return,
            Ok(hidden) => hidden,
            Err(err) => return tracing::warn!(%err, recipient, kind = ?note.kind, "notification not stored"),
        };
        let item = match self.store_notification(recipient, &note).await {
            Ok(Some(item)) => item,
            Ok(None) => return,
            Err(err) => return tracing::warn!(%err, recipient, kind = ?note.kind, "notification not stored"),
        };
        match self.present_notifications(std::slice::from_ref(&item), None, &hidden).await {
            Ok(shown) => {
                for notification in shown {
                    self.publish_notification(recipient, &notification).await;
                }
            }
            Err(err) => tracing::warn!(%err, recipient, "notification not delivered live"),
        }
    }

    /// The stored notification's item (`None`: a once-only one sent before).
    async fn store_notification(
        &self,
        recipient: &str,
        note: &NewNotification,
    ) -> ServiceResult<Option<Item>> {
        let expires = time::now_secs() + KEEP_SECS;
        let key = keys::notification(recipient, &ids::new_id());
        let stored = StoredNotification {
            kind: note.kind,
            actor_id: note.actor_id.clone(),
            post_id: note.post_id.clone(),
            comment_id: note.comment_id.clone(),
        };
        // Filed under the actor too (gsi1), so that erasing the actor finds what they caused.
        let actor = keys::actor_gsi(&note.actor_id);
        let item = Item::new(key.pk, key.sk.clone())
            .with_gsi1(actor.clone(), format!("{recipient}#{}", key.sk))
            .with_attrs(&stored)
            .with_ttl(expires);
        let mut ops = vec![
            TxOp::Put { item: item.clone(), cond: Cond::NotExists },
            // Nothing is filed for an account being erased (its erasure may have run already).
            TxOp::Check { key: keys::user(recipient), cond: Cond::Exists },
        ];
        if let Some(what) = &note.once {
            let once = keys::notification_once(recipient, what);
            ops.push(TxOp::Put {
                item: Item::new(once.pk, once.sk)
                    .with_gsi1(actor, format!("{recipient}#{what}"))
                    .with_ttl(expires),
                cond: Cond::NotExists,
            });
        }
        match self.store.transact_write(ops).await {
            Ok(()) => Ok(Some(item)),
            Err(EngineError::TransactionCanceled { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Notifies the existing users `@mentioned` in `text` (but not those in `skip`, who
    /// heard of it already) with `note`.
    pub(crate) async fn notify_mentions(&self, text: &str, note: NewNotification, skip: &[String]) {
        for name in mentions(text) {
            match self.user_id_by_username(&name).await {
                Ok(Some(uid)) if !skip.contains(&uid) => self.notify(&uid, note.clone()).await,
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, name, "mention not resolved"),
            }
        }
    }

    /// Tells a post's author of a new like (the like job calls this once the like is stored).
    pub(crate) async fn notify_like(&self, pid: &str, liker: &str) {
        match self.load_post(pid).await {
            Ok(Some(post)) => {
                let note = NewNotification::new(NotificationKind::Like, liker)
                    .post(pid)
                    .once(format!("like#{liker}#{pid}"));
                self.notify(&post.author_id, note).await;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(%err, pid, "like notification not sent"),
        }
    }

    /// The caller's notifications, newest first. Those about a post deleted since are left
    /// out (a page may then be shorter than `limit`).
    pub async fn notifications(
        &self,
        caller: &Caller,
        page: &PageRequest,
    ) -> ServiceResult<Paged<Notification>> {
        let uid = caller.user_id.as_str();
        let start = self.cursors.decode_start(page.cursor.as_deref())?;
        if start.as_ref().is_some_and(|s| s.pk != keys::notifications_pk(uid)) {
            return Err(ServiceError::BadRequest("invalid cursor".into()));
        }
        let request = Page::backward(page.limit()?).after(start);
        let (result, marker, hidden) = futures::try_join!(
            async {
                Ok(self
                    .store
                    .query(Index::Table, KeyCondition::pk(keys::notifications_pk(uid)), request)
                    .await?)
            },
            self.read_marker(uid),
            self.hidden_of(caller),
        )?;
        let items = self.present_notifications(&result.items, marker.as_deref(), &hidden).await?;
        Ok(Paged {
            items,
            next_cursor: result.last_key.as_ref().map(|position| self.cursors.encode(position)),
        })
    }

    /// Stored notification items as the API shows them; those about a post deleted since,
    /// and those from an account `hidden` (blocked or muted since), are left out.
    async fn present_notifications(
        &self,
        items: &[Item],
        marker: Option<&str>,
        hidden: &Hidden,
    ) -> ServiceResult<Vec<Notification>> {
        let stored = items
            .iter()
            .map(|i| Ok((i.sk.clone(), i.attrs_as::<StoredNotification>()?)))
            .filter(|n| n.as_ref().map_or(true, |(_, n)| !hidden.hides(&n.actor_id)))
            .collect::<ServiceResult<Vec<_>>>()?;
        let actor_ids: Vec<String> = stored.iter().map(|(_, n)| n.actor_id.clone()).collect();
        let mut post_ids: Vec<String> = stored.iter().filter_map(|(_, n)| n.post_id.clone()).collect();
        post_ids.sort_unstable();
        post_ids.dedup();
        let (actors, posts) = futures::try_join!(self.profiles(&actor_ids), self.load_posts(&post_ids))?;
        Ok(stored
            .into_iter()
            .filter(|(_, n)| n.post_id.as_ref().is_none_or(|p| posts.contains_key(p)))
            .filter_map(|(id, n)| {
                let actor = actors.get(&n.actor_id)?.into();
                let millis = ids::millis_of(&id).unwrap_or_default();
                Some(Notification {
                    read: marker.is_some_and(|m| id.as_str() <= m),
                    created_at: time::rfc3339_of_millis(millis),
                    id,
                    kind: n.kind,
                    actor,
                    post_id: n.post_id,
                    comment_id: n.comment_id,
                })
            })
            .collect())
    }

    /// The user's notifications newer than `after`, oldest first, at most `limit` (for a
    /// stream resumed with `Last-Event-ID`).
    pub(crate) async fn notifications_after(
        &self,
        uid: &str,
        after: &str,
        limit: usize,
    ) -> ServiceResult<Vec<Notification>> {
        let cond = KeyCondition::pk(keys::notifications_pk(uid)).with_sk(SkCond::Gt(after.to_string()));
        let (result, hidden) = futures::try_join!(
            async { Ok(self.store.query(Index::Table, cond, Page::forward(limit)).await?) },
            self.hidden(uid),
        )?;
        self.present_notifications(&result.items, None, &hidden).await
    }

    /// Marks every notification up to `up_to_id` read. The marker only moves forward, and
    /// never past the present (a made-up future id would silence what comes next).
    pub async fn mark_notifications_read(&self, caller: &Caller, input: MarkRead) -> ServiceResult<()> {
        let id = input.up_to_id.as_deref().map(str::trim).unwrap_or_default();
        if id.is_empty() {
            return Err(ServiceError::validation("up_to_id", "up_to_id is required"));
        }
        if !ids::looks_like_id(id) {
            return Err(ServiceError::validation("up_to_id", "up_to_id must be a notification id"));
        }
        let now = ids::floor_id(time::now_millis() + 1);
        let up_to = id.min(now.as_str());
        let uid = caller.user_id.as_str();
        let key = keys::notifications_read(uid);
        // Compare-and-set, so that a racing older mark cannot move the marker back.
        loop {
            let current = self.read_marker(uid).await?;
            if current.as_deref().is_some_and(|c| c >= up_to) {
                return Ok(());
            }
            let cond = match current {
                Some(c) => Cond::Equals("up_to_id".into(), c.into()),
                None => Cond::NotExists,
            };
            let item = Item::new(key.pk.clone(), key.sk.clone()).with("up_to_id", up_to);
            match self.store.put(item, cond).await {
                Ok(()) => return Ok(()),
                Err(EngineError::ConditionFailed) => continue,
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// How many notifications are unread, up to [`MAX_UNREAD`]: one read and one query.
    pub(crate) async fn unread_notifications(&self, uid: &str) -> ServiceResult<u32> {
        let mut cond = KeyCondition::pk(keys::notifications_pk(uid));
        if let Some(marker) = self.read_marker(uid).await? {
            cond = cond.with_sk(SkCond::Gt(marker));
        }
        let (result, hidden) = futures::try_join!(
            async { Ok(self.store.query(Index::Table, cond, Page::backward(MAX_UNREAD)).await?) },
            self.hidden(uid),
        )?;
        let shown = result.items.iter().filter(|i| !i.str("actor_id").is_some_and(|a| hidden.hides(a)));
        Ok(shown.count() as u32)
    }

    async fn read_marker(&self, uid: &str) -> ServiceResult<Option<String>> {
        let item = self.store.get(&keys::notifications_read(uid)).await?;
        Ok(item.and_then(|i| i.str("up_to_id").map(str::to_string)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_need_a_word_boundary_before() {
        assert_eq!(mentions("hi @alice and @bob_2"), vec!["alice", "bob_2"]);
        assert_eq!(mentions("@alice at the start"), vec!["alice"]);
        assert!(mentions("mail me at carol@example.com").is_empty());
        assert_eq!(mentions("@@dave"), vec!["dave"]);
    }

    #[test]
    fn punctuation_ends_a_mention() {
        assert_eq!(mentions("(@alice), @bob. @carol's @dave!"), vec!["alice", "bob", "carol", "dave"]);
        assert_eq!(mentions("@erin\n@frank"), vec!["erin", "frank"]);
    }

    #[test]
    fn mentions_are_case_insensitive_and_deduped() {
        assert_eq!(mentions("@Alice @ALICE @alice @bob"), vec!["alice", "bob"]);
    }

    #[test]
    fn only_valid_usernames_are_mentions() {
        // Too short, too long, non-ASCII, reserved, bare `@`.
        let long = "x".repeat(31);
        assert!(mentions(&format!("@ab @{long} @bobé @admin @ @")).is_empty());
    }

    #[test]
    fn mentions_are_capped() {
        let text: String = (0..MAX_MENTIONS + 5).map(|i| format!("@user{i} ")).collect();
        let found = mentions(&text);
        assert_eq!(found.len(), MAX_MENTIONS);
        assert_eq!(found[0], "user0");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::accounts::normalize_username;

        proptest! {
            /// Any text: no panic, and what comes out are distinct valid usernames, each
            /// written `@name` in the text, at most [`MAX_MENTIONS`] of them.
            #[test]
            fn mentions_are_valid_distinct_usernames_from_the_text(text in "([@a-zA-Z0-9_ .é]|.){0,200}") {
                let found = mentions(&text);
                prop_assert!(found.len() <= MAX_MENTIONS);
                let lower = text.to_ascii_lowercase();
                for (i, name) in found.iter().enumerate() {
                    prop_assert_eq!(normalize_username(name).ok(), Some(name.clone()));
                    prop_assert!(lower.contains(&format!("@{name}")), "{} not in {:?}", name, text);
                    prop_assert!(!found[..i].contains(name), "{} twice", name);
                }
            }

            /// A valid username after a space and before punctuation is always found.
            #[test]
            fn a_mention_between_words_is_found(
                before in "[a-z ]{0,20}",
                name in "[a-z][a-z0-9_]{2,29}",
                after in "[ ,.!?)]{1,3}[a-z ]{0,20}",
            ) {
                prop_assume!(normalize_username(&name).is_ok());
                let found = mentions(&format!("{before} @{name}{after}"));
                prop_assert!(found.contains(&name), "{:?}", found);
            }
        }
    }
}
