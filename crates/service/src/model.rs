//! The objects of docs/api.md as the service hands them out (and as they are stored and
//! cached). Field names are the contract's; never rename or drop one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A user's profile as stored in the `USER#uid / PROFILE` item and cached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub followers_count: i64,
    #[serde(default)]
    pub following_count: i64,
    #[serde(default)]
    pub posts_count: i64,
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
    pub fn is_moderator(&self) -> bool {
        self.role == "moderator"
    }
}

/// User, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    pub followers_count: i64,
    pub following_count: i64,
    pub posts_count: i64,
    pub created_at: String,
    /// Present only when the caller is signed in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followed_by_me: Option<bool>,
}

impl User {
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
    pub id: String,
    pub username: String,
    pub display_name: String,
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
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A list without pagination (search, suggestions, trending).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// `{user, token}`: the answer to register and login.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SignedIn {
    pub user: User,
    pub token: String,
}

/// The answer to follow and unfollow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FollowState {
    pub following: bool,
    pub followers_count: i64,
}

/// Who is calling: the user and the session the token named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub session_id: String,
}

// Published as the contract's `Media`; named apart from the `Media` engine that stores its bytes.
/// An uploaded image, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Media)]
pub struct Image {
    pub id: String,
    pub url: String,
    pub content_type: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// A small JPEG preview (longest side 320 px).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

/// A post as stored in `POST#pid / META` and cached: counters as the store last knew them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredPost {
    pub id: String,
    pub author_id: String,
    pub text: String,
    #[serde(default)]
    pub media: Vec<Image>,
    pub reply_to: Option<String>,
    #[serde(default)]
    pub like_count: i64,
    #[serde(default)]
    pub comment_count: i64,
    pub created_at: String,
}

/// Post, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Post {
    pub id: String,
    pub author: UserSummary,
    pub text: String,
    pub media: Vec<Image>,
    pub reply_to: Option<String>,
    pub like_count: i64,
    pub comment_count: i64,
    pub liked_by_me: bool,
    pub created_at: String,
    /// Present (true) only on a post held for review by the screening list, which only
    /// its author and moderators see.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
}

/// The answer to like and unlike.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LikeState {
    pub liked: bool,
    pub like_count: i64,
}

// --- presence and live events ---

/// `GET /api/users/{id}/presence`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Presence {
    /// Seen (an authenticated request, or an open stream) in the last five minutes.
    pub online: bool,
    /// When the user was last seen (RFC 3339), if in the last 30 days.
    pub last_seen: Option<String>,
}

/// `GET /api/online`: how many users are online.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OnlineCount {
    pub count: u64,
}

/// The data of an `engagement` event on `GET /api/stream`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Engagement {
    pub post_id: String,
    pub like_count: i64,
    pub comment_count: i64,
}

/// A comment as stored in its thread item (`POST#pid / COMMENT#path`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredComment {
    pub id: String,
    pub post_id: String,
    pub parent_id: Option<String>,
    pub author_id: String,
    pub text: String,
    pub created_at: String,
    /// Replies above the stored path's depth cap keep their real parent here but are filed
    /// under an ancestor, so this is the depth of the path, not of the conversation.
    pub depth: u32,
    pub deleted: bool,
}

/// Comment, as docs/api.md defines it. A deleted comment keeps its place in the thread (its
/// replies stay) with `deleted: true` and an empty `text`; its author is still shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Comment {
    pub id: String,
    pub post_id: String,
    pub parent_id: Option<String>,
    pub author: UserSummary,
    pub text: String,
    pub created_at: String,
    /// 0 for a comment on the post, 1 for a reply to it, ...; capped for display.
    pub depth: u32,
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
    pub id: String,
    pub kind: NotificationKind,
    pub actor: UserSummary,
    pub post_id: Option<String>,
    pub comment_id: Option<String>,
    pub created_at: String,
    pub read: bool,
}

/// `GET /api/me`: the caller's user, and how many notifications are unread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    /// Notifications newer than the read marker, counted up to 100.
    pub unread_notifications: u32,
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
    pub created_at: String,
    /// When it was resolved (RFC 3339).
    pub resolved_at: Option<String>,
    /// The target as it is now; absent once it is gone.
    pub target: Option<ReportTarget>,
}
