//! Passwords are stored only as argon2id PHC strings (salt and parameters included, so the
//! cost can be raised later without invalidating old hashes). Hashing runs behind a gate
//! of one hash per core (see `gated`).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use tokio::sync::OnceCell;

use crate::error::{ServiceError, ServiceResult};
use crate::gated::{self, Gate};

static HASHING: Gate = Gate::new(gated::per_core);

/// A hash of no one's password, checked when a sign-in names no account, so that the answer
/// takes as long as for a real account (the timing does not tell which names exist).
static DUMMY_HASH: OnceCell<String> = OnceCell::const_new();

fn hasher(memory_kib: u32, iterations: u32) -> ServiceResult<Argon2<'static>> {
    let params = Params::new(memory_kib, iterations, 1, None)
        .map_err(|e| ServiceError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes on the blocking pool: argon2 is deliberately slow, and must not stall the async
/// threads that serve other requests.
pub async fn hash_password(password: String, memory_kib: u32, iterations: u32) -> ServiceResult<String> {
    gated::run(&HASHING, move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher(memory_kib, iterations)?
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ServiceError::Internal(format!("argon2: {e}")))
    })
    .await?
}

/// Checks a password against a stored PHC string, with the parameters recorded in it.
pub async fn verify_password(password: String, phc: String) -> ServiceResult<bool> {
    gated::run(&HASHING, move || {
        let parsed =
            PasswordHash::new(&phc).map_err(|e| ServiceError::Internal(format!("stored hash: {e}")))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await?
}

/// Spends the time of a real check for a sign-in that names no account; always false.
/// The dummy hash has the cost new accounts get (the first call's parameters).
pub async fn verify_nobody(password: String, memory_kib: u32, iterations: u32) -> ServiceResult<bool> {
    let dummy = DUMMY_HASH
        .get_or_try_init(|| hash_password("no one's password".into(), memory_kib, iterations))
        .await?;
    verify_password(password, dummy.clone()).await?;
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let a = hash_password("correct horse".into(), 1024, 1).await.unwrap();
        let b = hash_password("correct horse".into(), 1024, 1).await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify_password("correct horse".into(), a.clone()).await.unwrap());
        assert!(!verify_password("wrong".into(), a).await.unwrap());
    }

    #[tokio::test]
    async fn nobody_matches_the_dummy_hash() {
        assert!(!verify_nobody("no one's password".into(), 1024, 1).await.unwrap());
    }
}
