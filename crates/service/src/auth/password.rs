//! Passwords are stored only as argon2id PHC strings (salt and parameters included, so the
//! cost can be raised later without invalidating old hashes).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{ServiceError, ServiceResult};

fn hasher(memory_kib: u32, iterations: u32) -> ServiceResult<Argon2<'static>> {
    let params = Params::new(memory_kib, iterations, 1, None)
        .map_err(|e| ServiceError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes on the blocking pool: argon2 is deliberately slow, and must not stall the async
/// threads that serve other requests.
pub async fn hash_password(password: String, memory_kib: u32, iterations: u32) -> ServiceResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher(memory_kib, iterations)?
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ServiceError::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))?
}

/// Checks a password against a stored PHC string, with the parameters recorded in it.
pub async fn verify_password(password: String, phc: String) -> ServiceResult<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed =
            PasswordHash::new(&phc).map_err(|e| ServiceError::Internal(format!("stored hash: {e}")))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))?
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
}
