//! What a key holds: one of the four Redis types the service uses, each knowing its
//! heap size so the keyspace can bound its memory without walking values.

use std::collections::{HashMap, HashSet};
use std::mem::size_of;

use bytes::Bytes;

use super::footprint;
pub(super) use super::hyperloglog::HyperLogLog;
pub(super) use super::sorted_set::SortedSet;

pub(super) enum Value {
    String(Bytes),
    SortedSet(SortedSet),
    Set(Set),
    Hash(Hash),
    /// A string in Redis (its registers are the bytes `GET` would answer); a type of its
    /// own here so that `PFADD` changes a register in place. The service never `GET`s one.
    HyperLogLog(HyperLogLog),
}

impl Value {
    pub fn approx_bytes(&self) -> usize {
        match self {
            Value::String(bytes) => footprint::text(bytes.len()),
            Value::SortedSet(set) => set.approx_bytes(),
            Value::Set(set) => set.bytes + footprint::table(set.members.capacity(), size_of::<String>()),
            Value::Hash(hash) => {
                hash.bytes + footprint::table(hash.fields.capacity(), size_of::<(String, i64)>())
            }
            Value::HyperLogLog(hll) => hll.approx_bytes(),
        }
    }

    /// Redis deletes a collection with its last element (and its TTL with it); an empty
    /// string, though, is a value.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::String(_) => false,
            Value::SortedSet(set) => set.len() == 0,
            Value::Set(set) => set.members.is_empty(),
            Value::Hash(hash) => hash.fields.is_empty(),
            Value::HyperLogLog(_) => false,
        }
    }
}

/// A Rust type for one `Value` variant, so keyspace access is written once for all types
/// and a key of another type is a `WRONGTYPE` error, as in Redis.
pub(super) trait Typed: Sized {
    fn empty() -> Value;
    fn of(value: &Value) -> Option<&Self>;
    fn of_mut(value: &mut Value) -> Option<&mut Self>;
}

macro_rules! typed {
    ($type:ty, $variant:ident) => {
        impl Typed for $type {
            fn empty() -> Value {
                Value::$variant(Default::default())
            }
            fn of(value: &Value) -> Option<&Self> {
                match value {
                    Value::$variant(inner) => Some(inner),
                    _ => None,
                }
            }
            fn of_mut(value: &mut Value) -> Option<&mut Self> {
                match value {
                    Value::$variant(inner) => Some(inner),
                    _ => None,
                }
            }
        }
    };
}

typed!(Bytes, String);
typed!(SortedSet, SortedSet);
typed!(Set, Set);
typed!(Hash, Hash);
typed!(HyperLogLog, HyperLogLog);

#[derive(Debug, Default)]
pub(super) struct Set {
    pub members: HashSet<String>,
    /// The heap bytes of the names; the table's are read from its capacity.
    bytes: usize,
}

impl Set {
    /// True when the member is new.
    pub fn insert(&mut self, member: &str) -> bool {
        let new = !self.members.contains(member) && self.members.insert(member.to_owned());
        if new {
            self.bytes += footprint::text(member.len());
        }
        new
    }

    /// True when the member was there.
    pub fn remove(&mut self, member: &str) -> bool {
        let removed = self.members.remove(member);
        if removed {
            self.bytes -= footprint::text(member.len());
        }
        removed
    }
}

/// A hash of integer fields: the service only keeps counters in hashes.
#[derive(Debug, Default)]
pub(super) struct Hash {
    pub fields: HashMap<String, i64>,
    /// The heap bytes of the names; the table's are read from its capacity.
    bytes: usize,
}

impl Hash {
    /// `HINCRBY`: the new value, or `None` (and no change) when it would overflow.
    pub fn incr(&mut self, field: &str, delta: i64) -> Option<i64> {
        if let Some(value) = self.fields.get_mut(field) {
            *value = value.checked_add(delta)?;
            return Some(*value);
        }
        self.fields.insert(field.to_owned(), delta);
        self.bytes += footprint::text(field.len());
        Some(delta)
    }
}
