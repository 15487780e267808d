//! Every key Roost uses, in one place: the single-table layout of docs/architecture.md for the store,
//! and the cache's key names. Cache keys put the entity id in `{braces}`: a Redis Cluster
//! hash tag, so that all keys of one entity live in one slot.

use roost_engines::Key;

/// A user's profile item.
pub fn user(uid: &str) -> Key {
    Key::new(format!("USER#{uid}"), "PROFILE")
}
/// The partition of everything filed under user `uid` (profile, graph edges).
pub fn user_pk(uid: &str) -> String {
    format!("USER#{uid}")
}
pub(crate) fn username_gsi(name: &str) -> String {
    format!("USERNAME#{name}")
}
/// The item that makes a username unique (a GSI cannot); it also holds the password hash,
/// so that login is one read.
pub fn username_claim(name: &str) -> Key {
    Key::new(format!("USERNAME#{name}"), "CLAIM")
}
/// `fid` follows `uid`, seen from `uid`.
pub fn follower_edge(uid: &str, fid: &str) -> Key {
    Key::new(format!("USER#{uid}"), format!("FOLLOWER#{fid}"))
}
/// `fid` follows `uid`, seen from `fid`.
pub fn following_edge(fid: &str, uid: &str) -> Key {
    Key::new(format!("USER#{fid}"), format!("FOLLOWING#{uid}"))
}
pub(crate) fn followers_gsi(uid: &str) -> String {
    format!("FOLLOWERS#{uid}")
}
pub(crate) fn following_gsi(fid: &str) -> String {
    format!("FOLLOWING#{fid}")
}
/// A session: which user it signs in, until it expires or is revoked.
pub fn session(sid: &str) -> Key {
    Key::new(format!("SESSION#{sid}"), "META")
}
/// Prefix-search entries: one partition per first character keeps partitions small and
/// lets `begins_with` on the sort key answer an autocomplete query.
pub fn search_pk(kind: &str, term: &str) -> String {
    let first = term.chars().next().unwrap_or('_');
    format!("SEARCH#{kind}#{first}")
}
pub(crate) fn search_sk(term: &str, uid: &str) -> String {
    format!("{term}#{uid}")
}
/// A post's item (text, media, counters).
pub fn post(pid: &str) -> Key {
    Key::new(post_pk(pid), "META")
}
pub(crate) fn post_pk(pid: &str) -> String {
    format!("POST#{pid}")
}
/// A user's posts, newest first, through gsi1.
pub fn author_gsi(uid: &str) -> String {
    format!("AUTHOR#{uid}")
}
pub(crate) fn author_gsi_sk(pid: &str) -> String {
    format!("POST#{pid}")
}
/// The public timeline: gsi2, one partition per hour so that no partition runs hot.
pub fn timeline_gsi(hour_bucket: &str) -> String {
    format!("TIMELINE#{hour_bucket}")
}
/// `uid` likes post `pid`, filed in the post's partition.
pub fn like(pid: &str, uid: &str) -> Key {
    Key::new(post_pk(pid), format!("LIKE#{uid}"))
}
pub(crate) fn liker_gsi(uid: &str) -> String {
    format!("LIKER#{uid}")
}
pub(crate) fn feed_pk(uid: &str) -> String {
    format!("FEED#{uid}")
}
pub(crate) fn feed_entry(uid: &str, pid: &str) -> Key {
    Key::new(feed_pk(uid), pid)
}
/// The accounts too big to fan out, one item each in one partition.
pub fn celebrity(uid: &str) -> Key {
    Key::new("CELEBRITIES", uid)
}
/// An uploaded image's metadata item.
pub fn media(mid: &str) -> Key {
    Key::new(format!("MEDIA#{mid}"), "META")
}
/// The stored key that signs session tokens when configuration gives none.
pub fn token_secret() -> Key {
    Key::new("CONFIG#auth", "TOKEN_SECRET")
}

// --- Discovery: who to follow, post search ---

