//! Accounts and sessions: register, login, logout, the token check every request makes,
//! and editing one's own profile.

use roost_engines::{store::by_key, Cond, EngineError, Item, TxOp, Update};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{hash_password, verify_nobody, verify_password, Claims};
use crate::blocks::HiddenRead;
use crate::config::ttl;
use crate::error::{ServiceError, ServiceResult};
use crate::limits::Limit;
use crate::model::{Caller, Me, Profile, SignedIn, User};
use crate::telemetry::{self, CacheKind};
use crate::unicode::{has_format_char, nfc};
use crate::walk::Source;
use crate::{ids, keys, media, time, users, Service};

/// `POST /api/auth/register`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct RegisterInput {
    /// 3 to 30 characters of a-z, 0-9 and `_` (upper case is folded to lower).
    #[schema(min_length = 3)]
    pub username: String,
    /// 8 to 256 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
    /// Name shown instead of the handle, 1 to 50 printable characters; the username when absent.
    pub display_name: Option<String>,
}

/// `POST /api/auth/login`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct LoginInput {
    /// The username given at registration, in any case.
    pub username: String,
    /// The account's password.
    pub password: String,
}

/// `PATCH /api/me`: absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct ProfileEdit {
    /// New name to show instead of the handle, 1 to 50 printable characters.
    pub display_name: Option<String>,
    /// New free text about the user, at most 300 characters.
    pub bio: Option<String>,
    /// Id of an image the caller uploaded, to become the avatar.
    pub avatar_media_id: Option<String>,
}

/// `POST /api/me/password`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    /// The password now.
    pub current: String,
    /// The password from now on (the rules of registration).
    pub new: String,
}

/// Words that are routes (a path segment under `/api` or at the root, today's or a likely
/// one) or would pass for staff, and so cannot be usernames.
const RESERVED: &[&str] = &[
    "about",
    "admin",
    "administrator",
    "api",
    "auth",
    "block",
    "blocks",
    "comments",
    "docs",
    "explore",
    "export",
    "feed",
    "healthz",
    "help",
    "login",
    "logout",
    "me",
    "media",
    "metrics",
    "moderation",
    "moderator",
    "mute",
    "mutes",
    "notifications",
    "online",
    "openapi",
    "password",
    "posts",
    "readyz",
    "register",
    "reports",
    "roost",
    "root",
    "search",
    "security",
    "settings",
    "signup",
    "staff",
    "stream",
    "suggestions",
    "support",
    "system",
    "thumbnail",
    "timeline",
    "trending",
    "users",
];

/// The cached value of a revoked session (user ids are never this).
const REVOKED_SESSION: &[u8] = b"-";

pub(crate) const MIN_PASSWORD: usize = 8;
pub(crate) const MAX_PASSWORD: usize = 256;
pub(crate) const MAX_DISPLAY_NAME: usize = 50;
pub(crate) const MAX_BIO: usize = 300;

