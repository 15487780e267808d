//! Retried creates do not duplicate: the `Idempotency-Key` header.
//!
//! A create that carries a key writes, in its own transaction and on condition that none
//! exists, an item naming what it created and a hash of the request, per user and kind of
//! create, kept [`KEEP`]. A retry with the same key and the same request answers what the
//! first one created; the same key with another request is refused (422), as is a key that
//! is not 1 to 255 visible ASCII characters.

use std::time::Duration;

use roost_engines::{Cond, Item, TxOp};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ServiceError, ServiceResult};
use crate::model::Caller;
use crate::{keys, time, Service};

/// The request header.
pub const HEADER: &str = "Idempotency-Key";
/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;
/// How long a key is remembered.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);

/// A client's idempotency key for one create, with the hash of that create's request.
#[derive(Clone, Debug)]
pub struct IdempotencyKey {
    scope: &'static str,
    key: String,
    fingerprint: String,
}

impl IdempotencyKey {
    /// `key` as the client sent it, for a create of kind `scope` (`post`, `comment`) whose
    /// outcome `request` determines (the body, and the path's ids).
    pub fn new<T: Serialize>(scope: &'static str, key: &str, request: &T) -> ServiceResult<Self> {
        if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ServiceError::validation(
                HEADER,
                format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            ));
        }
        let fingerprint = hex(&Sha256::digest(serde_json::to_vec(request)?));
        Ok(IdempotencyKey { scope, key: key.to_string(), fingerprint })
    }
}

/// For the answer of a replay: what the first request created is gone (deleted since), so
/// there is nothing to answer with, and a new create under the same key would be a second
/// one; the client is told to use a new key (422, which every create documents).
pub(crate) fn deleted_since(err: ServiceError) -> ServiceError {
    match err {
        ServiceError::NotFound(what) => ServiceError::validation(
            HEADER,
            format!(
                "the {what} the first request with this key created has been deleted since; send a new key"
            ),
        ),
        other => other,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Service {
    /// The id a previous create with this key made, if any: `None` for a new key; 422 when
    /// the key was used for another request.
    pub async fn idempotent_replay(
        &self,
        caller: &Caller,
        key: Option<&IdempotencyKey>,
    ) -> ServiceResult<Option<String>> {
        let Some(key) = key else { return Ok(None) };
        let Some(item) = self.store.get(&keys::idempotency(&caller.user_id, key.scope, &key.key)).await?
        else {
            return Ok(None);
        };
        if item.str("fingerprint") != Some(key.fingerprint.as_str()) {
            return Err(ServiceError::validation(
                HEADER,
                "this key was used for a different request; use a new key for a new request",
            ));
        }
        Ok(item.str("created_id").map(str::to_string))
    }

    /// The item recording that this create made `created_id`, for its transaction: it fails
    /// the transaction when a concurrent request with the same key got there first.
    pub(crate) fn idempotency_put(caller: &Caller, key: &IdempotencyKey, created_id: &str) -> TxOp {
        let k = keys::idempotency(&caller.user_id, key.scope, &key.key);
        let expires = (time::now_millis() / 1000) as i64 + KEEP.as_secs() as i64;
        let item = Item::new(k.pk, k.sk)
            .with("fingerprint", key.fingerprint.as_str())
            .with("created_id", created_id)
            .with_ttl(expires);
        TxOp::Put { item, cond: Cond::NotExists }
    }
}

/// A short digest of `bytes`, for requests that carry a file (their fingerprint holds the
/// file's digest, not the file).
pub fn digest(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
