//! Time-sortable identifiers, in the ULID layout: 48 bits of milliseconds since the epoch
//! and 80 random bits, written as 26 characters of Crockford base32. Within one process
//! ids are strictly increasing even inside one millisecond, so "newer sorts later" holds for
//! everything a single instance creates; across instances it holds to the clock's precision.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RANDOM_BITS: u32 = 80;

/// The last id handed out, so the next one can be made larger.
static LAST: Mutex<u128> = Mutex::new(0);

/// A new id, larger than every id this process made before.
pub fn new_id() -> String {
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let fresh = (millis << RANDOM_BITS) | (rand::random::<u128>() & ((1u128 << RANDOM_BITS) - 1));
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    // Same millisecond (or a clock step back): keep increasing from the last id.
    let value = if fresh > *last { fresh } else { *last + 1 };
    *last = value;
    encode(value)
}

fn encode(mut value: u128) -> String {
    let mut out = [0u8; 26];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value & 31) as usize];
        value >>= 5;
    }
    out.iter().map(|&b| b as char).collect()
}

/// Whether `s` has the shape of an id (usernames never do: they are lowercase). An id is 128
/// bits in 130 bits of characters, so the first one is at most `7`; a larger one would
/// overflow and read as some other id's time.
pub fn looks_like_id(s: &str) -> bool {
    s.len() == 26 && s.as_bytes()[0] <= b'7' && s.bytes().all(|b| ALPHABET.contains(&b))
}

/// The creation time of an id, in milliseconds since the epoch.
pub fn millis_of(id: &str) -> Option<u64> {
    if !looks_like_id(id) {
        return None;
    }
    let mut value: u128 = 0;
    for b in id.bytes() {
        value = (value << 5) | ALPHABET.iter().position(|&a| a == b)? as u128;
    }
    Some((value >> RANDOM_BITS) as u64)
}

/// The smallest id of a given millisecond (for range queries by time).
pub fn floor_id(millis: u64) -> String {
    encode((millis as u128) << RANDOM_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_have_the_ulid_shape() {
        let ids: Vec<String> = (0..10_000).map(|_| new_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.iter().all(|id| looks_like_id(id)));
    }

    #[test]
    fn time_round_trips() {
        let id = floor_id(1_700_000_000_123);
        assert_eq!(millis_of(&id), Some(1_700_000_000_123));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let made = millis_of(&new_id()).unwrap();
        assert!(made >= now && made < now + 1000);
    }

    #[test]
    fn usernames_never_look_like_ids() {
        assert!(!looks_like_id("abcdefghijklmnopqrstuvwxyz"));
        assert!(!looks_like_id("ALICE"));
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Every millisecond an id can hold: 48 bits.
        const MAX_MILLIS: u64 = (1 << 48) - 1;

        proptest! {
            #[test]
            fn the_floor_id_of_a_millisecond_round_trips(millis in 0..=MAX_MILLIS) {
                let id = floor_id(millis);
                prop_assert!(looks_like_id(&id));
                prop_assert_eq!(millis_of(&id), Some(millis));
            }

            #[test]
            fn later_milliseconds_sort_later(a in 0..=MAX_MILLIS, b in 0..=MAX_MILLIS) {
                prop_assert_eq!(floor_id(a).cmp(&floor_id(b)), a.cmp(&b));
            }

            /// Any string: parsing answers (no panic); an id has a time, and sorts at or after
            /// the floor id of that millisecond and before the next one's.
            #[test]
            fn any_string_parses_to_nothing_or_to_its_own_millisecond(s in "[0-9A-Z]{26}|[0-9A-Za-z]{0,30}|.*") {
                match millis_of(&s) {
                    None => prop_assert!(!looks_like_id(&s)),
                    Some(millis) => {
                        prop_assert!(looks_like_id(&s));
                        prop_assert!(floor_id(millis) <= s);
                        prop_assert!(millis == MAX_MILLIS || s < floor_id(millis + 1));
                    }
                }
            }

            #[test]
            fn any_id_shaped_string_is_an_id(s in "[0-7][0-9A-HJKMNP-TV-Z]{25}") {
                prop_assert!(looks_like_id(&s));
                prop_assert!(millis_of(&s).is_some());
            }
        }
    }
}