/// Usernames are unique case-insensitively, so they are kept in lower case.
pub fn normalize_username(raw: &str) -> ServiceResult<String> {
    let name = nfc(raw.trim()).to_lowercase();
    let len = name.chars().count();
    if !(3..=30).contains(&len) {
        return Err(ServiceError::validation("username", "username must be 3 to 30 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(ServiceError::validation("username", "username may contain only a-z, 0-9 and _"));
    }
    if RESERVED.contains(&name.as_str()) {
        return Err(ServiceError::validation("username", "this username is reserved"));
    }
    Ok(name)
}

/// The password rule, for registration and for a password change (`field` names the field).
fn check_password(field: &'static str, password: &str) -> ServiceResult<()> {
    let len = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&len) {
        return Err(ServiceError::validation(
            field,
            format!("{field} must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

fn check_display_name(raw: &str) -> ServiceResult<String> {
    let name = nfc(raw.trim());
    if has_format_char(&name) {
        return Err(ServiceError::validation(
            "display_name",
            "display_name must not contain invisible formatting characters (bidi overrides, zero-width)",
        ));
    }
    let len = name.chars().count();
    if len == 0 || len > MAX_DISPLAY_NAME || name.chars().any(char::is_control) {
        return Err(ServiceError::validation(
            "display_name",
            format!("display_name must be 1 to {MAX_DISPLAY_NAME} printable characters"),
        ));
    }
    Ok(name)
}

fn check_bio(raw: &str) -> ServiceResult<String> {
    let bio = nfc(raw.trim());
    if bio.chars().count() > MAX_BIO {
        return Err(ServiceError::validation("bio", format!("bio must be at most {MAX_BIO} characters")));
    }
    Ok(bio)
}

impl Service {
    /// A new account; `address` is the client's, for the registrations-per-address limit.
    pub async fn register(&self, input: RegisterInput, address: &str) -> ServiceResult<SignedIn> {
        let username = normalize_username(&input.username)?;
        check_password("password", &input.password)?;
        let display_name = check_display_name(input.display_name.as_deref().unwrap_or(&username))?;
        // Counted once the input is known good, and before the costly hash.
        self.limit(Limit::RegistrationsPerAddress, address).await?;
        let hash =
            hash_password(input.password, self.config.argon2_memory_kib, self.config.argon2_iterations)
                .await?;

        let profile = Profile {
            id: ids::new_id(),
            username: username.clone(),
            display_name,
            bio: String::new(),
            avatar_url: None,
            followers_count: 0,
            following_count: 0,
            posts_count: 0,
            created_at: time::now_rfc3339(),
            role: "user".into(),
            suspended: false,
            sessions_after: None,
        };
        let user_key = keys::user(&profile.id);
        let claim = keys::username_claim(&username);
        let mut ops = vec![
            TxOp::Put {
                item: Item::new(claim.pk, claim.sk)
                    .with("uid", profile.id.as_str())
                    .with("password_hash", hash),
                cond: Cond::NotExists,
            },
            TxOp::Put {
                item: Item::new(user_key.pk, user_key.sk)
                    .with_gsi1(keys::username_gsi(&username), "PROFILE")
                    .with_attrs(&profile),
                cond: Cond::NotExists,
            },
        ];
        ops.extend(
            users::search_entries(&profile).into_iter().map(|item| TxOp::Put { item, cond: Cond::None }),
        );
        match self.store.transact_write(ops).await {
            Ok(()) => {}
            Err(EngineError::TransactionCanceled { reasons })
                if reasons.first().is_some_and(Option::is_some) =>
            {
                return Err(ServiceError::Conflict {
                    code: "username_taken",
                    message: format!("username {username} is taken"),
                })
            }
            Err(err) => return Err(err.into()),
        }
        // A previous owner of the name may have been erased; forget its cached id.
        self.cache_del(&[self.ck.username(&username)]).await;
        let token = self.open_session(&profile.id).await?;
        Ok(SignedIn { user: User::from_profile(&profile, None), token })
    }

    /// A new session for the right password. `address` is the client's: sign-ins are
    /// limited per address, and failures per account; an account past its failure limit is
    /// refused (429) even with the right password until its window ends.
    pub async fn login(&self, input: LoginInput, address: &str) -> ServiceResult<SignedIn> {
        self.limit(Limit::SignInsPerAddress, address).await?;
        // A name no account could have needs no lookup: nothing to time there.
        let Ok(username) = normalize_username(&input.username) else {
            return Err(ServiceError::InvalidCredentials);
        };
        self.check_limit(Limit::SignInFailures, &username).await?;
        let claim = self.store.get(&keys::username_claim(&username)).await?;
        let (uid, hash) = match &claim {
            Some(item) => {
                (item.str("uid").unwrap_or_default(), item.str("password_hash").unwrap_or_default())
            }
            None => ("", ""),
        };
        let verified = if hash.is_empty() {
            let (memory, passes) = (self.config.argon2_memory_kib, self.config.argon2_iterations);
            verify_nobody(input.password, memory, passes).await?
        } else {
            verify_password(input.password, hash.to_string()).await?
        };
        if !verified {
            self.limit(Limit::SignInFailures, &username).await?;
            return Err(ServiceError::InvalidCredentials);
        }
        // From the store, not the cache: a suspension or a role given by `roost admin` in
        // another process counts from the next sign-in at the latest, whatever this
        // instance has cached.
        let stored = self.store.get(&keys::user(uid)).await?;
        let profile: Profile = stored.ok_or(ServiceError::InvalidCredentials)?.attrs_as()?;
        if profile.suspended {
            return Err(ServiceError::Suspended);
        }
        let cached = self.profile(uid).await?;
        if cached.is_none_or(|c| c.role != profile.role || c.suspended != profile.suspended) {
            self.forget_profiles(&[uid]).await;
        }
        let token = self.open_session(uid).await?;
        Ok(SignedIn { user: User::from_profile(&profile, None), token })
    }

    async fn open_session(&self, uid: &str) -> ServiceResult<String> {
        let sid = ids::new_id();
        let now = time::now_secs();
        let exp = now + i64::from(self.config.session_ttl_days) * 86_400;
        let key = keys::session(&sid);
        // Filed under the user too, so that all their sessions can be ended at once.
        let item = Item::new(key.pk, key.sk)
            .with_gsi1(keys::sessions_gsi(uid), sid.as_str())
            .with("uid", uid)
            .with("created_at", time::now_rfc3339())
            .with_ttl(exp);
        self.store.put(item, Cond::None).await?;
        Ok(self.tokens.sign(&Claims { sub: uid.to_string(), sid, iat: now, exp }))
    }

    /// The caller a token names, if the token is genuine and its session still open. The
    /// caller counts as seen (presence), at the cost of a map lookup most of the time.
    pub async fn authenticate(&self, token: &str) -> ServiceResult<Caller> {
        let caller = self.check_session(token).await?;
        self.touch_presence(&caller.user_id).await;
        Ok(caller)
    }

    async fn check_session(&self, token: &str) -> ServiceResult<Caller> {
        let claims = self.tokens.verify(token, time::now_secs()).ok_or(ServiceError::Unauthorized)?;
        let cache_key = self.ck.session(&claims.sid);
        // The user's session floor comes in the same round trip: a suspension sets it on
        // every instance at once (see `moderation`).
        // So does the user's hidden set, which the reads that filter by it take from the
        // caller instead of a round trip of their own.
        let mut cached = self
            .cache_mget(&[
                cache_key.clone(),
                self.ck.session_floor(&claims.sub),
                self.ck.hidden(&claims.sub),
                self.ck.hidden_epoch(&claims.sub),
            ])
            .await;
        let hidden_read = Some(HiddenRead::new(cached[2].take(), cached[3].take()));
        telemetry::cache_answers(CacheKind::Session, &cached[..1]);
        if cached[1].as_ref().is_some_and(|floor| claims.sid.as_bytes() < floor.as_ref()) {
            return Err(ServiceError::Unauthorized);
        }
        if let Some(uid) = &cached[0] {
            if uid == REVOKED_SESSION {
                return Err(ServiceError::Unauthorized);
            }
            if uid == claims.sub.as_bytes() {
                return Ok(Caller { user_id: claims.sub, session_id: claims.sid, hidden_read });
            }
        }
        let session_key = keys::session(&claims.sid);
        let found = by_key(self.store.batch_get(vec![session_key.clone(), keys::user(&claims.sub)]).await?);
        let session = found.get(&session_key).ok_or(ServiceError::Unauthorized)?;
        if session.str("uid") != Some(claims.sub.as_str()) {
            return Err(ServiceError::Unauthorized);
        }
        if let Some(profile) = found.get(&keys::user(&claims.sub)) {
            let profile: Profile = profile.attrs_as()?;
            let ended = profile.sessions_after.as_ref().is_some_and(|floor| claims.sid < *floor);
            if profile.suspended || ended {
                return Err(ServiceError::Unauthorized);
            }
        }
        // Only if absent: a logout that raced this check has left its mark, which must win
        // (an unconditional set would bring the revoked session back for the whole TTL).
        if let Err(err) = self.cache.set_nx(&cache_key, claims.sub.clone().into(), Some(ttl::SESSION)).await {
            tracing::warn!(%err, key = cache_key, "cache write failed");
        }
        Ok(Caller { user_id: claims.sub, session_id: claims.sid, hidden_read })
    }

    /// Revokes the caller's session on every instance: the store item goes, then the
    /// shared cache entry becomes a revocation mark (outliving any cached copy), so no
    /// instance can accept the token again, even one that read the session just before.
    pub async fn logout(&self, caller: &Caller) -> ServiceResult<()> {
        self.revoke_session(&caller.session_id).await
    }

    async fn revoke_session(&self, sid: &str) -> ServiceResult<()> {
        self.store.delete(&keys::session(sid), Cond::None).await?;
        let mark = bytes::Bytes::from_static(REVOKED_SESSION);
        self.cache.set(&self.ck.session(sid), mark, Some(ttl::SESSION * 2)).await?;
        Ok(())
    }

    /// Ends every session of `uid` but `keep`, on every instance at once (as `logout`
    /// does, one by one), found through gsi1. Sessions opened before sessions were filed
    /// there are not found; they end with their TTL.
    pub(crate) async fn revoke_sessions(&self, uid: &str, keep: Option<&str>) -> ServiceResult<()> {
        self.each_page(Source::gsi1(keys::sessions_gsi(uid)), |s, sessions| async move {
            let sids = sessions.iter().filter_map(|i| i.gsi1.as_ref().map(|g| g.1.as_str()));
            for sid in sids.filter(|sid| Some(*sid) != keep) {
                s.revoke_session(sid).await?;
            }
            Ok(())
        })
        .await
    }

    /// `POST /api/me/password`: checks the current password, stores the new one's hash in
    /// the username claim, then ends every other session of the caller.
    pub async fn change_password(&self, caller: &Caller, input: PasswordChange) -> ServiceResult<()> {
        check_password("new", &input.new)?;
        let profile = self.profile(&caller.user_id).await?.ok_or(ServiceError::Unauthorized)?;
        let claim_key = keys::username_claim(&profile.username);
        let claim = self.store.get(&claim_key).await?;
        let hash = claim
            .as_ref()
            .filter(|c| c.str("uid") == Some(caller.user_id.as_str()))
            .and_then(|c| c.str("password_hash"))
            .unwrap_or_default();
        if hash.is_empty() || !verify_password(input.current, hash.to_string()).await? {
            return Err(ServiceError::InvalidCredentials);
        }
        let new_hash =
            hash_password(input.new, self.config.argon2_memory_kib, self.config.argon2_iterations).await?;
        // Only while the claim is still the caller's (an erasure may have released it).
        let owner = Cond::Equals("uid".into(), caller.user_id.as_str().into());
        match self.store.update(&claim_key, Update::new().set("password_hash", new_hash), owner).await {
            Ok(_) => {}
            Err(EngineError::ConditionFailed) => return Err(ServiceError::Unauthorized),
            Err(err) => return Err(err.into()),
        }
        self.revoke_sessions(&caller.user_id, Some(&caller.session_id)).await
    }

    /// The caller's own user, with the unread notification count.
    pub async fn me(&self, caller: &Caller) -> ServiceResult<Me> {
        let (profile, unread_notifications) =
            futures::try_join!(self.profile(&caller.user_id), self.unread_notifications(&caller.user_id))?;
        let profile = profile.ok_or(ServiceError::Unauthorized)?;
        Ok(Me {
            user: User::from_profile(&profile, None),
            unread_notifications,
            moderator: profile.is_moderator(),
        })
    }

    /// Applies `edit` to the caller's profile and returns the result.
    pub async fn edit_profile(&self, caller: &Caller, edit: ProfileEdit) -> ServiceResult<User> {
        let before = self.profile(&caller.user_id).await?.ok_or(ServiceError::Unauthorized)?;
        let mut update = Update::new();
        let mut after = before.clone();
        if let Some(name) = &edit.display_name {
            after.display_name = check_display_name(name)?;
            update = update.set("display_name", after.display_name.as_str());
        }
        if let Some(bio) = &edit.bio {
            after.bio = check_bio(bio)?;
            update = update.set("bio", after.bio.as_str());
        }
        if let Some(media_id) = &edit.avatar_media_id {
            after.avatar_url = Some(self.avatar_url(caller, media_id).await?);
            update = update.set("avatar_url", after.avatar_url.clone());
        }
        let mut ops = vec![TxOp::Update { key: keys::user(&caller.user_id), update, cond: Cond::Exists }];
        if after.display_name != before.display_name {
            let (old, new) = (users::search_entries(&before), users::search_entries(&after));
            ops.extend(
                old.iter()
                    .filter(|o| !new.contains(o))
                    .map(|o| TxOp::Delete { key: o.key(), cond: Cond::None }),
            );
            ops.extend(
                new.into_iter().filter(|n| !old.contains(n)).map(|item| TxOp::Put { item, cond: Cond::None }),
            );
        }
        // A new avatar is attached to the profile for good (see `media::attach_ops`).
        let attach_at = ops.len();
        ops.extend(media::attach_ops(edit.avatar_media_id.as_slice()));
        match self.store.transact_write(ops).await {
            Ok(()) => {}
            Err(EngineError::TransactionCanceled { reasons }) => {
                return Err(match reasons.iter().position(Option::is_some) {
                    Some(i) if i >= attach_at => media::already_attached("avatar_media_id"),
                    _ => ServiceError::Unauthorized,
                })
            }
            Err(err) => return Err(err.into()),
        }
        self.forget_profiles(&[caller.user_id.as_str()]).await;
        Ok(User::from_profile(&after, None))
    }

    /// The URL of an image the caller uploaded, for use as an avatar.
    async fn avatar_url(&self, caller: &Caller, media_id: &str) -> ServiceResult<String> {
        let item = self.store.get(&keys::media(media_id)).await?;
        match item {
            Some(media) if media.str("owner_id") == Some(caller.user_id.as_str()) => {
                Ok(media.str("url").unwrap_or_default().to_string())
            }
            _ => Err(ServiceError::validation("avatar_media_id", "no such image of yours")),
        }
    }
}
