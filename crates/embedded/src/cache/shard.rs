//! One shard of the keyspace: keys in least-recently-used order, their expiry deadlines,
//! and a running count of the bytes they hold. Everything here runs under the shard's lock
//! and never waits, so the lock is held for microseconds.

use std::collections::BTreeSet;
use std::mem::size_of;
use std::time::Instant;

use hashlink::linked_hash_map::RawEntryMut;
use hashlink::LinkedHashMap;

use super::footprint;
use super::value::{Typed, Value};

/// A key of one type was used as another, as Redis's `WRONGTYPE` error.
#[derive(Debug)]
pub(super) struct WrongType;

pub(super) struct Entry {
    pub value: Value,
    pub expires_at: Option<Instant>,
}

impl Entry {
    fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

#[derive(Default)]
pub(super) struct Shard {
    /// Keys from least to most recently used: eviction pops the front, each access moves a
    /// key to the back. Hashed with foldhash: every cache call hashes its key, and SipHash
    /// showed up in profiles. Its seed is random per process, so collisions cannot be
    /// precomputed from the keys users influence (search prefixes).
    entries: LinkedHashMap<String, Entry, foldhash::fast::RandomState>,
    /// The keys that have a TTL, soonest first, so the purge task finds the due ones
    /// without scanning every key (as mini-redis does).
    expirations: BTreeSet<(Instant, String)>,
    /// Bytes held by `entries` and `expirations`: the sum of their keys' `footprint`s.
    used: usize,
}

/// What one key holds from the allocator: its slot, its name, its value and its deadline.
fn footprint(key: &str, entry: &Entry) -> usize {
    let deadline = if entry.expires_at.is_some() { footprint::deadline(key.len()) } else { 0 };
    footprint::key_slot(size_of::<Entry>())
        + footprint::text(key.len())
        + entry.value.approx_bytes()
        + deadline
}

impl Shard {
    /// Approximate bytes this shard's keys hold.
    #[cfg(test)]
    pub fn used(&self) -> usize {
        self.used
    }

    /// Reads a live key of type `T`, marking it recently used.
    pub fn read<T: Typed, R>(
        &mut self,
        key: &str,
        now: Instant,
        f: impl FnOnce(&T) -> R,
    ) -> Result<Option<R>, WrongType> {
        // One hash lookup, not `drop_if_expired`'s and then another: a feed page reads some
        // sixty keys, and each lookup is a likely cache miss.
        let entry = match self.entries.raw_entry_mut().from_key(key) {
            RawEntryMut::Vacant(_) => return Ok(None),
            RawEntryMut::Occupied(occupied) if occupied.get().is_expired(now) => {
                let (key, entry) = occupied.remove_entry();
                self.forget(&key, entry);
                return Ok(None);
            }
            RawEntryMut::Occupied(mut occupied) => {
                occupied.to_back();
                occupied.into_mut()
            }
        };
        T::of(&entry.value).map(|value| Some(f(value))).ok_or(WrongType)
    }

