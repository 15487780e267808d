//! Automated screening: a post or comment whose text contains a word of `screening_words`
//! is held for review instead of published, with an automatic report for the moderators.
//!
//! Held content is filed beside where it will live, under a sort key nothing else reads
//! (`POST#pid / HELD`, `COMMENT#cid / HELD`), and written in one transaction with its
//! report. Nothing that lists posts or comments can find it (no index keys, no thread
//! item, no counter moved, no fan-out), so it is visible only where it is looked up on
//! purpose: by id for its author and moderators, and in the reports. Dismissing the report
//! publishes it through the ordinary create path (in the same transaction that deletes the
//! held item, so it happens once); removing it deletes the held item.

use roost_engines::{Cond, EngineError, Item, TxOp};
use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::model::{Caller, ReportTargetType, StoredComment, StoredPost};
use crate::moderation::automatic_report;
use crate::{ids, keys, media, Service};

/// A comment held for review, with the thread path it will be filed at.
#[derive(Serialize, Deserialize)]
struct HeldComment {
    comment: StoredComment,
    path: String,
}

/// The first word of `text` on the comma-separated `list` (whole words, any case).
fn first_match(list: &str, text: &str) -> Option<String> {
    let listed: Vec<String> =
        list.split(',').map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty()).collect();
    if listed.is_empty() {
        return None;
    }
    text.split(|c: char| !c.is_alphanumeric()).map(str::to_lowercase).find(|w| listed.contains(w))
}

impl Service {
    /// The screening word `text` contains, if any.
    pub(crate) fn screened_word(&self, text: &str) -> Option<String> {
        first_match(&self.config.screening_words, text)
    }

    pub(crate) async fn hold_post(&self, post: &StoredPost, word: &str) -> ServiceResult<()> {
        let key = keys::held_post(&post.id);
        let held = TxOp::Put { item: Item::new(key.pk, key.sk).with_attrs(post), cond: Cond::NotExists };
        let report = automatic_report(ReportTargetType::Post, &post.id, &post.author_id, word);
        // Its images are attached now, so that the sweep of unattached uploads leaves them
        // to the moderator's decision.
        let media_ids: Vec<String> = post.media.iter().map(|m| m.id.clone()).collect();
        let mut ops = vec![held, report];
        ops.extend(media::attach_ops(&media_ids));
        self.store.transact_write(ops).await.map_err(|err| match err {
            EngineError::TransactionCanceled { reasons } if reasons.iter().skip(2).any(Option::is_some) => {
                media::already_attached("media_ids")
            }
            other => other.into(),
        })
    }

    pub(crate) async fn held_post(&self, pid: &str) -> ServiceResult<Option<StoredPost>> {
        if !ids::looks_like_id(pid) {
            return Ok(None);
        }
        let item = self.store.get(&keys::held_post(pid)).await?;
        Ok(item.map(|i| i.attrs_as()).transpose()?)
    }

    /// A held post, if the caller may see it: its author or a moderator.
    pub(crate) async fn held_post_for(
        &self,
        caller: Option<&Caller>,
        pid: &str,
    ) -> ServiceResult<Option<StoredPost>> {
        let Some(caller) = caller else { return Ok(None) };
        let Some(post) = self.held_post(pid).await? else { return Ok(None) };
        let may_see = post.author_id == caller.user_id || self.is_moderator(caller).await?;
        Ok(may_see.then_some(post))
    }

    /// Publishes a held post (nothing if it is not held).
    pub(crate) async fn publish_held_post(&self, pid: &str) -> ServiceResult<()> {
        let Some(post) = self.held_post(pid).await? else { return Ok(()) };
        let Some(author) = self.profile(&post.author_id).await? else {
            return self.discard_held(ReportTargetType::Post, pid).await;
        };
        let release = TxOp::Delete { key: keys::held_post(pid), cond: Cond::Exists };
        // Cancelled: released meanwhile by another moderator.
        match self.commit_post(&author, &post, false, vec![release], ServiceError::NotFound("post")).await {
            Ok(()) | Err(ServiceError::NotFound(_)) => Ok(()),
            Err(err) => Err(err),
        }
    }

