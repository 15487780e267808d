//! API cursors: an opaque, URL-safe, signed encoding of where a list stopped. For
//! store-backed lists it is the store's `StartKey`; clients never parse it.
//!
//! A cursor is `base64(json).base64(mac)`, the MAC an HMAC-SHA256 (cut to 128 bits) under
//! a key derived from the token key, which every instance shares. Why signed: a start key
//! is handed to the store as is, and one a client made up (another partition, an index key
//! of the wrong shape) would make the store fail, or page through a list the caller was
//! never shown. With the signature, anything but a cursor Roost issued is a 400.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use roost_engines::StartKey;
use serde::{de::DeserializeOwned, Serialize};
use sha2::Sha256;

use crate::error::{ServiceError, ServiceResult};

/// Bytes of the MAC kept in a cursor: 128 bits cannot be guessed, and keep cursors short.
const MAC_BYTES: usize = 16;

/// Signs and checks cursors.
pub struct Cursors {
    key: Vec<u8>,
}

impl Cursors {
    /// Cursors under `key` (derived from the token key; see `TokenSigner::derive_key`).
    pub fn new(key: Vec<u8>) -> Cursors {
        Cursors { key }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload);
        mac
    }

    /// The cursor of a position.
    pub fn encode<T: Serialize>(&self, position: &T) -> String {
        let payload = serde_json::to_vec(position).unwrap_or_default();
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(&tag[..MAC_BYTES]))
    }

    /// The position in a cursor this service issued; anything else is 400.
    pub fn decode<T: DeserializeOwned>(&self, cursor: &str) -> ServiceResult<T> {
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        if tag.len() != MAC_BYTES {
            return Err(invalid());
        }
        // `verify_truncated_left` compares in constant time.
        self.mac(&payload).verify_truncated_left(&tag).map_err(|_| invalid())?;
        serde_json::from_slice(&payload).map_err(|_| invalid())
    }

    /// A store start key from an optional cursor.
    pub fn decode_start(&self, cursor: Option<&str>) -> ServiceResult<Option<StartKey>> {
        cursor.map(|c| self.decode(c)).transpose()
    }
}

fn invalid() -> ServiceError {
    ServiceError::BadRequest("invalid cursor".into())
}

/// A page request as the API received it: `limit` 1..=100 (default 20), optional cursor.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    /// Page size asked for; `None` takes the default.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page; `None` for the first page.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The page size, checked to be 1..=100 (20 when absent).
    pub fn limit(&self) -> ServiceResult<usize> {
        self.limit_up_to(100)
    }

    /// The limit, for lists shorter than the usual 100 at most.
    pub fn limit_up_to(&self, max: usize) -> ServiceResult<usize> {
        match self.limit.map(|n| n as usize) {
            None => Ok(20.min(max)),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(_) => Err(ServiceError::validation("limit", format!("limit must be between 1 and {max}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let cursors = Cursors::new(b"key".to_vec());
        let key = StartKey { pk: "USER#1".into(), sk: "FOLLOWER#2".into(), isk: Some("x".into()) };
        assert_eq!(cursors.decode::<StartKey>(&cursors.encode(&key)).unwrap(), key);
        for garbage in ["!!", "aGVsbG8", "aGVsbG8.", "eyJwayI6IngiLCJzayI6InkifQ"] {
            assert!(
                matches!(cursors.decode::<StartKey>(garbage), Err(ServiceError::BadRequest(_))),
                "{garbage}"
            );
        }
    }

    #[test]
    fn a_cursor_made_or_changed_without_the_key_is_refused() {
        let (ours, theirs) = (Cursors::new(b"ours".to_vec()), Cursors::new(b"theirs".to_vec()));
        let key = StartKey { pk: "x".into(), sk: "y".into(), isk: None };
        assert!(ours.decode::<StartKey>(&theirs.encode(&key)).is_err(), "signed with another key");
        let genuine = ours.encode(&"post-1");
        let (_, tag) = genuine.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(br#""post-2""#));
        assert!(ours.decode::<String>(&forged).is_err(), "another position under a genuine tag");
        let short = &genuine[..genuine.len() - 2];
        assert!(ours.decode::<String>(short).is_err(), "a shortened tag");
    }

    #[test]
    fn limit_bounds() {
        assert_eq!(PageRequest::default().limit().unwrap(), 20);
        assert!(PageRequest { limit: Some(0), cursor: None }.limit().is_err());
        assert!(PageRequest { limit: Some(101), cursor: None }.limit().is_err());
        assert_eq!(PageRequest { limit: Some(100), cursor: None }.limit().unwrap(), 100);
        assert!(PageRequest { limit: Some(51), cursor: None }.limit_up_to(50).is_err());
        assert_eq!(PageRequest { limit: Some(50), cursor: None }.limit_up_to(50).unwrap(), 50);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn start_key() -> impl Strategy<Value = StartKey> {
            (".*", ".*", proptest::option::of(".*")).prop_map(|(pk, sk, isk)| StartKey { pk, sk, isk })
        }

        proptest! {
            #[test]
            fn every_issued_cursor_decodes_to_its_position(key in start_key()) {
                let cursors = Cursors::new(b"key".to_vec());
                prop_assert_eq!(cursors.decode::<StartKey>(&cursors.encode(&key)).unwrap(), key);
            }

            /// Whatever a client sends, decoding answers (no panic), and only with a position
            /// that was issued: without the key, a made-up string is a 400.
            #[test]
            fn any_other_string_is_a_bad_request(garbage in ".*", key in start_key()) {
                let cursors = Cursors::new(b"key".to_vec());
                let issued = cursors.encode(&key);
                prop_assume!(garbage != issued);
                prop_assert!(matches!(cursors.decode::<StartKey>(&garbage), Err(ServiceError::BadRequest(_))));
            }

            /// Changing any one character of an issued cursor makes it invalid.
            #[test]
            fn an_altered_cursor_is_refused(key in start_key(), at in any::<prop::sample::Index>(), with in any::<char>()) {
                let cursors = Cursors::new(b"key".to_vec());
                let issued = cursors.encode(&key);
                let mut chars: Vec<char> = issued.chars().collect();
                let i = at.index(chars.len());
                prop_assume!(chars[i] != with);
                chars[i] = with;
                let altered: String = chars.into_iter().collect();
                // Base64 without padding: the last character may carry unused low bits, and a
                // change only there decodes to the same bytes (the same, issued, cursor).
                match cursors.decode::<StartKey>(&altered) {
                    Ok(decoded) => prop_assert_eq!(decoded, key),
                    Err(err) => prop_assert!(matches!(err, ServiceError::BadRequest(_))),
                }
            }
        }
    }
}
