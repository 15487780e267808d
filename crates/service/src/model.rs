//! The objects of docs/api.md as the service hands them out (and as they are stored and
//! cached). Field names are the contract's; never rename or drop one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A user's profile as stored in the `USER#uid / PROFILE` item and cached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Opaque, time-sortable user id (26 characters).
    pub id: String,
    /// Unique handle chosen at registration.
    pub username: String,
    /// Name shown instead of the handle.
    pub display_name: String,
    /// Free text about the user; empty when unset.
    pub bio: String,
    /// Where the avatar image is served; `None` when the user has none.
    pub avatar_url: Option<String>,
    /// How many users follow this one.
    #[serde(default)]
    pub followers_count: i64,
    /// How many users this one follows.
    #[serde(default)]
    pub following_count: i64,
    /// How many posts the user has written.
    #[serde(default)]
    pub posts_count: i64,
    /// When the user registered (RFC 3339).
    pub created_at: String,
    /// `user` or `moderator`.
    #[serde(default = "default_role")]
    pub role: String,
    /// Set by a moderator: the user cannot sign in (see `moderation`).
    #[serde(default)]
    pub suspended: bool,
    /// Sessions with an id below this one are over (a suspension ended them; see
    /// `accounts::check_session`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_after: Option<String>,
}

fn default_role() -> String {
    "user".into()
}

impl Profile {
    /// Whether the user may moderate other users' content.
    pub fn is_moderator(&self) -> bool {
        self.role == "moderator"
    }
}

/// User, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    /// Opaque, time-sortable user id (26 characters).
    pub id: String,
    /// Unique handle chosen at registration.
    pub username: String,
    /// Name to show instead of the handle.
    pub display_name: String,
    /// Free text about the user; empty when unset.
    pub bio: String,
    /// Where the avatar image is served; null when the user has none.
    pub avatar_url: Option<String>,
    /// How many users follow this one.
    pub followers_count: i64,
    /// How many users this one follows.
    pub following_count: i64,
    /// How many posts the user has written.
    pub posts_count: i64,
    /// When the user registered (RFC 3339).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Present only when the caller is signed in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followed_by_me: Option<bool>,
}

impl User {
    /// The API's view of a stored profile; `followed_by_me` is `None` for anonymous callers.
    pub fn from_profile(p: &Profile, followed_by_me: Option<bool>) -> User {
        User {
            id: p.id.clone(),
            username: p.username.clone(),
            display_name: p.display_name.clone(),
            bio: p.bio.clone(),
            avatar_url: p.avatar_url.clone(),
            followers_count: p.followers_count.max(0),
            following_count: p.following_count.max(0),
            posts_count: p.posts_count.max(0),
            created_at: p.created_at.clone(),
            followed_by_me,
        }
    }
}

/// The author summary embedded in posts, comments and notifications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserSummary {
    /// Opaque, time-sortable user id (26 characters).
    pub id: String,
    /// Unique handle chosen at registration.
    pub username: String,
    /// Name to show instead of the handle.
    pub display_name: String,
    /// Where the avatar image is served; null when the user has none.
    pub avatar_url: Option<String>,
}

impl From<&Profile> for UserSummary {
    fn from(p: &Profile) -> Self {
        UserSummary {
            id: p.id.clone(),
            username: p.username.clone(),
            display_name: p.display_name.clone(),
            avatar_url: p.avatar_url.clone(),
        }
    }
}

/// A cursor-paginated list, as every list endpoint answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Paged<T> {
    /// This page's entries, in the list's order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A list without pagination (search, suggestions, trending).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Items<T> {
    /// Every entry, in the list's order.
    pub items: Vec<T>,
}

/// `{user, token}`: the answer to register and login.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SignedIn {
    /// The signed-in user.
    pub user: User,
    /// Bearer token for the `Authorization` header, valid until logout or expiry.
    pub token: String,
}

/// The answer to follow and unfollow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FollowState {
    /// Whether the caller now follows the user.
    pub following: bool,
    /// The user's follower count after the change.
    pub followers_count: i64,
}

/// Who is calling: the user and the session the token named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The signed-in user.
    pub user_id: String,
    /// The session the token names; logout revokes it.
    pub session_id: String,
    /// The user's hidden set as the session check read it from the cache, in the same
    /// round trip, so that the reads filtering by it (a feed page) need no trip of their
    /// own; `None` when it was not read.
    pub(crate) hidden_read: Option<crate::blocks::HiddenRead>,
}

