//! Session tokens: compact JWTs (HS256) whose claims name a server-side session.
//!
//! The signature only proves the token was issued by Roost; whether it still counts is
//! decided by the session item, so logout revokes at once. The HMAC key is kept in the store
//! (created by whichever instance starts first), so every instance accepts every token and a
//! restart logs nobody out.
//!
//! Written here rather than with a JWT crate: HS256 is a few lines over `hmac`/`sha2`, while
//! the JWT crates' crypto backends bring RSA and elliptic-curve code Roost never uses.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use roost_engines::{Cond, EngineError, Item, Store};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{ServiceError, ServiceResult};
use crate::keys;

type HmacSha256 = Hmac<Sha256>;

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: String,
    /// The session (`SESSION#sid`), checked on every request.
    pub sid: String,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: i64,
    /// Expiry, in seconds since the Unix epoch; the token is refused after it.
    pub exp: i64,
}

/// Signs and verifies session tokens (HS256 JWTs) with one secret key.
pub struct TokenSigner {
    key: Vec<u8>,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl TokenSigner {
    /// A signer using `key` as the HMAC secret.
    pub fn new(key: &[u8]) -> Self {
        TokenSigner { key: key.to_vec() }
    }

    /// A key for another purpose (`purpose` names it), derived from the token key so that
    /// every instance has it too, and unrelated to it.
    pub fn derive_key(&self, purpose: &str) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The key from configuration, else the one in the store, else a new random one that
    /// this instance writes first (a conditional put, so concurrent first starts agree).
    pub async fn load_or_create(store: &dyn Store, configured: Option<&str>) -> ServiceResult<TokenSigner> {
        if let Some(secret) = configured {
            return Ok(TokenSigner::new(secret.as_bytes()));
        }
        let key = keys::token_secret();
        loop {
            if let Some(item) = store.get(&key).await? {
                let secret =
                    item.str("secret").ok_or_else(|| ServiceError::Internal("token secret item".into()))?;
                let bytes =
                    URL_SAFE_NO_PAD.decode(secret).map_err(|e| ServiceError::Internal(e.to_string()))?;
                return Ok(TokenSigner::new(&bytes));
            }
            let fresh: [u8; 32] = rand::random();
            let item =
                Item::new(key.pk.clone(), key.sk.clone()).with("secret", URL_SAFE_NO_PAD.encode(fresh));
            match store.put(item, Cond::NotExists).await {
                Ok(()) => return Ok(TokenSigner::new(&fresh)),
                Err(EngineError::ConditionFailed) => continue,
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// The signed token carrying `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(HEADER), URL_SAFE_NO_PAD.encode(payload));
        let signature = self.mac(signing_input.as_bytes()).finalize().into_bytes();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The claims of a well-signed, unexpired token.
    pub fn verify(&self, token: &str, now: i64) -> Option<Claims> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        // Only HS256: never let the token choose its own algorithm ("alg: none" attacks).
        if header.get("alg")?.as_str()? != "HS256" {
            return None;
        }
        self.mac(signing_input.as_bytes()).verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?).ok()?;
        let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        (claims.exp > now).then_some(claims)
    }

    fn mac(&self, input: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(input);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims { sub: "U".into(), sid: "S".into(), iat: 0, exp }
    }

    #[test]
    fn signs_and_verifies() {
        let signer = TokenSigner::new(b"key");
        let token = signer.sign(&claims(100));
        assert_eq!(signer.verify(&token, 50), Some(claims(100)));
    }

    #[test]
    fn rejects_expired_tampered_and_foreign_tokens() {
        let signer = TokenSigner::new(b"key");
        let token = signer.sign(&claims(100));
        assert_eq!(signer.verify(&token, 100), None);
        assert_eq!(TokenSigner::new(b"other").verify(&token, 50), None);
        let (head, _) = token.rsplit_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(999)).unwrap());
        let (header, _) = head.split_once('.').unwrap();
        let forged = format!("{header}.{forged_payload}.{}", token.rsplit_once('.').unwrap().1);
        assert_eq!(signer.verify(&forged, 50), None);
        let none_alg = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), forged_payload);
        assert_eq!(signer.verify(&none_alg, 50), None);
        assert_eq!(signer.verify("garbage", 50), None);
    }
}
