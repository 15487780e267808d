//! Threaded comments. Each comment is one item in its post's partition, keyed by its path
//! (its ancestors' ids and its own, joined by `/`): ids are fixed-length and time-sortable,
//! so the partition's sort order *is* the thread, depth-first and oldest first, and a page
//! of it is one query whose cursor is the last key. A lookup item per comment (`COMMENT#cid`)
//! finds the path from an id, for replies and deletes.
//!
//! Creating a comment writes both items and the post's `comment_count` in one transaction
//! (conditioned on the post, and on the parent when there is one), so the counter is exact.
//! Deleting one keeps its place in the thread (its replies stay): the text is erased and
//! `deleted` set, with the counter, in one transaction that only a live comment passes.
//! Deleting the post drops the whole thread (`delete_post_children`).

use roost_engines::{CancelReason, Cond, EngineError, Index, Item, KeyCondition, Page, TxOp, Update};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::cursor::PageRequest;
use crate::error::{ServiceError, ServiceResult};
use crate::idempotency::{deleted_since, IdempotencyKey};
use crate::limits::Limit;
use crate::model::NotificationKind;
use crate::model::{Caller, Comment, Paged, StoredComment};
use crate::notifications::NewNotification;
use crate::posts::MAX_TEXT;
use crate::trending::Engagement;
use crate::{ids, keys, time, Service};

/// The most ids a stored path holds: 32 ids of 26 characters and their separators keep the
/// sort key under DynamoDB's 1 KB limit. A reply below that depth is filed under its
/// ancestor at the cap (next to its parent), keeping its real `parent_id`.
pub const MAX_PATH_DEPTH: usize = 32;
/// The deepest `depth` a comment is shown with; deeper replies are shown at this depth.
pub const MAX_DISPLAY_DEPTH: u32 = 8;

/// `POST /api/posts/{id}/comments`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct NewComment {
    /// The comment's text, 1 to 500 characters.
    #[serde(default)]
    #[schema(min_length = 1)]
    pub text: String,
    /// The comment this one replies to (on the same post).
    pub parent_id: Option<String>,
}

/// The path of a new comment `id` whose parent has `parent_path` (`None`: on the post).
fn child_path(parent_path: Option<&str>, id: &str) -> String {
    let mut segments: Vec<&str> = parent_path.map(|p| p.split('/').collect()).unwrap_or_default();
    segments.truncate(MAX_PATH_DEPTH - 1);
    segments.push(id);
    segments.join("/")
}

/// The comment id a thread item's sort key ends with.
pub(crate) fn comment_id_of_sk(sk: &str) -> Option<&str> {
    let path = sk.strip_prefix(keys::COMMENT_PREFIX)?;
    path.rsplit('/').next()
}

fn check_text(raw: &str) -> ServiceResult<String> {
    let text = crate::unicode::nfc(raw.trim());
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_TEXT {
        return Err(ServiceError::validation("text", format!("text must be 1 to {MAX_TEXT} characters")));
    }
    Ok(text)
}

/// The lookup item of a comment: where it is filed, and who wrote it.
pub(crate) struct CommentRef {
    pub(crate) post_id: String,
    pub(crate) path: String,
    pub(crate) author_id: String,
}

impl Service {
    /// Adds a comment by the caller to post `pid`, or a reply to one of its comments.
    pub async fn create_comment(
        &self,
        caller: &Caller,
        pid: &str,
        new: NewComment,
    ) -> ServiceResult<Comment> {
        self.create_comment_once(caller, pid, new, None).await
    }

    /// Comments as `create_comment`, once per idempotency `key`: a retry with the key
    /// answers the comment the first request made (see `idempotency`). A comment held for
    /// review is not covered.
    pub async fn create_comment_once(
        &self,
        caller: &Caller,
        pid: &str,
        new: NewComment,
        key: Option<&IdempotencyKey>,
    ) -> ServiceResult<Comment> {
        if let Some(cid) = self.idempotent_replay(caller, key).await? {
            return self.comment_by_id(&cid).await.map_err(deleted_since);
        }
        self.limit(Limit::Comments, &caller.user_id).await?;
        let text = check_text(&new.text)?;
        let post = self.load_post(pid).await?.ok_or(ServiceError::NotFound("post"))?;
        self.ensure_not_blocked(&caller.user_id, &post.author_id, "comment on this post").await?;
        let parent = match &new.parent_id {
            Some(parent_id) => match self.comment_ref(parent_id).await? {
                Some(parent) if parent.post_id == pid => Some(parent),
                _ => return Err(ServiceError::NotFound("comment")),
            },
            None => None,
        };
        let author = self.profile(&caller.user_id).await?.ok_or(ServiceError::Unauthorized)?;

        let id = ids::new_id();
        let path = child_path(parent.as_ref().map(|p| p.path.as_str()), &id);
        let millis = ids::millis_of(&id).unwrap_or_else(time::now_millis);
        let stored = StoredComment {
            id: id.clone(),
            post_id: pid.to_string(),
            parent_id: new.parent_id.clone(),
            author_id: author.id.clone(),
            text,
            created_at: time::rfc3339_of_millis(millis),
            depth: (path.split('/').count() - 1) as u32,
            deleted: false,
        };
        if let Some(word) = self.screened_word(&stored.text) {
            self.hold_comment(&stored, &path, &word).await?;
            return Ok(Comment { held: true, ..present(stored, (&author).into()) });
        }
        let once = key.map(|k| Self::idempotency_put(caller, k, &id)).into_iter().collect();
        if let Err(err) = self.commit_comment(&stored, &path, &post.author_id, parent.as_ref(), once).await {
            // A concurrent request with the same key committed first: answer its comment.
            return match self.idempotent_replay(caller, key).await? {
                Some(cid) => self.comment_by_id(&cid).await.map_err(deleted_since),
                None => Err(err),
            };
        }
        Ok(present(stored, (&author).into()))
    }