/// The popular-accounts index, one partition: an account is filed under the bit length of
/// its follower count (`07#uid` for 64..127 followers), so a backward query lists the most
/// followed first and an entry moves only when the count crosses a power of two.
pub const POPULAR_PK: &str = "POPULAR";
/// `uid`'s entry in the popular-accounts index, under follower-count bucket `bucket`.
pub fn popular(bucket: u32, uid: &str) -> Key {
    Key::new(POPULAR_PK, format!("{bucket:02}#{uid}"))
}
/// A posting of the post-search index: `pid` contains `term`. Sort keys are post ids, so a
/// backward query walks a term's posts newest first.
pub fn posting(term: &str, pid: &str) -> Key {
    Key::new(posting_pk(term), pid)
}
pub(crate) fn posting_pk(term: &str) -> String {
    format!("WORD#{term}")
}
/// The post-search term dictionary (for prefix expansion), partitioned like user search.
pub fn term_entry(term: &str) -> Key {
    Key::new(search_pk("w", term), term)
}

// --- Comments (see `comments`) ---

/// A comment in its post's partition; `path` is its ancestors' ids and its own, joined by
/// `/`, so the partition's sort order is the thread's depth-first, oldest-first order.
pub fn comment_in_thread(pid: &str, path: &str) -> Key {
    Key::new(post_pk(pid), format!("{COMMENT_PREFIX}{path}"))
}
/// The sort-key prefix of a post's comments.
pub const COMMENT_PREFIX: &str = "COMMENT#";
/// A comment's lookup item (post, path, author), for replies and deletes by id.
pub fn comment(cid: &str) -> Key {
    Key::new(format!("COMMENT#{cid}"), "META")
}

// --- Notifications (see `notifications`) ---

/// A user's notifications, one item each, sorted by notification id (time).
pub fn notifications_pk(uid: &str) -> String {
    format!("NOTIF#{uid}")
}
/// Notification `nid` in user `uid`'s notification partition.
pub fn notification(uid: &str, nid: &str) -> Key {
    Key::new(notifications_pk(uid), nid)
}
/// Makes a notification happen once per `what` (`like#actor#pid`, `follow#actor`).
pub fn notification_once(uid: &str, what: &str) -> Key {
    Key::new(format!("NOTIFKEY#{uid}"), what)
}
/// The user's read marker: every notification id up to it is read.
pub fn notifications_read(uid: &str) -> Key {
    Key::new(format!("NOTIFREAD#{uid}"), "META")
}

// --- Blocks and mutes (see `blocks`) ---

/// `uid` blocks or mutes `other` (`kind` is [`BLOCKS`] or [`MUTES`]), seen from `uid`; on
/// gsi1 under [`relation_gsi`], newest first.
pub fn relation_edge(kind: &str, uid: &str, other: &str) -> Key {
    Key::new(user_pk(uid), format!("{kind}#{other}"))
}
/// The gsi1 partition listing whom `uid` blocks or mutes.
pub fn relation_gsi(kind: &str, uid: &str) -> String {
    format!("{kind}#{uid}")
}
/// `uid` blocks someone.
pub const BLOCKS: &str = "BLOCKS";
/// `uid` is blocked by someone: the reverse of a block, so that either side's blocks are
/// one partition query.
pub const BLOCKED_BY: &str = "BLOCKEDBY";
/// `uid` mutes someone.
pub const MUTES: &str = "MUTES";
/// `uid` is muted by someone: the reverse of a mute, never read by the feed (a mute is
/// one-way), there so that an erasure finds the mutes naming the account.
pub const MUTED_BY: &str = "MUTEDBY";

// --- Moderation (see `moderation`, `screening`) ---

/// A report; while open it is also in gsi1 under [`OPEN_REPORTS_GSI`], oldest first.
pub fn report(rid: &str) -> Key {
    Key::new(format!("REPORT#{rid}"), "META")
}
/// The open reports, sorted by report id (time): a sparse index that a report leaves when
/// it is resolved (the resolved item is written without it).
pub const OPEN_REPORTS_GSI: &str = "REPORTS#open";
/// A post held for review: filed beside where it will live, under another sort key, so
/// nothing that reads posts (`META`) or their indexes finds it.
pub fn held_post(pid: &str) -> Key {
    Key::new(post_pk(pid), "HELD")
}
/// A comment held for review, beside its (future) lookup item.
pub fn held_comment(cid: &str) -> Key {
    Key::new(format!("COMMENT#{cid}"), "HELD")
}

// --- Privacy and the media lifecycle (see `erasure`, `export`, `media`) ---

