//! Live events, the publishing side: what a write announces on the cache's pub/sub so that
//! every instance's stream hub (`stream`) can deliver it to its open streams.
//!
//! One channel per kind of event, shared by all users (`{ns}:events:posts`,
//! `…:engagement`, `…:notifications`): each instance subscribes once per channel and picks
//! out its own recipients, so the number of subscriptions does not grow with users.
//! Publishing is best-effort, like every cache write after a committed store write
//! (`cached.rs`): a failure is logged and the write it follows still succeeds. Delivery is
//! at most once; a stream that missed a notification gets it back through `Last-Event-ID`.

use serde::{Deserialize, Serialize};

use crate::model::{Engagement, StoredPost};
use crate::Service;

pub(crate) const POSTS: &str = "posts";
pub(crate) const ENGAGEMENT: &str = "engagement";
pub(crate) const NOTIFICATIONS: &str = "notifications";

/// On `posts`: a post was created.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct NewPostMessage {
    pub post_id: String,
    pub author_id: String,
}

/// On `engagement`: a post's counts changed. The author rides along so that the hub can
/// tell the author's streams without reading the post.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct EngagementMessage {
    pub author_id: String,
    #[serde(flatten)]
    pub engagement: Engagement,
}

/// On `notifications`: a notification for one user, as the API shows it. Its `id` is the
/// event id of the `notification` event (what `Last-Event-ID` resumes from).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct NotificationMessage {
    pub recipient: String,
    pub notification: serde_json::Value,
}

impl NotificationMessage {
    /// The notification's id, if it has one.
    pub(crate) fn id(&self) -> Option<&str> {
        self.notification.get("id").and_then(|id| id.as_str())
    }
}

impl Service {
    async fn publish<T: Serialize>(&self, channel: &str, message: &T) {
        let channel = self.ck.events(channel);
        let bytes = match serde_json::to_vec(message) {
            Ok(bytes) => bytes,
            Err(err) => return tracing::error!(%err, channel, "event not serialisable"),
        };
        if let Err(err) = self.cache.publish(&channel, bytes.into()).await {
            tracing::warn!(%err, channel, "event not published; open streams miss it");
        }
    }

    /// A new post: streams of the author's followers (and the author) get a `post` event.
    pub(crate) async fn publish_post(&self, post_id: &str, author_id: &str) {
        let message = NewPostMessage { post_id: post_id.to_string(), author_id: author_id.to_string() };
        self.publish(POSTS, &message).await;
    }

    /// A post's like or comment count changed: streams that showed it recently get an
    /// `engagement` event. For callers that know only the post id (comments); a post that
    /// is gone announces nothing.
    pub(crate) async fn publish_engagement(&self, pid: &str) {
        match self.load_post(pid).await {
            Ok(Some(post)) => match self.like_states(None, std::slice::from_ref(&post)).await {
                Ok(states) => self.announce_engagement(&post, states[0].0).await,
                Err(err) => tracing::warn!(%err, pid, "engagement not published"),
            },
            Ok(None) => {}
            Err(err) => tracing::warn!(%err, pid, "engagement not published"),
        }
    }

    /// Like [`Self::publish_engagement`], for a caller that has the post and its like count.
    pub(crate) async fn announce_engagement(&self, post: &StoredPost, like_count: i64) {
        let engagement =
            Engagement { post_id: post.id.clone(), like_count, comment_count: post.comment_count.max(0) };
        self.publish(ENGAGEMENT, &EngagementMessage { author_id: post.author_id.clone(), engagement }).await;
    }

    /// A notification for `recipient`: their open streams get a `notification` event whose
    /// data is `notification` (the API's Notification object) and whose id is its `id`.
    /// `notify()` calls this once the notification is stored.
    pub(crate) async fn publish_notification<T: Serialize>(&self, recipient: &str, notification: &T) {
        let notification = match serde_json::to_value(notification) {
            Ok(value) => value,
            Err(err) => return tracing::error!(%err, "notification not serialisable"),
        };
        self.publish(NOTIFICATIONS, &NotificationMessage { recipient: recipient.to_string(), notification })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engagement_message_carries_the_event_data_flat() {
        let message = EngagementMessage {
            author_id: "A".into(),
            engagement: Engagement { post_id: "P".into(), like_count: 2, comment_count: 1 },
        };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"author_id": "A", "post_id": "P", "like_count": 2, "comment_count": 1})
        );
        assert_eq!(serde_json::from_value::<EngagementMessage>(json).unwrap(), message);
    }
}
