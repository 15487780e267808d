//! Spreading a multi-key command over Redis Cluster's hash slots.
//!
//! `MGET` and `DEL` of several keys fail with `CROSSSLOT` in a cluster unless every key
//! hashes to one slot. Rather than make the service put unrelated keys under one hash tag
//! (which would pile them onto one node), we split such a call into one command per slot,
//! sent together as one pipeline; fred routes each to the node that owns its slot.

use std::collections::BTreeMap;

use fred::util::redis_keyslot;

/// One command's worth of keys: the keys and where each sits in the caller's list.
pub(super) struct SlotGroup<'a> {
    pub(super) positions: Vec<usize>,
    pub(super) keys: Vec<&'a str>,
}

/// Groups `keys` by hash slot in a cluster; on a single node, all keys form one group.
pub(super) fn group(keys: &[String], cluster: bool) -> Vec<SlotGroup<'_>> {
    if !cluster {
        return vec![SlotGroup {
            positions: (0..keys.len()).collect(),
            keys: keys.iter().map(String::as_str).collect(),
        }];
    }
    let mut groups: BTreeMap<u16, SlotGroup<'_>> = BTreeMap::new();
    for (position, key) in keys.iter().enumerate() {
        let group = groups
            .entry(redis_keyslot(key.as_bytes()))
            .or_insert_with(|| SlotGroup { positions: Vec::new(), keys: Vec::new() });
        group.positions.push(position);
        group.keys.push(key);
    }
    groups.into_values().collect()
}