/// A user's sessions, through gsi1 (a password change or an erasure ends them all).
pub fn sessions_gsi(uid: &str) -> String {
    format!("SESSIONS#{uid}")
}
/// What a user caused in other users' partitions (notifications and their dedupe items),
/// through gsi1, so that an erasure finds them without a scan.
pub fn actor_gsi(uid: &str) -> String {
    format!("ACTOR#{uid}")
}
/// A user's comments (their lookup items), through gsi1.
pub fn commenter_gsi(uid: &str) -> String {
    format!("COMMENTER#{uid}")
}
/// A user's uploads, through gsi1 (the quota, the export, the erasure).
pub fn owner_gsi(uid: &str) -> String {
    format!("OWNER#{uid}")
}
/// Uploads not attached to a post or a profile yet, sorted by media id (so by time): the
/// sweep removes those older than `unattached_media_max_age_secs`.
pub const UNATTACHED_PK: &str = "UNATTACHED";
/// The marker of one unattached upload (see [`UNATTACHED_PK`]).
pub fn unattached(mid: &str) -> Key {
    Key::new(UNATTACHED_PK, mid)
}

// --- Background work and retried creates (see `outbox`, `idempotency`) ---

/// How many partitions the outbox is spread over, so that no partition runs hot.
pub const OUTBOX_SHARDS: u32 = 8;
/// Outbox partition `shard` (below [`OUTBOX_SHARDS`]); sorted by item id, so by time.
pub fn outbox_pk(shard: u32) -> String {
    format!("OUTBOX#{shard}")
}
/// Outbox item `id`: the job a committed write still owes (its shard follows from the id).
pub fn outbox(id: &str) -> Key {
    let shard = id.bytes().map(u32::from).sum::<u32>() % OUTBOX_SHARDS;
    Key::new(outbox_pk(shard), id)
}
/// What user `uid`'s create with idempotency key `key` made, per kind of create (`scope`).
pub fn idempotency(uid: &str, scope: &str, key: &str) -> Key {
    Key::new(format!("IDEMPOTENCY#{uid}"), format!("{scope}#{key}"))
}

/// Cache key names under a namespace.
#[derive(Clone, Debug)]
pub struct CacheKeys {
    ns: String,
}

impl CacheKeys {
    /// Cache keys under namespace `ns` (`cache_namespace` of the configuration).
    pub fn new(ns: &str) -> Self {
        CacheKeys { ns: ns.to_string() }
    }
    /// `{ns}:{kind}:{{id}}`: the id in braces is Redis Cluster's hash tag, so every key of
    /// one subject sits in one slot. Pushed, not `format!`ted: a feed page builds some
    /// sixty keys, and the formatting machinery showed in its profile.
    fn tagged(&self, kind: &str, id: &str) -> String {
        let mut key = String::with_capacity(self.ns.len() + kind.len() + id.len() + 4);
        for part in [self.ns.as_str(), ":", kind, ":{", id, "}"] {
            key.push_str(part);
        }
        key
    }
    /// A user's cached profile.
    pub fn user(&self, uid: &str) -> String {
        self.tagged("user", uid)
    }
    /// Changes whenever the user's profile does; a cached profile is only good while it
    /// carries the current epoch (see `users::profiles`).
    pub fn user_epoch(&self, uid: &str) -> String {
        self.tagged("user-epoch", uid)
    }
    /// A cached username-to-id lookup.
    pub fn username(&self, name: &str) -> String {
        self.tagged("username", name)
    }
    /// A session's cached user id (or its revoked marker).
    pub fn session(&self, sid: &str) -> String {
        self.tagged("session", sid)
    }
    /// A cached user-search answer for `query`.
    pub fn search(&self, query: &str) -> String {
        self.tagged("search", query)
    }
    /// A post's cached stored copy.
    pub fn post(&self, pid: &str) -> String {
        self.tagged("post", pid)
    }
    /// The set of users who like a post (plus a marker member: see `likes`).
    pub fn likes(&self, pid: &str) -> String {
        self.tagged("likes", pid)
    }
    /// The version of the last like or unlike of post `pid` by `uid` that the cache
    /// answered (see `likes`); in the slot of the post's like set.
    pub fn like_version(&self, pid: &str, uid: &str) -> String {
        let mut key = self.tagged("like_version", pid);
        key.push(':');
        key.push_str(uid);
        key
    }
    /// A user's home feed: post ids scored by time (plus a marker member: see `feed`).
    pub fn feed(&self, uid: &str) -> String {
        self.tagged("feed", uid)
    }
    /// An author's recent post ids (for merging big accounts into feeds at read time).
    pub fn recent_posts(&self, uid: &str) -> String {
        self.tagged("recent", uid)
    }
    /// The big accounts (too many followers to fan out).
    pub fn celebrities(&self) -> String {
        format!("{}:celebrities", self.ns)
    }
    /// Work queue `name` (a Redis stream).
    pub fn queue(&self, name: &str) -> String {
        self.tagged("queue", name)
    }
    /// When queued job `id` first failed (see `dead_letters`).
    pub fn job_first_failure(&self, id: &str) -> String {
        self.tagged("job-failed", id)
    }