    /// Changes a key of type `T` in place, creating it empty if missing; its TTL stays.
    /// A collection left empty is deleted, as Redis does.
    pub fn write<T: Typed, R>(
        &mut self,
        key: &str,
        now: Instant,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, WrongType> {
        self.drop_if_expired(key, now);
        let (entry, before) = match self.entries.raw_entry_mut().from_key(key) {
            RawEntryMut::Occupied(mut occupied) => {
                occupied.to_back();
                let entry = occupied.into_mut();
                let before = footprint(key, entry);
                (entry, before)
            }
            RawEntryMut::Vacant(vacant) => {
                let entry = Entry { value: T::empty(), expires_at: None };
                (vacant.insert(key.to_owned(), entry).1, 0)
            }
        };
        let value = T::of_mut(&mut entry.value).ok_or(WrongType)?;
        let result = f(value);
        let emptied = entry.value.is_empty_collection();
        self.used = self.used + footprint(key, entry) - before;
        if emptied {
            self.remove(key, now);
        }
        Ok(result)
    }

    /// Stores `value` under `key`, replacing whatever was there and its TTL (`SET`).
    pub fn set(&mut self, key: &str, value: Value, expires_at: Option<Instant>, now: Instant) {
        self.remove(key, now);
        let entry = Entry { value, expires_at };
        self.used += footprint(key, &entry);
        if let Some(at) = expires_at {
            self.expirations.insert((at, key.to_owned()));
        }
        self.entries.insert(key.to_owned(), entry);
    }

    pub fn contains(&mut self, key: &str, now: Instant) -> bool {
        self.drop_if_expired(key, now);
        self.entries.contains_key(key)
    }

    /// Removes a live key; true when there was one.
    pub fn remove(&mut self, key: &str, now: Instant) -> bool {
        self.drop_if_expired(key, now);
        match self.entries.remove_entry(key) {
            Some((key, entry)) => {
                self.forget(&key, entry);
                true
            }
            None => false,
        }
    }

    /// Gives a live key a new deadline; false when there is no such key.
    pub fn expire(&mut self, key: &str, at: Instant, now: Instant) -> bool {
        self.drop_if_expired(key, now);
        let Some(entry) = self.entries.get_mut(key) else { return false };
        match entry.expires_at.replace(at) {
            Some(old) => {
                self.expirations.remove(&(old, key.to_owned()));
            }
            None => self.used += footprint::deadline(key.len()),
        }
        self.expirations.insert((at, key.to_owned()));
        true
    }

    /// `INCRBY` on a string counter, giving it the deadline `window_end` if it has none
    /// (a new key): the new count and the key's deadline. A value that is not a decimal
    /// counter is refused, as Redis refuses to increment it.
    pub fn incr_window(
        &mut self,
        key: &str,
        delta: u64,
        window_end: Instant,
        now: Instant,
    ) -> Result<(u64, Instant), WrongType> {
        self.drop_if_expired(key, now);
        let (current, deadline) = match self.entries.get(key) {
            None => (0, None),
            Some(Entry { value: Value::String(text), expires_at }) => {
                let count = std::str::from_utf8(text).ok().and_then(|t| t.parse::<u64>().ok());
                (count.ok_or(WrongType)?, *expires_at)
            }
            Some(_) => return Err(WrongType),
        };
        let count = current.saturating_add(delta);
        let deadline = deadline.unwrap_or(window_end);
        self.set(key, Value::String(count.to_string().into()), Some(deadline), now);
        Ok((count, deadline))
    }

    /// The earliest deadline in this shard, to tell whether a new one must wake the purge task.
    pub fn next_expiration(&self) -> Option<Instant> {
        self.expirations.first().map(|(at, _)| *at)
    }

    /// Drops every key whose deadline has passed; the next deadline still ahead, if any.
    pub fn purge_expired(&mut self, now: Instant) -> Option<Instant> {
        while let Some((at, key)) = self.expirations.first() {
            if *at > now {
                return Some(*at);
            }
            let key = key.clone();
            self.remove(&key, now);
        }
        None
    }

    /// Drops least recently used keys until the shard holds at most `budget` bytes.
    pub fn evict(&mut self, budget: usize) -> usize {
        let mut evicted = 0;
        while self.used > budget {
            let Some((key, entry)) = self.entries.pop_front() else { break };
            self.forget(&key, entry);
            evicted += 1;
        }
        evicted
    }

    /// Expired keys are invisible the moment their deadline passes, whether or not the
    /// purge task has reached them yet.
    fn drop_if_expired(&mut self, key: &str, now: Instant) {
        if self.entries.get(key).is_some_and(|entry| entry.is_expired(now)) {
            if let Some((key, entry)) = self.entries.remove_entry(key) {
                self.forget(&key, entry);
            }
        }
    }

    /// The bookkeeping for an entry just taken out of `entries`.
    fn forget(&mut self, key: &str, entry: Entry) {
        self.used -= footprint(key, &entry);
        if let Some(at) = entry.expires_at {
            self.expirations.remove(&(at, key.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::cache::value::Set;

    fn string(text: &str) -> Value {
        Value::String(Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn eviction_drops_the_least_recently_used() {
        let now = Instant::now();
        let mut shard = Shard::default();
        for key in ["a", "b", "c"] {
            shard.set(key, string("x"), None, now);
        }
        shard.read::<Bytes, _>("a", now, |_| ()).unwrap();
        let one_key = shard.used / 3;
        assert_eq!(shard.evict(2 * one_key), 1);
        assert!(!shard.contains("b", now), "b was the least recently used");
        assert!(shard.contains("a", now) && shard.contains("c", now));
    }

    #[test]
    fn byte_count_returns_to_zero() {
        let now = Instant::now();
        let mut shard = Shard::default();
        shard.set("s", string("value"), Some(now + Duration::from_secs(60)), now);
        shard.write::<Set, _>("set", now, |set| set.insert("member")).unwrap();
        shard.write::<Set, _>("set", now, |set| set.insert("other")).unwrap();
        assert!(shard.used > 0);
        shard.write::<Set, _>("set", now, |set| set.remove("member")).unwrap();
        shard.write::<Set, _>("set", now, |set| set.remove("other")).unwrap();
        assert!(!shard.contains("set", now), "an emptied set is deleted");
        shard.remove("s", now);
        assert_eq!(shard.used, 0);
        assert_eq!(shard.next_expiration(), None);
    }

    #[test]
    fn expired_keys_are_invisible_then_purged() {
        let now = Instant::now();
        let later = now + Duration::from_secs(10);
        let mut shard = Shard::default();
        shard.set("gone", string("x"), Some(now + Duration::from_secs(1)), now);
        shard.set("kept", string("x"), Some(now + Duration::from_secs(60)), now);
        assert!(shard.contains("gone", now));
        assert_eq!(shard.read::<Bytes, _>("gone", later, Bytes::clone).unwrap(), None);
        assert_eq!(shard.purge_expired(later), Some(now + Duration::from_secs(60)));
        assert_eq!(shard.entries.len(), 1);
    }

    #[test]
    fn wrong_type_changes_nothing() {
        let now = Instant::now();
        let mut shard = Shard::default();
        shard.set("s", string("x"), None, now);
        let used = shard.used;
        assert!(shard.write::<Set, _>("s", now, |set| set.insert("m")).is_err());
        assert!(shard.read::<Set, _>("s", now, |set| set.members.len()).is_err());
        assert_eq!(shard.used, used);
    }
}
