//! Clock helpers: RFC 3339 strings for the API, epoch seconds for TTLs.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub(crate) fn now_rfc3339() -> String {
    rfc3339_of_millis(now_millis())
}

pub(crate) fn now_millis() -> u64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as u64
}

pub(crate) fn now_secs() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The RFC 3339 string of a moment in milliseconds since the epoch.
pub fn rfc3339_of_millis(millis: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(millis as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Milliseconds since the epoch of an RFC 3339 string.
pub fn parse_rfc3339_millis(s: &str) -> Option<u64> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// `YYYYMMDDHH` (UTC) of a moment: the hour partition of the timeline index.
pub fn hour_bucket(millis: u64) -> String {
    match OffsetDateTime::from_unix_timestamp((millis / 1000) as i64) {
        Ok(t) => format!("{:04}{:02}{:02}{:02}", t.year(), u8::from(t.month()), t.day(), t.hour()),
        Err(_) => "0000000000".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(rfc3339_of_millis(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(parse_rfc3339_millis("2023-11-14T22:13:20.123Z"), Some(1_700_000_000_123));
        assert_eq!(parse_rfc3339_millis("yesterday"), None);
        assert_eq!(hour_bucket(1_700_000_000_123), "2023111422");
    }
}
