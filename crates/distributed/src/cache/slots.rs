//! Spreading a multi-key command over Redis Cluster's hash slots.
//!
//! `MGET` and `DEL` of several keys fail with `CROSSSLOT` in a cluster unless every key
//! hashes to one slot. Rather than make the service put unrelated keys under one hash tag
//! (which would pile them onto one node), we split such a call into one command per slot,
//! sent together as one pipeline; fred routes each to the node that owns its slot.
//!
//! The same split runs a script over many keys (`eval_per_slot`): one `EVAL` per slot, so
//! on a single node a page's worth of keys is one command. That matters beyond the round
//! trip: fred flushes the socket after every command of a pipeline (its router sees no
//! queued command behind the one it writes), so a pipeline of forty commands is forty
//! `writev` calls and forty TCP segments, which profiles of the feed showed as the largest
//! single cost of the Redis-backed instance.

use std::collections::BTreeMap;

use fred::prelude::{ClientLike, Value};
use fred::types::{ClusterHash, CustomCommand};
use fred::util::redis_keyslot;
use roost_engines::EngineResult;

use super::connection::Connections;
use super::error::unavailable;

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

/// Runs `script` once per hash slot of `keys` (once on a single node) with that slot's keys
/// as `KEYS` and `args` as `ARGV`, all in one pipeline: each group and the script's answer.
pub(super) async fn eval_per_slot<'a>(
    c: &Connections,
    script: &'static str,
    keys: &'a [String],
    args: &[&str],
) -> EngineResult<Vec<(SlotGroup<'a>, Value)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    // fred's pipelines have no `EVAL`: sent as a custom command, routed by its first key
    // (the third argument, after the script and the key count).
    let eval = CustomCommand::new_static("EVAL", ClusterHash::Offset(2), false);
    let groups = group(keys, c.cluster);
    let pipeline = c.pool.next().pipeline();
    for group in &groups {
        let count = group.keys.len().to_string();
        let argv: Vec<&str> = [script, count.as_str()]
            .into_iter()
            .chain(group.keys.iter().copied())
            .chain(args.iter().copied())
            .collect();
        let () = pipeline.custom(eval.clone(), argv).await.map_err(unavailable)?;
    }
    let answers = pipeline.try_all::<Value>().await;
    groups.into_iter().zip(answers).map(|(group, answer)| Ok((group, answer.map_err(unavailable)?))).collect()
}