    /// One comment as the API shows it, by id.
    async fn comment_by_id(&self, cid: &str) -> ServiceResult<Comment> {
        let found = self.comment_ref(cid).await?.ok_or(ServiceError::NotFound("comment"))?;
        let item = self
            .store
            .get(&keys::comment_in_thread(&found.post_id, &found.path))
            .await?
            .ok_or(ServiceError::NotFound("comment"))?;
        let author = self.profile(&found.author_id).await?.ok_or(ServiceError::NotFound("comment"))?;
        Ok(present(item.attrs_as()?, (&author).into()))
    }

    /// Publishes a new comment filed at `path`: writes it with `extra` ops in one
    /// transaction (404 if cancelled: the post or the parent is gone), then notifies.
    pub(crate) async fn commit_comment(
        &self,
        stored: &StoredComment,
        path: &str,
        post_author_id: &str,
        parent: Option<&CommentRef>,
        extra: Vec<TxOp>,
    ) -> ServiceResult<()> {
        let (id, pid, author_id) = (&stored.id, stored.post_id.as_str(), &stored.author_id);
        let in_thread = keys::comment_in_thread(pid, path);
        let lookup = keys::comment(id);
        let mut ops = vec![
            TxOp::Put {
                item: Item::new(in_thread.pk, in_thread.sk).with_attrs(stored),
                cond: Cond::NotExists,
            },
            TxOp::Put {
                item: Item::new(lookup.pk, lookup.sk)
                    .with_gsi1(keys::commenter_gsi(author_id), id.as_str())
                    .with("post_id", pid)
                    .with("path", path)
                    .with("author_id", author_id.as_str()),
                cond: Cond::NotExists,
            },
            TxOp::Update {
                key: keys::post(pid),
                update: Update::new().add("comment_count", 1),
                cond: Cond::Exists,
            },
        ];
        if let Some(parent_id) = &stored.parent_id {
            // The thread goes with its post; this fails if it went meanwhile.
            ops.push(TxOp::Check { key: keys::comment(parent_id), cond: Cond::Exists });
        }
        ops.extend(extra);
        match self.store.transact_write(ops).await {
            Ok(()) => {}
            Err(EngineError::TransactionCanceled { .. }) => return Err(ServiceError::NotFound("post")),
            Err(err) => return Err(err.into()),
        }
        self.cache_del(&[self.ck.post(pid)]).await;
        self.note_engagement(pid, Engagement::Commented).await;
        self.publish_engagement(pid).await;

        // The post's author hears of a comment, the parent's author of a reply (not both),
        // anyone else named in it of a mention.
        let on = |kind| NewNotification::new(kind, author_id).post(pid).comment(id);
        let mut told = vec![author_id.clone()];
        if let Some(parent) = parent {
            self.notify(&parent.author_id, on(NotificationKind::Reply)).await;
            told.push(parent.author_id.clone());
        }
        if !told.iter().any(|t| t == post_author_id) {
            self.notify(post_author_id, on(NotificationKind::Comment)).await;
            told.push(post_author_id.to_string());
        }
        self.notify_mentions(&stored.text, on(NotificationKind::Mention), &told).await;
        Ok(())
    }

