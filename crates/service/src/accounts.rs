//! Accounts and sessions: register, login, logout, the token check every request makes,
//! and editing one's own profile.

use roost_engines::{Cond, EngineError, Item, TxOp, Update};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{hash_password, verify_nobody, verify_password, Claims};
use crate::config::ttl;
use crate::error::{ServiceError, ServiceResult};
use crate::limits::Limit;
use crate::model::{Caller, Me, Profile, SignedIn, User};
use crate::unicode::{has_format_char, nfc};
use crate::{ids, keys, time, users, Service};

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct RegisterInput {
    pub username: String,
    pub password: String,
    pub display_name: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

/// `PATCH /api/me`: absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct ProfileEdit {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub avatar_media_id: Option<String>,
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

pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 256;
pub const MAX_DISPLAY_NAME: usize = 50;
pub const MAX_BIO: usize = 300;

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
        let len = input.password.chars().count();
        if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&len) {
            return Err(ServiceError::validation(
                "password",
                format!("password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
            ));
        }
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
        let profile = self.profile(uid).await?.ok_or(ServiceError::InvalidCredentials)?;
        let token = self.open_session(uid).await?;
        Ok(SignedIn { user: User::from_profile(&profile, None), token })
    }

    async fn open_session(&self, uid: &str) -> ServiceResult<String> {
        let sid = ids::new_id();
        let now = time::now_secs();
        let exp = now + i64::from(self.config.session_ttl_days) * 86_400;
        let key = keys::session(&sid);
        let item =
            Item::new(key.pk, key.sk).with("uid", uid).with("created_at", time::now_rfc3339()).with_ttl(exp);
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
        if let Some(uid) = self.cache_get(&cache_key).await {
            if uid == REVOKED_SESSION {
                return Err(ServiceError::Unauthorized);
            }
            if uid == claims.sub.as_bytes() {
                return Ok(Caller { user_id: claims.sub, session_id: claims.sid });
            }
        }
        let session = self.store.get(&keys::session(&claims.sid)).await?.ok_or(ServiceError::Unauthorized)?;
        if session.str("uid") != Some(claims.sub.as_str()) {
            return Err(ServiceError::Unauthorized);
        }
        // Only if absent: a logout that raced this check has left its mark, which must win
        // (an unconditional set would bring the revoked session back for the whole TTL).
        if let Err(err) = self.cache.set_nx(&cache_key, claims.sub.clone().into(), Some(ttl::SESSION)).await {
            tracing::warn!(%err, key = cache_key, "cache write failed");
        }
        Ok(Caller { user_id: claims.sub, session_id: claims.sid })
    }

    /// Revokes the caller's session on every instance: the store item goes, then the
    /// shared cache entry becomes a revocation mark (outliving any cached copy), so no
    /// instance can accept the token again, even one that read the session just before.
    pub async fn logout(&self, caller: &Caller) -> ServiceResult<()> {
        self.store.delete(&keys::session(&caller.session_id), Cond::None).await?;
        let mark = bytes::Bytes::from_static(REVOKED_SESSION);
        self.cache.set(&self.ck.session(&caller.session_id), mark, Some(ttl::SESSION * 2)).await?;
        Ok(())
    }

    pub async fn me(&self, caller: &Caller) -> ServiceResult<Me> {
        let (profile, unread_notifications) =
            futures::try_join!(self.profile(&caller.user_id), self.unread_notifications(&caller.user_id))?;
        let profile = profile.ok_or(ServiceError::Unauthorized)?;
        Ok(Me { user: User::from_profile(&profile, None), unread_notifications })
    }

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
        self.store.transact_write(ops).await?;
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