impl Caller {
    /// A caller known without a session check (tools and tests).
    pub fn new(user_id: String, session_id: String) -> Caller {
        Caller { user_id, session_id, hidden_read: None }
    }
}

// Published as the contract's `Media`; named apart from the `Media` engine that stores its bytes.
/// An uploaded image, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Media)]
pub struct Image {
    /// Opaque, time-sortable media id (26 characters).
    pub id: String,
    /// Where the image is served (`/api/media/{id}`).
    pub url: String,
    /// MIME type of the image as stored, e.g. `image/jpeg`.
    pub content_type: String,
    /// Size of the stored image in bytes.
    pub size: u64,
    /// Width in pixels; null when unknown.
    pub width: Option<u32>,
    /// Height in pixels; null when unknown.
    pub height: Option<u32>,
    /// A small JPEG preview (longest side 320 px).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

/// A post as stored in `POST#pid / META` and cached: counters as the store last knew them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredPost {
    /// Opaque, time-sortable post id (26 characters).
    pub id: String,
    /// Id of the user who wrote the post.
    pub author_id: String,
    /// The post's text as written.
    pub text: String,
    /// Images attached to the post, in upload order.
    #[serde(default)]
    pub media: Vec<Image>,
    /// Id of the post this one replies to; `None` for a top-level post.
    pub reply_to: Option<String>,
    /// Likes counted by the last write that touched the item.
    #[serde(default)]
    pub like_count: i64,
    /// Comments counted by the last write that touched the item.
    #[serde(default)]
    pub comment_count: i64,
    /// When the post was created (RFC 3339).
    pub created_at: String,
}

/// Post, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Post {
    /// Opaque, time-sortable post id (26 characters).
    pub id: String,
    /// Who wrote the post.
    pub author: UserSummary,
    /// The post's text as written.
    pub text: String,
    /// Images attached to the post, in the order given; empty when none.
    pub media: Vec<Image>,
    /// Id of the post this one replies to; null for a top-level post.
    pub reply_to: Option<String>,
    /// How many users like the post.
    pub like_count: i64,
    /// How many comments the post has; deleting one takes it off the count.
    pub comment_count: i64,
    /// Whether the caller likes the post; false for anonymous callers.
    pub liked_by_me: bool,
    /// When the post was created (RFC 3339).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Present (true) only on a post held for review by the screening list, which only
    /// its author and moderators see.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
}

/// The answer to like and unlike.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LikeState {
    /// Whether the caller now likes the post.
    pub liked: bool,
    /// The post's like count after the change.
    pub like_count: i64,
}

// --- presence and live events ---

/// `GET /api/users/{id}/presence`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Presence {
    /// Seen (an authenticated request, or an open stream) in the last five minutes.
    pub online: bool,
    /// When the user was last seen (RFC 3339), if in the last 30 days.
    #[schema(format = DateTime)]
    pub last_seen: Option<String>,
}

/// `GET /api/online`: how many users are online.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OnlineCount {
    /// Users seen in the last five minutes.
    pub count: u64,
}

/// The data of an `engagement` event on `GET /api/stream`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Engagement {
    /// The post whose counters changed.
    pub post_id: String,
    /// How many users like the post now.
    pub like_count: i64,
    /// How many comments the post has now.
    pub comment_count: i64,
}

/// A comment as stored in its thread item (`POST#pid / COMMENT#path`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredComment {
    /// Opaque, time-sortable comment id (26 characters).
    pub id: String,
    /// Id of the post the comment belongs to.
    pub post_id: String,
    /// Id of the comment this one replies to; `None` for a comment on the post.
    pub parent_id: Option<String>,
    /// Id of the user who wrote the comment.
    pub author_id: String,
    /// The comment's text; emptied when the comment is deleted.
    pub text: String,
    /// When the comment was created (RFC 3339).
    pub created_at: String,
    /// Replies above the stored path's depth cap keep their real parent here but are filed
    /// under an ancestor, so this is the depth of the path, not of the conversation.
    pub depth: u32,
    /// Whether the comment was deleted (it stays as a placeholder for its replies).
    pub deleted: bool,
}

