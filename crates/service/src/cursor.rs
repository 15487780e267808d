//! API cursors: an opaque, URL-safe encoding of where a list stopped. For store-backed lists
//! it is the store's `StartKey`; clients never parse it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use roost_engines::StartKey;
use serde::{de::DeserializeOwned, Serialize};

use crate::error::{ServiceError, ServiceResult};

pub(crate) fn encode<T: Serialize>(position: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

/// The position a cursor from `encode` carries; a cursor that is not one is a bad request.
pub fn decode<T: DeserializeOwned>(cursor: &str) -> ServiceResult<T> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| ServiceError::BadRequest("invalid cursor".into()))
}

pub(crate) fn decode_start(cursor: Option<&str>) -> ServiceResult<Option<StartKey>> {
    cursor.map(decode).transpose()
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
        let key = StartKey { pk: "USER#1".into(), sk: "FOLLOWER#2".into(), isk: Some("x".into()) };
        assert_eq!(decode::<StartKey>(&encode(&key)).unwrap(), key);
        assert!(matches!(decode::<StartKey>("!!"), Err(ServiceError::BadRequest(_))));
        assert!(matches!(decode::<StartKey>("aGVsbG8"), Err(ServiceError::BadRequest(_))));
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
}