    pub(crate) async fn hold_comment(
        &self,
        comment: &StoredComment,
        path: &str,
        word: &str,
    ) -> ServiceResult<()> {
        let key = keys::held_comment(&comment.id);
        let held = HeldComment { comment: comment.clone(), path: path.to_string() };
        let held = TxOp::Put { item: Item::new(key.pk, key.sk).with_attrs(&held), cond: Cond::NotExists };
        let report = automatic_report(ReportTargetType::Comment, &comment.id, &comment.author_id, word);
        Ok(self.store.transact_write(vec![held, report]).await?)
    }

    async fn held_comment_item(&self, cid: &str) -> ServiceResult<Option<HeldComment>> {
        if !ids::looks_like_id(cid) {
            return Ok(None);
        }
        let item = self.store.get(&keys::held_comment(cid)).await?;
        Ok(item.map(|i| i.attrs_as()).transpose()?)
    }

    pub(crate) async fn held_comment(&self, cid: &str) -> ServiceResult<Option<StoredComment>> {
        Ok(self.held_comment_item(cid).await?.map(|h| h.comment))
    }

    /// A held comment, if the caller may see it: its author or a moderator.
    pub(crate) async fn held_comment_for(
        &self,
        caller: &Caller,
        cid: &str,
    ) -> ServiceResult<Option<StoredComment>> {
        let Some(comment) = self.held_comment(cid).await? else { return Ok(None) };
        let may_see = comment.author_id == caller.user_id || self.is_moderator(caller).await?;
        Ok(may_see.then_some(comment))
    }

    /// Publishes a held comment (nothing if it is not held); if its post or parent went
    /// meanwhile, it goes too.
    pub(crate) async fn publish_held_comment(&self, cid: &str) -> ServiceResult<()> {
        let Some(HeldComment { comment, path }) = self.held_comment_item(cid).await? else { return Ok(()) };
        let post = self.load_post(&comment.post_id).await?;
        let parent = match &comment.parent_id {
            Some(parent_id) => self.comment_ref(parent_id).await?,
            None => None,
        };
        let Some(post) = post.filter(|_| comment.parent_id.is_none() || parent.is_some()) else {
            return self.discard_held(ReportTargetType::Comment, cid).await;
        };
        let release = TxOp::Delete { key: keys::held_comment(cid), cond: Cond::Exists };
        match self.commit_comment(&comment, &path, &post.author_id, parent.as_ref(), vec![release]).await {
            Ok(()) => Ok(()),
            // Released meanwhile, or the thread went: either way nothing is left to publish.
            Err(ServiceError::NotFound(_)) => self.discard_held(ReportTargetType::Comment, cid).await,
            Err(err) => Err(err),
        }
    }

    /// Deletes held content, if there is any.
    pub(crate) async fn discard_held(&self, target_type: ReportTargetType, id: &str) -> ServiceResult<()> {
        let key = match target_type {
            // A held post's images were attached when it was held: they go with it.
            ReportTargetType::Post => {
                if let Some(post) = self.held_post(id).await? {
                    let mids: Vec<String> = post.media.iter().map(|m| m.id.clone()).collect();
                    self.delete_media(&mids).await?;
                }
                keys::held_post(id)
            }
            ReportTargetType::Comment => keys::held_comment(id),
            ReportTargetType::User => return Ok(()),
        };
        self.store.delete(&key, Cond::None).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::first_match;

    #[test]
    fn whole_words_in_any_case() {
        let list = " spam , Scam,,";
        assert_eq!(first_match(list, "Buy SPAM now"), Some("spam".into()));
        assert_eq!(first_match(list, "a scam!"), Some("scam".into()));
        assert_eq!(first_match(list, "spammer and scampi"), None);
        assert_eq!(first_match("", "spam"), None);
    }
}