/// Comment, as docs/api.md defines it. A deleted comment keeps its place in the thread (its
/// replies stay) with `deleted: true` and an empty `text`; its author is still shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Comment {
    /// Opaque, time-sortable comment id (26 characters).
    pub id: String,
    /// Id of the post the comment belongs to.
    pub post_id: String,
    /// Id of the comment this one replies to; null for a comment on the post.
    pub parent_id: Option<String>,
    /// Who wrote the comment.
    pub author: UserSummary,
    /// The comment's text; empty when deleted.
    pub text: String,
    /// When the comment was created (RFC 3339).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// 0 for a comment on the post, 1 for a reply to it, ...; capped for display.
    pub depth: u32,
    /// Whether the comment was deleted; its replies stay in the thread.
    pub deleted: bool,
    /// Present (true) only on a comment held for review by the screening list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
}

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotificationKind {
    /// `actor` followed you.
    Follow,
    /// `actor` liked your post `post_id`.
    Like,
    /// `actor` commented (`comment_id`) on your post `post_id`.
    Comment,
    /// `actor` replied (`comment_id`) to your comment on post `post_id`.
    Reply,
    /// `actor` mentioned you in post `post_id` (or in its comment `comment_id`).
    Mention,
}

/// Notification, as docs/api.md defines it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    /// Opaque, time-sortable notification id (26 characters); newer sorts later.
    pub id: String,
    /// What happened.
    pub kind: NotificationKind,
    /// The user who did it.
    pub actor: UserSummary,
    /// The post concerned; null for `follow`.
    pub post_id: Option<String>,
    /// The comment concerned, for `comment`, `reply` and a `mention` in a comment; else null.
    pub comment_id: Option<String>,
    /// When it happened (RFC 3339).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Whether the caller has marked it read (it is at or below their read marker).
    pub read: bool,
}

/// `GET /api/me`: the caller's user, and how many notifications are unread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// The caller's user, its fields inlined at the top level.
    #[serde(flatten)]
    pub user: User,
    /// Notifications newer than the read marker, counted up to 100.
    pub unread_notifications: u32,
    /// Whether the caller may moderate (the reports queue, the operations figures), so a
    /// client shows those screens without probing for a 403.
    pub moderator: bool,
}

/// The answer to block and unblock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BlockState {
    /// Whether the caller now blocks the user.
    pub blocking: bool,
}

/// The answer to mute and unmute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MuteState {
    /// Whether the caller now mutes the user.
    pub muting: bool,
}

// --- moderation (see `moderation`) ---

/// What a report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportTargetType {
    /// A post, by id.
    Post,
    /// A comment, by id.
    Comment,
    /// A user, by id (or, when reporting, username).
    User,
}

/// How a moderator resolves a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModerationAction {
    /// Nothing wrong: the report is closed (held content is published).
    Dismiss,
    /// The post or comment is deleted (for a user: suspended).
    Remove,
    /// The author of the post or comment (or the user) is suspended.
    Suspend,
}

/// A report as stored in `REPORT#rid / META`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredReport {
    /// The report's id (time-ordered: the queue's order).
    pub id: String,
    /// What is reported.
    pub target_type: ReportTargetType,
    /// The id of the post, comment or user reported.
    pub target_id: String,
    /// The author of the post or comment, or the user: whom `suspend` suspends.
    pub target_author_id: String,
    /// Why, in the reporter's words (or the screening list's).
    pub reason: String,
    /// `None` for an automatic report (the screening list held the content).
    pub reporter_id: Option<String>,
    /// When it was filed (RFC 3339).
    pub created_at: String,
    /// How it was resolved; `None` while open.
    #[serde(default)]
    pub action: Option<ModerationAction>,
    /// The moderator who resolved it.
    #[serde(default)]
    pub resolved_by: Option<String>,
    /// When it was resolved (RFC 3339).
    #[serde(default)]
    pub resolved_at: Option<String>,
}

/// What a report's target looks like now, for the moderator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportTarget {
    /// The author of the post or comment, or the reported user.
    pub user: UserSummary,
    /// The text of the post or comment (absent for a user).
    pub text: Option<String>,
    /// The content is held for review (not published).
    pub held: bool,
    /// The user is suspended.
    pub suspended: bool,
}

/// Report, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Report {
    /// The report's id.
    pub id: String,
    /// What is reported.
    pub target_type: ReportTargetType,
    /// The id of the post, comment or user reported.
    pub target_id: String,
    /// Why.
    pub reason: String,
    /// Who reported it; absent for an automatic report.
    pub reporter: Option<UserSummary>,
    /// Made by the screening list rather than a user.
    pub automatic: bool,
    /// `open` or `resolved`.
    pub status: String,
    /// How it was resolved.
    pub action: Option<ModerationAction>,
    /// When it was filed (RFC 3339).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it was resolved (RFC 3339).
    #[schema(format = DateTime)]
    pub resolved_at: Option<String>,
    /// The target as it is now; absent once it is gone.
    pub target: Option<ReportTarget>,
}