    /// A post's thread, depth-first, oldest first.
    pub async fn comments(&self, pid: &str, page: &PageRequest) -> ServiceResult<Paged<Comment>> {
        let start = self.cursors.decode_start(page.cursor.as_deref())?;
        // A cursor of another list would start the query outside its key range.
        if start
            .as_ref()
            .is_some_and(|s| s.pk != keys::post_pk(pid) || !s.sk.starts_with(keys::COMMENT_PREFIX))
        {
            return Err(ServiceError::BadRequest("invalid cursor".into()));
        }
        if self.load_post(pid).await?.is_none() {
            return Err(ServiceError::NotFound("post"));
        }
        let cond = KeyCondition::begins_with(keys::post_pk(pid), keys::COMMENT_PREFIX);
        let result = self.store.query(Index::Table, cond, Page::forward(page.limit()?).after(start)).await?;
        let stored =
            result.items.iter().map(|i| i.attrs_as::<StoredComment>()).collect::<Result<Vec<_>, _>>()?;
        let author_ids: Vec<String> = stored.iter().map(|c| c.author_id.clone()).collect();
        let authors = self.profiles(&author_ids).await?;
        Ok(Paged {
            // Comments of an account erased a moment ago are left out, as its posts are.
            items: stored
                .into_iter()
                .filter_map(|c| {
                    let author = authors.get(&c.author_id)?.into();
                    Some(present(c, author))
                })
                .collect(),
            next_cursor: result.last_key.as_ref().map(|position| self.cursors.encode(position)),
        })
    }

    /// Its author or a moderator deletes a comment: it stays in the thread, erased.
    pub async fn delete_comment(&self, caller: &Caller, cid: &str) -> ServiceResult<()> {
        let found = self.comment_ref(cid).await?.ok_or(ServiceError::NotFound("comment"))?;
        self.ensure_author_or_moderator(caller, &found.author_id, "comment").await?;
        let ops = vec![
            TxOp::Update {
                key: keys::comment_in_thread(&found.post_id, &found.path),
                update: Update::new().set("text", "").set("deleted", true),
                cond: Cond::Equals("deleted".into(), false.into()),
            },
            TxOp::Update {
                key: keys::post(&found.post_id),
                update: Update::new().add("comment_count", -1),
                cond: Cond::Exists,
            },
        ];
        match self.store.transact_write(ops).await {
            Ok(()) => {}
            Err(EngineError::TransactionCanceled { reasons }) => {
                return match reasons.iter().position(|r| r == &Some(CancelReason::ConditionFailed)) {
                    // Deleted already (by a racing request, say): what the caller wanted.
                    Some(0) => Ok(()),
                    // The post, and so the thread, is gone.
                    _ => Err(ServiceError::NotFound("comment")),
                };
            }
            Err(err) => return Err(err.into()),
        }
        self.cache_del(&[self.ck.post(&found.post_id)]).await;
        self.publish_engagement(&found.post_id).await;
        Ok(())
    }

    pub(crate) async fn comment_ref(&self, cid: &str) -> ServiceResult<Option<CommentRef>> {
        if !ids::looks_like_id(cid) {
            return Ok(None);
        }
        let Some(item) = self.store.get(&keys::comment(cid)).await? else { return Ok(None) };
        let field = |name| item.str(name).unwrap_or_default().to_string();
        Ok(Some(CommentRef { post_id: field("post_id"), path: field("path"), author_id: field("author_id") }))
    }
}

pub(crate) fn present(c: StoredComment, author: crate::model::UserSummary) -> Comment {
    Comment {
        id: c.id,
        post_id: c.post_id,
        parent_id: c.parent_id,
        author,
        text: c.text,
        created_at: c.created_at,
        depth: c.depth.min(MAX_DISPLAY_DEPTH),
        deleted: c.deleted,
        held: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_nest_and_stop_at_the_cap() {
        assert_eq!(child_path(None, "A"), "A");
        assert_eq!(child_path(Some("A"), "B"), "A/B");
        let deep: Vec<String> = (0..MAX_PATH_DEPTH).map(|i| format!("{i:026}")).collect();
        let path = child_path(Some(&deep.join("/")), "X");
        assert_eq!(path.split('/').count(), MAX_PATH_DEPTH);
        assert!(path.starts_with(&deep[..MAX_PATH_DEPTH - 1].join("/")));
        assert!(path.ends_with("/X"));
        assert!(keys::comment_in_thread(&deep[0], &path).sk.len() < 1024);
    }

    #[test]
    fn thread_order_is_depth_first() {
        let (a, b, c) = (ids::new_id(), ids::new_id(), ids::new_id());
        // `a`, then `c` replying to `a` after `b` was posted on the post, then `b`.
        let mut sks = vec![child_path(None, &b), child_path(Some(&a), &c), child_path(None, &a)];
        sks.sort();
        assert_eq!(sks, vec![a.clone(), format!("{a}/{c}"), b]);
    }

    #[test]
    fn the_id_is_the_last_segment() {
        assert_eq!(comment_id_of_sk("COMMENT#A/B"), Some("B"));
        assert_eq!(comment_id_of_sk("COMMENT#A"), Some("A"));
        assert_eq!(comment_id_of_sk("LIKE#A"), None);
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(check_text("  hi ").unwrap(), "hi");
        assert!(check_text("   ").is_err());
        assert!(check_text(&"x".repeat(MAX_TEXT + 1)).is_err());
        assert!(check_text(&"é".repeat(MAX_TEXT)).is_ok());
    }
}