    // --- presence and live events (see `presence`, `events`, `stream`) ---

    /// Users seen in the last few minutes, scored by when (pruned; its size is the count).
    /// Shared by every user on purpose: `/api/online` is one `ZCARD`.
    pub fn presence_online(&self) -> String {
        format!("{}:presence:online", self.ns)
    }
    /// Every user's last-seen time (kept about a month).
    pub fn presence_last_seen(&self) -> String {
        format!("{}:presence:last-seen", self.ns)
    }
    /// A pub/sub channel of live events (`posts`, `engagement`, `notifications`).
    pub fn events(&self, channel: &str) -> String {
        format!("{}:events:{channel}", self.ns)
    }

    // --- Discovery: who to follow, trending ---

    /// A user's follow suggestions (user ids, best first), kept briefly.
    pub fn suggestions(&self, uid: &str) -> String {
        self.tagged("suggest", uid)
    }
    // --- Moderation (see `moderation`) ---

    /// The id below which a user's sessions are over (set by a suspension), mirrored from
    /// the profile so that every instance refuses them at once.
    pub fn session_floor(&self, uid: &str) -> String {
        self.tagged("session-floor", uid)
    }

    // --- Abuse limits (see `limits`) ---

    /// The counter of one limit's current window for one subject (an account or an
    /// address).
    pub fn rate_limit(&self, limit: &str, subject: &str) -> String {
        format!("{}:limit:{limit}:{{{subject}}}", self.ns)
    }

    /// Trending scores of one window and generation (see `trending`).
    pub fn trending(&self, window: &str, generation: u64) -> String {
        format!("{}:trending:{{{window}}}:{generation}", self.ns)
    }
    /// When each trending post was last engaged with, to prune those outside the window.
    pub fn trending_seen(&self, window: &str) -> String {
        self.tagged("trending-seen", window)
    }

    // --- Analytics (see `analytics`): no key or value holds a user id ---

    /// A day's activity counters (a hash: posts, likes, follows, comments, feed_reads).
    pub fn stats_events(&self, date: &str) -> String {
        format!("{}:stats:{{{date}}}:events", self.ns)
    }
    /// A day's active users: a HyperLogLog of that day's pseudonyms.
    pub fn stats_active(&self, date: &str) -> String {
        format!("{}:stats:{{{date}}}:active", self.ns)
    }
    /// A day's active users under the window pseudonyms of one schedule's period. The
    /// period is the hash tag: the 30 keys one `PFCOUNT` unites share it.
    pub fn stats_window(&self, schedule: &str, period: i64, date: &str) -> String {
        format!("{}:stats-window:{{{schedule}{period}}}:{date}", self.ns)
    }

    // --- Blocks and mutes (see `blocks`) ---

    /// Whom a user must not see or hear from (JSON, with the epoch it was read under).
    pub fn hidden(&self, uid: &str) -> String {
        self.tagged("hidden", uid)
    }
    /// Moves on every block or mute change of the user (see `blocks`).
    pub fn hidden_epoch(&self, uid: &str) -> String {
        self.tagged("hidden-epoch", uid)
    }
}

#[cfg(test)]
mod tests {
    use super::CacheKeys;

    #[test]
    fn cache_keys_carry_the_namespace_and_their_subject_as_a_hash_tag() {
        let ck = CacheKeys::new("roost");
        assert_eq!(ck.likes("01P"), "roost:likes:{01P}");
        assert_eq!(ck.user_epoch("01U"), "roost:user-epoch:{01U}");
        assert_eq!(ck.celebrities(), "roost:celebrities");
    }
}
