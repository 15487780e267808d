//! Conformance cases for `Cache`: what the trait's docs promise, checked the same way against
//! the in-process cache and Redis.
//!
//! Each case takes a handle, works under its own [`unique_prefix`] (cases run concurrently
//! against one shared Redis) and fails with a panic or an engine error. Instantiate all of
//! them with [`cache_conformance_tests!`](crate::cache_conformance_tests).
//!
//! Expiry is checked with real sleeps a little past 1 s TTLs: the Redis side cannot be
//! given a fake clock, and a second is Redis's coarsest TTL unit.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;

use super::unique_prefix;
use crate::cache::{Cache, QueueMessage, Subscription};
use crate::error::EngineResult;

/// One `#[tokio::test]` per case below, over a fresh handle from `$factory`: anything
/// callable with no arguments that returns a future of `Arc<dyn Cache>` (an `async fn` or
/// a closure). Attributes before the factory are put on every test, e.g.
/// `cache_conformance_tests!(#[cfg(unix)] redis_cache);`.
#[macro_export]
macro_rules! cache_conformance_tests {
    ($(#[$attr:meta])* $factory:expr) => {
        $crate::__roost_conformance_tests!(cache: Cache, [$(#[$attr])*], $factory;
            strings_set_get_mget,
            set_nx_sets_only_missing_keys,
            del_counts_existing_keys,
            ttl_expires_keys,
            expire_sets_a_ttl,
            incr_window_counts_within_one_window,
            collections_keep_their_ttl_when_written,
            zadd_counts_new_members_and_updates_scores,
            zincrby_adds_to_the_score,
            zrem_counts_and_empty_sets_vanish,
            zrevrange_follows_redis_ranks,
            zrevrange_orders_ties_reverse_lexicographically,
            zrevrangebyscore_bounds_and_limit,
            zremrangebyrank_caps_to_the_highest,
            sets_add_remove_and_query,
            set_batch_queries_treat_missing_keys_as_empty,
            scard_sismember_many_answers_both_per_key,
            zadd_capped_if_marked_writes_only_marked_sets,
            supdate_if_exists_changes_only_existing_sets_and_refreshes_the_ttl,
            hincrby_and_hgetall,
            pfadd_and_pfcount_estimate_distinct_elements,
            pfcount_of_several_keys_counts_their_union,
            pubsub_delivers_in_order_after_subscribe,
            pubsub_reaches_every_subscriber,
            xadd_ids_increase,
            xgroup_create_is_idempotent_and_reads_from_the_start,
            xreadgroup_delivers_each_message_once,
            xreadgroup_blocks_then_returns_empty,
            xreadgroup_wakes_on_xadd,
            pending_messages_are_reclaimed_not_reread,
            xack_counts_pending_and_deletes,
            xclaim_idle_hands_messages_back_for_an_immediate_claim,
            xrange_reads_without_delivering_and_xdel_removes,
            ping_answers,
        );
    };
}

/// Shared by the suites' macros: expands one `#[tokio::test]` per case of
/// `$crate::conformance::$suite`, each handed a fresh `Arc<dyn $crate::$engine>`.
#[doc(hidden)]
#[macro_export]
macro_rules! __roost_conformance_tests {
    (@one $suite:ident: $engine:ident, [$(#[$attr:meta])*], $factory:expr, $case:ident) => {
        #[tokio::test]
        $(#[$attr])*
        async fn $case() {
            let engine: ::std::sync::Arc<dyn $crate::$engine> = ($factory)().await;
            if let Err(err) = $crate::conformance::$suite::$case(engine).await {
                panic!("{} failed: {err}", stringify!($case));
            }
        }
    };
    ($suite:ident: $engine:ident, $attrs:tt, $factory:expr; $($case:ident),* $(,)?) => {
        $($crate::__roost_conformance_tests!(@one $suite: $engine, $attrs, $factory, $case);)*
    };
}

/// Comfortably past the 1 s TTLs the cases set (and past Redis's expiry precision).
const PAST_TTL: Duration = Duration::from_millis(1300);
/// How long a case waits for something that should arrive at once before calling it lost.
const PATIENCE: Duration = Duration::from_secs(5);
const TTL: Duration = Duration::from_secs(1);

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn members(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
    pairs.iter().map(|(m, s)| (m.to_string(), *s)).collect()
}

/// `ZADD` arguments written like the results, member first.
fn zadd_input(pairs: &[(&str, f64)]) -> Vec<(f64, String)> {
    pairs.iter().map(|(m, s)| (*s, m.to_string())).collect()
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

/// A Redis stream id (`ms-seq`) as a comparable pair.
fn stream_id(id: &str) -> (u64, u64) {
    let parsed = id.split_once('-').and_then(|(ms, seq)| Some((ms.parse().ok()?, seq.parse().ok()?)));
    parsed.unwrap_or_else(|| panic!("{id:?} is not a stream id"))
}

fn payloads(messages: &[QueueMessage]) -> Vec<Bytes> {
    messages.iter().map(|m| m.payload.clone()).collect()
}

fn ids(messages: &[QueueMessage]) -> Vec<String> {
    messages.iter().map(|m| m.id.clone()).collect()
}

async fn next_message(subscription: &mut Subscription) -> Bytes {
    match tokio::time::timeout(PATIENCE, subscription.next()).await {
        Ok(Some(message)) => message,
        Ok(None) => panic!("subscription ended"),
        Err(_) => panic!("no message within {PATIENCE:?}"),
    }
}

/// A stream with a group created on it, as the workers set theirs up.
async fn stream_with_group(cache: &dyn Cache, name: &str) -> EngineResult<(String, &'static str)> {
    let stream = unique_prefix(name);
    cache.xgroup_create(&stream, "workers").await?;
    Ok((stream, "workers"))
}

/// `SET`, `GET` and `MGET` read back what was written, `None` for missing keys.
pub async fn strings_set_get_mget(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let p = unique_prefix("strings");
    let (a, missing, c) = (format!("{p}:a"), format!("{p}:missing"), format!("{p}:c"));
    cache.set(&a, b("1"), None).await?;
    cache.set(&c, b("3"), Some(Duration::from_secs(60))).await?;
    assert_eq!(cache.get(&a).await?, Some(b("1")));
    assert_eq!(cache.get(&missing).await?, None);
    assert_eq!(
        cache.mget(&[c.clone(), missing.clone(), a.clone()]).await?,
        vec![Some(b("3")), None, Some(b("1"))]
    );
    assert_eq!(cache.mget(&[]).await?, Vec::<Option<Bytes>>::new());

    cache.set(&a, b("one"), None).await?;
    assert_eq!(cache.get(&a).await?, Some(b("one")), "SET overwrites");
    cache.set(&a, Bytes::new(), None).await?;
    assert_eq!(cache.get(&a).await?, Some(Bytes::new()), "an empty string is still a value");
    Ok(())
}

/// `SET NX` writes only a missing key and says whether it did.
pub async fn set_nx_sets_only_missing_keys(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let key = format!("{}:lock", unique_prefix("setnx"));
    assert!(cache.set_nx(&key, b("first"), None).await?);
    assert!(!cache.set_nx(&key, b("second"), None).await?);
    assert_eq!(cache.get(&key).await?, Some(b("first")));

    cache.del(std::slice::from_ref(&key)).await?;
    assert!(cache.set_nx(&key, b("third"), Some(TTL)).await?);
    tokio::time::sleep(PAST_TTL).await;
    assert!(cache.set_nx(&key, b("fourth"), None).await?, "an expired key counts as missing");
    assert_eq!(cache.get(&key).await?, Some(b("fourth")));
    Ok(())
}

/// `DEL` removes the keys and counts only those that existed.
pub async fn del_counts_existing_keys(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let p = unique_prefix("del");
    let (s, z, missing) = (format!("{p}:s"), format!("{p}:z"), format!("{p}:missing"));
    cache.set(&s, b("x"), None).await?;
    cache.zadd(&z, &zadd_input(&[("m", 1.0)])).await?;
    assert!(cache.exists(&s).await? && cache.exists(&z).await?);
    assert!(!cache.exists(&missing).await?);

    assert_eq!(cache.del(&[s.clone(), missing.clone(), z.clone()]).await?, 2, "DEL deletes any type");
    assert!(!cache.exists(&s).await? && !cache.exists(&z).await?);
    assert_eq!(cache.get(&s).await?, None);
    assert_eq!(cache.zcard(&z).await?, 0);
    assert_eq!(cache.del(&[s]).await?, 0);
    Ok(())
}

/// A key written with a TTL is gone once the TTL passes.
pub async fn ttl_expires_keys(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let p = unique_prefix("ttl");
    let (short, long, cleared) = (format!("{p}:short"), format!("{p}:long"), format!("{p}:cleared"));
    cache.set(&short, b("s"), Some(TTL)).await?;
    cache.set(&long, b("l"), Some(Duration::from_secs(60))).await?;
    cache.set(&cleared, b("c"), Some(TTL)).await?;
    cache.set(&cleared, b("c2"), None).await?; // a plain SET drops the old TTL
    assert_eq!(cache.get(&short).await?, Some(b("s")));
    assert!(cache.exists(&short).await?);

    tokio::time::sleep(PAST_TTL).await;
    assert_eq!(cache.get(&short).await?, None);
    assert!(!cache.exists(&short).await?);
    assert_eq!(cache.mget(&[short.clone(), long.clone()]).await?, vec![None, Some(b("l"))]);
    assert_eq!(cache.get(&cleared).await?, Some(b("c2")));
    assert_eq!(cache.del(&[short]).await?, 0, "an expired key is not deleted again");
    Ok(())
}

/// `EXPIRE` gives an existing key a TTL and answers false for a missing one.
pub async fn expire_sets_a_ttl(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let p = unique_prefix("expire");
    let (key, missing) = (format!("{p}:key"), format!("{p}:missing"));
    assert!(!cache.expire(&missing, TTL).await?);
    assert!(!cache.exists(&missing).await?, "EXPIRE does not create keys");

    cache.set(&key, b("v"), None).await?;
    assert!(cache.expire(&key, TTL).await?);
    assert!(cache.exists(&key).await?);
    tokio::time::sleep(PAST_TTL).await;
    assert!(!cache.exists(&key).await?);
    assert!(!cache.expire(&key, TTL).await?, "an expired key cannot be given a TTL");
    Ok(())
}

/// An atomic counter window: counts within it, a new window after it, only counters, no lost increments.
pub async fn incr_window_counts_within_one_window(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let p = unique_prefix("window");
    let (key, text) = (format!("{p}:key"), format!("{p}:text"));
    assert_eq!(cache.incr_window(&key, 0, TTL).await?.0, 0, "a read opens an empty window");
    let (count, left) = cache.incr_window(&key, 1, TTL).await?;
    assert!(count == 1 && left <= TTL && left > Duration::ZERO, "{count} {left:?}");
    let (count, later) = cache.incr_window(&key, 2, Duration::from_secs(60)).await?;
    assert_eq!(count, 3);
    assert!(later <= left, "a running window keeps its end: {later:?} after {left:?}");
    assert_eq!(cache.get(&key).await?, Some(b("3")), "the counter is a decimal string");

    tokio::time::sleep(PAST_TTL).await;
    let (count, left) = cache.incr_window(&key, 1, Duration::from_secs(60)).await?;
    assert!(count == 1 && left > TTL, "a new window starts once the old one ended: {count} {left:?}");

    cache.set(&text, b("not a number"), None).await?;
    assert!(cache.incr_window(&text, 1, TTL).await.is_err(), "only counters are incremented");

    let key = Arc::new(format!("{p}:race"));
    let adds = (0..20).map(|_| {
        let (cache, key) = (cache.clone(), key.clone());
        tokio::spawn(async move { cache.incr_window(&key, 1, Duration::from_secs(60)).await })
    });
    let mut counts = Vec::new();
    for add in adds {
        counts.push(add.await.expect("task").map(|(count, _)| count)?);
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<u64>>(), "concurrent increments each count once");
    Ok(())
}

/// Adding to a sorted set, set or hash keeps the TTL the key already has.
pub async fn collections_keep_their_ttl_when_written(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let p = unique_prefix("collttl");
    let (z, s, h) = (format!("{p}:z"), format!("{p}:s"), format!("{p}:h"));
    cache.zadd(&z, &zadd_input(&[("a", 1.0)])).await?;
    cache.sadd(&s, &strings(&["a"])).await?;
    cache.hincrby(&h, "a", 1).await?;
    for key in [&z, &s, &h] {
        assert!(cache.expire(key, TTL).await?);
    }
    // Written again within the TTL: the TTL must stand (only SET and DEL clear one).
    cache.zadd(&z, &zadd_input(&[("b", 2.0)])).await?;
    cache.zincrby(&z, 1.0, "a").await?;
    cache.sadd(&s, &strings(&["b"])).await?;
    cache.hincrby(&h, "b", 1).await?;

    tokio::time::sleep(PAST_TTL).await;
    assert_eq!(cache.zcard(&z).await?, 0);
    assert_eq!(cache.zrevrange(&z, 0, -1).await?, vec![]);
    assert_eq!(cache.scard(&s).await?, 0);
    assert!(!cache.sismember(&s, "a").await?);
    assert_eq!(cache.hgetall(&h).await?, vec![]);

    // Written after expiry, a collection starts over with no TTL.
    cache.zadd(&z, &zadd_input(&[("c", 3.0)])).await?;
    assert_eq!(cache.zrevrange(&z, 0, -1).await?, members(&[("c", 3.0)]));
    Ok(())
}

/// `ZADD` counts only new members and overwrites the scores of existing ones.
pub async fn zadd_counts_new_members_and_updates_scores(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let key = format!("{}:z", unique_prefix("zadd"));
    assert_eq!(cache.zadd(&key, &zadd_input(&[("a", 1.0), ("b", 2.0), ("c", 3.0)])).await?, 3);
    assert_eq!(cache.zadd(&key, &zadd_input(&[("a", 10.0), ("d", 4.0)])).await?, 1, "only d is new");
    assert_eq!(cache.zadd(&key, &[]).await?, 0);
    assert_eq!(cache.zcard(&key).await?, 4);
    assert_eq!(cache.zscore(&key, "a").await?, Some(10.0));
    assert_eq!(cache.zscore(&key, "zz").await?, None);
    assert_eq!(cache.zscore(&format!("{key}:missing"), "a").await?, None);
    assert_eq!(cache.zcard(&format!("{key}:missing")).await?, 0);
    assert_eq!(
        cache.zrevrange(&key, 0, -1).await?,
        members(&[("a", 10.0), ("d", 4.0), ("c", 3.0), ("b", 2.0)]),
        "an updated score moves the member"
    );
    Ok(())
}

/// `ZINCRBY` adds to a member's score (from 0 when new) and returns the result.
pub async fn zincrby_adds_to_the_score(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let key = format!("{}:z", unique_prefix("zincrby"));
    assert_eq!(cache.zincrby(&key, 2.5, "a").await?, 2.5, "a missing member starts at 0");
    assert_eq!(cache.zincrby(&key, -1.0, "a").await?, 1.5);
    cache.zadd(&key, &zadd_input(&[("b", 1.0)])).await?;
    assert_eq!(cache.zincrby(&key, 1.0, "b").await?, 2.0);
    assert_eq!(cache.zrevrange(&key, 0, -1).await?, members(&[("b", 2.0), ("a", 1.5)]));
    Ok(())
}

/// `ZREM` counts removed members, and a sorted set emptied by it no longer exists.
pub async fn zrem_counts_and_empty_sets_vanish(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let key = format!("{}:z", unique_prefix("zrem"));
    cache.zadd(&key, &zadd_input(&[("a", 1.0), ("b", 2.0)])).await?;
    assert_eq!(cache.zrem(&key, &strings(&["a", "missing"])).await?, 1);
    assert_eq!(cache.zscore(&key, "a").await?, None);
    assert_eq!(cache.zrem(&key, &strings(&["b"])).await?, 1);
    assert_eq!(cache.zcard(&key).await?, 0);
    assert!(!cache.exists(&key).await?, "an emptied sorted set is deleted");
    assert_eq!(cache.zrem(&key, &strings(&["b"])).await?, 0);
    Ok(())
}

/// `ZREVRANGE` ranks are Redis's: 0-based, negative from the end, `stop` inclusive.
pub async fn zrevrange_follows_redis_ranks(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let key = format!("{}:z", unique_prefix("zrevrange"));
    cache.zadd(&key, &zadd_input(&[("e", 5.0), ("a", 1.0), ("c", 3.0), ("b", 2.0), ("d", 4.0)])).await?;
    let all = members(&[("e", 5.0), ("d", 4.0), ("c", 3.0), ("b", 2.0), ("a", 1.0)]);
    // (start, stop, the slice of `all` Redis answers)
    let cases = [
        (0, -1, 0..5),
        (0, 1, 0..2),
        (1, 1, 1..2),
        (-2, -1, 3..5),
        (2, 100, 2..5),
        (-100, 0, 0..1),
        (3, 1, 0..0),
        (5, 10, 0..0),
        (0, -6, 0..0),
    ];
    for (start, stop, expected) in cases {
        assert_eq!(cache.zrevrange(&key, start, stop).await?, all[expected], "ZREVRANGE {start} {stop}");
    }
    assert_eq!(cache.zrevrange(&format!("{key}:missing"), 0, -1).await?, vec![]);
    Ok(())
}

/// Members with equal scores come out of `ZREVRANGE` in reverse member order, as in Redis.
pub async fn zrevrange_orders_ties_reverse_lexicographically(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let key = format!("{}:z", unique_prefix("ties"));
    cache
        .zadd(&key, &zadd_input(&[("b", 1.0), ("post-10", 2.0), ("a", 1.0), ("post-9", 2.0), ("c", 1.0)]))
        .await?;
    let expected = members(&[("post-9", 2.0), ("post-10", 2.0), ("c", 1.0), ("b", 1.0), ("a", 1.0)]);
    assert_eq!(cache.zrevrange(&key, 0, -1).await?, expected);
    assert_eq!(cache.zrevrangebyscore(&key, 2.0, false, 1.0, 10).await?, expected);
    Ok(())
}

/// `ZREVRANGEBYSCORE` honours inclusive and exclusive `max`, `min` and the limit.
pub async fn zrevrangebyscore_bounds_and_limit(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let key = format!("{}:z", unique_prefix("byscore"));
    cache
        .zadd(&key, &zadd_input(&[("a", 1.0), ("b", 2.0), ("c", 3.0), ("c2", 3.0), ("d", 4.0), ("e", 5.0)]))
        .await?;
    let by_score = |max, exclusive, min, limit| cache.zrevrangebyscore(&key, max, exclusive, min, limit);

    let inclusive = members(&[("d", 4.0), ("c2", 3.0), ("c", 3.0), ("b", 2.0)]);
    assert_eq!(by_score(4.0, false, 2.0, 10).await?, inclusive, "both bounds inclusive");
    assert_eq!(by_score(4.0, false, 2.0, 2).await?, inclusive[..2], "limit keeps the highest");
    assert_eq!(
        by_score(3.0, true, 0.0, 10).await?,
        members(&[("b", 2.0), ("a", 1.0)]),
        "(max excludes all ties"
    );
    assert_eq!(by_score(3.5, true, 3.0, 10).await?, members(&[("c2", 3.0), ("c", 3.0)]));
    assert_eq!(by_score(f64::INFINITY, false, f64::NEG_INFINITY, 1).await?, members(&[("e", 5.0)]));
    assert_eq!(by_score(f64::INFINITY, true, 4.5, 10).await?, members(&[("e", 5.0)]));
    assert_eq!(by_score(10.0, false, 6.0, 10).await?, vec![], "nothing in range");
    assert_eq!(by_score(1.0, false, 2.0, 10).await?, vec![], "min above max");
    assert_eq!(by_score(2.0, true, 2.0, 10).await?, vec![]);
    assert_eq!(cache.zrevrangebyscore(&format!("{key}:missing"), 9.0, false, 0.0, 10).await?, vec![]);
    Ok(())
}

/// `ZREMRANGEBYRANK` with negative ranks trims a sorted set to its highest members.
pub async fn zremrangebyrank_caps_to_the_highest(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let key = format!("{}:feed", unique_prefix("cap"));
    let posts: Vec<(f64, String)> = (0..10).map(|i| (i as f64, format!("post-{i}"))).collect();
    cache.zadd(&key, &posts).await?;

    // How the service caps a feed to its N newest: remove ranks 0 ..= -(N+1).
    let keep = 3;
    assert_eq!(cache.zremrangebyrank(&key, 0, -(keep + 1)).await?, 7);
    assert_eq!(
        cache.zrevrange(&key, 0, -1).await?,
        members(&[("post-9", 9.0), ("post-8", 8.0), ("post-7", 7.0)])
    );
    assert_eq!(cache.zremrangebyrank(&key, 0, -(keep + 1)).await?, 0, "already within the cap");

    assert_eq!(cache.zremrangebyrank(&key, -1, -1).await?, 1, "rank -1 is the highest");
    assert_eq!(cache.zrevrange(&key, 0, -1).await?, members(&[("post-8", 8.0), ("post-7", 7.0)]));
    assert_eq!(cache.zremrangebyrank(&key, 5, 9).await?, 0);
    assert_eq!(cache.zremrangebyrank(&format!("{key}:missing"), 0, -1).await?, 0);
    Ok(())
}

/// `SADD`, `SREM`, `SISMEMBER`, `SCARD` and `SMEMBERS` agree with each other.
pub async fn sets_add_remove_and_query(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let key = format!("{}:likers", unique_prefix("sets"));
    assert_eq!(cache.sadd(&key, &strings(&["u1", "u2", "u2"])).await?, 2, "a repeated member counts once");
    assert_eq!(cache.sadd(&key, &strings(&["u2", "u3"])).await?, 1);
    assert!(cache.sismember(&key, "u1").await?);
    assert!(!cache.sismember(&key, "u9").await?);
    assert_eq!(cache.scard(&key).await?, 3);
    assert_eq!(sorted(cache.smembers(&key).await?), strings(&["u1", "u2", "u3"]));

    assert_eq!(cache.srem(&key, &strings(&["u1", "u9"])).await?, 1);
    assert!(!cache.sismember(&key, "u1").await?);
    assert_eq!(cache.srem(&key, &strings(&["u2", "u3"])).await?, 2);
    assert_eq!(cache.scard(&key).await?, 0);
    assert!(!cache.exists(&key).await?, "an emptied set is deleted");
    assert_eq!(cache.smembers(&key).await?, Vec::<String>::new());
    Ok(())
}

/// The batched set queries answer a missing key as an empty set.
pub async fn set_batch_queries_treat_missing_keys_as_empty(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let p = unique_prefix("setbatch");
    let (one, two, missing) = (format!("{p}:one"), format!("{p}:two"), format!("{p}:missing"));
    cache.sadd(&one, &strings(&["u1"])).await?;
    cache.sadd(&two, &strings(&["u1", "u2"])).await?;

    assert_eq!(cache.scard_many(&[two.clone(), missing.clone(), one.clone()]).await?, vec![2, 0, 1]);
    assert_eq!(cache.scard_many(&[]).await?, Vec::<u64>::new());
    let pairs = [(one.clone(), "u1"), (one, "u2"), (missing, "u1"), (two, "u2")]
        .map(|(key, member)| (key, member.to_string()));
    assert_eq!(cache.sismember_many(&pairs).await?, vec![true, false, false, true]);
    assert_eq!(cache.sismember_many(&[]).await?, Vec::<bool>::new());
    Ok(())
}

/// `zadd_capped_if_marked` writes (and caps) only the sets holding the marker.
pub async fn zadd_capped_if_marked_writes_only_marked_sets(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let p = unique_prefix("zcapped");
    let (marked, unmarked, missing) =
        (format!("{p}:marked"), format!("{p}:unmarked"), format!("{p}:missing"));
    cache.zadd(&marked, &zadd_input(&[("~m", 1e15), ("a", 1.0), ("b", 2.0), ("c", 3.0)])).await?;
    cache.zadd(&unmarked, &zadd_input(&[("a", 1.0)])).await?;

    let keys = [marked.clone(), unmarked.clone(), missing.clone()];
    assert_eq!(cache.zadd_capped_if_marked(&keys, "~m", 4.0, "d", 3).await?, 1);
    assert_eq!(cache.zrevrange(&marked, 0, -1).await?, members(&[("~m", 1e15), ("d", 4.0), ("c", 3.0)]));
    assert_eq!(cache.zrevrange(&unmarked, 0, -1).await?, members(&[("a", 1.0)]));
    assert!(!cache.exists(&missing).await?, "a missing set stays missing");
    assert_eq!(cache.zadd_capped_if_marked(&[], "~m", 5.0, "e", 3).await?, 0);
    Ok(())
}

/// `scard_sismember_many` answers each key's `SCARD` and `SISMEMBER`, in order; a missing key
/// is an empty set.
pub async fn scard_sismember_many_answers_both_per_key(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let p = unique_prefix("scardsis");
    let (one, two, missing) = (format!("{p}:one"), format!("{p}:two"), format!("{p}:missing"));
    cache.sadd(&one, &strings(&["u2"])).await?;
    cache.sadd(&two, &strings(&["u1", "u2", "u3"])).await?;

    let keys = [two.clone(), missing, one.clone(), two];
    assert_eq!(
        cache.scard_sismember_many(&keys, "u1").await?,
        vec![(3, true), (0, false), (1, false), (3, true)]
    );
    assert_eq!(cache.scard_sismember_many(&[one], "u2").await?, vec![(1, true)]);
    assert_eq!(cache.scard_sismember_many(&[], "u1").await?, Vec::<(u64, bool)>::new());
    Ok(())
}

/// `supdate_if_exists` adds or removes a member of an existing set and renews its TTL;
/// it leaves a missing set missing.
pub async fn supdate_if_exists_changes_only_existing_sets_and_refreshes_the_ttl(
    cache: Arc<dyn Cache>,
) -> EngineResult<()> {
    let p = unique_prefix("supdate");
    let (key, missing) = (format!("{p}:likes"), format!("{p}:missing"));
    let long = Duration::from_secs(60);
    assert_eq!(cache.supdate_if_exists(&missing, "u1", true, long).await?, None);
    assert!(!cache.exists(&missing).await?, "a missing set is not created");
    assert_eq!(cache.supdate_if_exists(&missing, "u1", false, long).await?, None);

    cache.sadd(&key, &strings(&["~marker", "u1"])).await?;
    cache.expire(&key, TTL).await?;
    assert_eq!(cache.supdate_if_exists(&key, "u2", true, long).await?, Some((true, 3)));
    assert_eq!(cache.supdate_if_exists(&key, "u2", true, long).await?, Some((false, 3)), "already in");
    assert_eq!(cache.supdate_if_exists(&key, "u1", false, long).await?, Some((true, 2)));
    assert_eq!(cache.supdate_if_exists(&key, "u9", false, long).await?, Some((false, 2)), "never in");
    tokio::time::sleep(PAST_TTL).await;
    assert_eq!(sorted(cache.smembers(&key).await?), strings(&["u2", "~marker"]), "the TTL was renewed");

    let short = format!("{p}:short");
    cache.sadd(&short, &strings(&["~marker"])).await?;
    assert_eq!(cache.supdate_if_exists(&short, "u1", true, TTL).await?, Some((true, 2)));
    tokio::time::sleep(PAST_TTL).await;
    assert!(!cache.exists(&short).await?, "the given TTL applies");
    assert_eq!(cache.supdate_if_exists(&short, "u1", true, TTL).await?, None, "expired is missing");
    Ok(())
}

/// `HINCRBY` counts from 0 and `HGETALL` returns every field's value.
pub async fn hincrby_and_hgetall(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let key = format!("{}:counters", unique_prefix("hash"));
    assert_eq!(cache.hgetall(&key).await?, vec![]);
    assert_eq!(cache.hincrby(&key, "likes", 1).await?, 1, "a missing field starts at 0");
    assert_eq!(cache.hincrby(&key, "likes", 4).await?, 5);
    assert_eq!(cache.hincrby(&key, "comments", -2).await?, -2);
    let mut all = cache.hgetall(&key).await?;
    all.sort();
    assert_eq!(all, vec![("comments".to_string(), -2), ("likes".to_string(), 5)]);
    Ok(())
}

/// Elements `from..to` as PFADD arguments.
fn elements(from: u32, to: u32) -> Vec<String> {
    (from..to).map(|i| format!("element-{i}")).collect()
}

/// Within 3% of the truth: several times the 0.81% standard error, so a correct sketch
/// never fails it, and a broken estimator (a wrong constant, no small-range correction)
/// misses it by far.
fn assert_estimate(estimate: u64, truth: u64) {
    let error = (estimate as f64 - truth as f64).abs() / truth as f64;
    assert!(error < 0.03, "estimated {estimate} distinct elements for {truth}");
}

/// `PFADD` says whether the sketch changed; `PFCOUNT` estimates the distinct elements,
/// exactly for a handful, within the standard error for thousands, ignoring repeats.
pub async fn pfadd_and_pfcount_estimate_distinct_elements(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let key = format!("{{{}}}:hll", unique_prefix("hll"));
    assert_eq!(cache.pfcount(std::slice::from_ref(&key)).await?, 0, "a missing key is empty");
    assert!(cache.pfadd(&key, &strings(&["a", "b", "c"])).await?);
    assert!(!cache.pfadd(&key, &strings(&["a", "b"])).await?, "nothing new: no register moves");
    assert_eq!(cache.pfcount(std::slice::from_ref(&key)).await?, 3);
    for chunk in elements(0, 5_000).chunks(500) {
        cache.pfadd(&key, chunk).await?;
    }
    cache.pfadd(&key, &elements(0, 1_000)).await?;
    assert_estimate(cache.pfcount(std::slice::from_ref(&key)).await?, 5_003);
    Ok(())
}

/// `PFCOUNT` of several keys estimates the union: an element in two sketches counts once,
/// and a missing key adds nothing.
pub async fn pfcount_of_several_keys_counts_their_union(cache: Arc<dyn Cache>) -> EngineResult<()> {
    // One hash tag, as Redis Cluster needs for a multi-key PFCOUNT.
    let p = unique_prefix("hll-union");
    let keys: Vec<String> = ["a", "b", "missing"].iter().map(|k| format!("{{{p}}}:{k}")).collect();
    cache.pfadd(&keys[0], &elements(0, 3_000)).await?;
    cache.pfadd(&keys[1], &elements(2_000, 4_000)).await?;
    assert_estimate(cache.pfcount(&keys[..1]).await?, 3_000);
    assert_estimate(cache.pfcount(&keys).await?, 4_000);
    Ok(())
}

/// A subscriber receives every message published after `subscribe`, in order.
pub async fn pubsub_delivers_in_order_after_subscribe(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let p = unique_prefix("pubsub");
    let (channel, other) = (format!("{p}:events"), format!("{p}:other"));
    cache.publish(&channel, b("before")).await?;
    let mut subscription = cache.subscribe(&channel).await?;

    cache.publish(&other, b("elsewhere")).await?;
    for i in 0..5 {
        cache.publish(&channel, b(&format!("m{i}"))).await?;
    }
    for i in 0..5 {
        assert_eq!(next_message(&mut subscription).await, b(&format!("m{i}")));
    }
    Ok(())
}

/// Every subscriber of a channel receives each message.
pub async fn pubsub_reaches_every_subscriber(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let channel = format!("{}:events", unique_prefix("fanout"));
    let mut first = cache.subscribe(&channel).await?;
    let mut second = cache.subscribe(&channel).await?;
    cache.publish(&channel, b("hello")).await?;
    assert_eq!(next_message(&mut first).await, b("hello"));
    assert_eq!(next_message(&mut second).await, b("hello"));

    // A subscriber leaving does not disturb the ones that stay.
    drop(first);
    cache.publish(&channel, b("again")).await?;
    assert_eq!(next_message(&mut second).await, b("again"));
    Ok(())
}

/// Entry ids of one stream increase in the order of `XADD`.
pub async fn xadd_ids_increase(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let stream = unique_prefix("xadd");
    let mut previous = (0, 0);
    for i in 0..20 {
        let id = cache.xadd(&stream, b(&format!("job-{i}"))).await?;
        let id = stream_id(&id);
        assert!(id > previous, "{id:?} after {previous:?}");
        previous = id;
    }
    assert_eq!(cache.xlen(&stream).await?, 20);
    assert_eq!(cache.xlen(&format!("{stream}:missing")).await?, 0);
    Ok(())
}

/// Creating a group twice is harmless, and a new group reads the stream from its start.
pub async fn xgroup_create_is_idempotent_and_reads_from_the_start(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let stream = unique_prefix("xgroup");
    cache.xgroup_create(&format!("{stream}:empty"), "g").await?;
    assert_eq!(cache.xlen(&format!("{stream}:empty")).await?, 0, "MKSTREAM makes an empty stream");

    // Jobs queued before any worker started are not lost: the group starts at id 0.
    let early = cache.xadd(&stream, b("early")).await?;
    cache.xgroup_create(&stream, "g").await?;
    let read = cache.xreadgroup(&stream, "g", "c1", 10, Duration::ZERO).await?;
    assert_eq!(ids(&read), vec![early]);

    cache.xgroup_create(&stream, "g").await?; // a second create must not rewind the group
    assert_eq!(cache.xreadgroup(&stream, "g", "c1", 10, Duration::ZERO).await?, vec![]);
    Ok(())
}

/// `XREADGROUP` hands each message to one consumer of the group, once.
pub async fn xreadgroup_delivers_each_message_once(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let (stream, group) = stream_with_group(cache.as_ref(), "xread").await?;
    let mut sent = Vec::new();
    for i in 0..10 {
        sent.push(cache.xadd(&stream, b(&format!("job-{i}"))).await?);
    }

    let mut seen = Vec::new();
    for consumer in ["c1", "c2"].iter().cycle() {
        let batch = cache.xreadgroup(&stream, group, consumer, 3, Duration::ZERO).await?;
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 3, "COUNT is respected");
        assert!(batch.iter().all(|m| m.deliveries == 1));
        seen.extend(batch);
    }
    assert_eq!(ids(&seen), sent, "every message once, in order");
    let expected: Vec<Bytes> = (0..10).map(|i| b(&format!("job-{i}"))).collect();
    assert_eq!(payloads(&seen), expected);
    assert_eq!(cache.xlen(&stream).await?, 10, "delivered but not acknowledged");
    Ok(())
}

/// `XREADGROUP` on an empty stream waits for `block`, then answers nothing.
pub async fn xreadgroup_blocks_then_returns_empty(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let (stream, group) = stream_with_group(cache.as_ref(), "xblock").await?;

    let started = Instant::now();
    let read = cache.xreadgroup(&stream, group, "c1", 10, Duration::from_millis(400)).await?;
    let waited = started.elapsed();
    assert_eq!(read, vec![]);
    assert!(waited >= Duration::from_millis(350), "returned after {waited:?}, not blocking");
    assert!(waited < PATIENCE, "blocked for {waited:?}");

    let started = Instant::now();
    assert_eq!(cache.xreadgroup(&stream, group, "c1", 10, Duration::ZERO).await?, vec![]);
    assert!(started.elapsed() < Duration::from_millis(300), "a zero block must not wait");
    Ok(())
}

/// A blocked `XREADGROUP` returns as soon as a message is added.
pub async fn xreadgroup_wakes_on_xadd(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let (stream, group) = stream_with_group(cache.as_ref(), "xwake").await?;
    let reader = {
        let (cache, stream) = (cache.clone(), stream.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let read = cache.xreadgroup(&stream, group, "c1", 10, Duration::from_secs(10)).await;
            (read, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = cache.xadd(&stream, b("wake up")).await?;

    let (read, waited) = reader.await.expect("reader task panicked");
    assert_eq!(ids(&read?), vec![id]);
    assert!(waited < PATIENCE, "the reader slept {waited:?} past the xadd");
    Ok(())
}

/// Unacknowledged messages come back through `XAUTOCLAIM` after `min_idle`, never through another `XREADGROUP`.
pub async fn pending_messages_are_reclaimed_not_reread(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let (stream, group) = stream_with_group(cache.as_ref(), "xclaim").await?;
    let mut sent = Vec::new();
    for job in ["a", "b", "c"] {
        sent.push(cache.xadd(&stream, b(job)).await?);
    }
    let read = cache.xreadgroup(&stream, group, "crashed", 10, Duration::ZERO).await?;
    assert_eq!(ids(&read), sent);

    // The consumer "crashes": nothing is acknowledged.
    assert_eq!(
        cache.xreadgroup(&stream, group, "rescuer", 10, Duration::ZERO).await?,
        vec![],
        "pending is not new"
    );
    let min_idle = Duration::from_millis(500);
    assert_eq!(
        cache.xautoclaim(&stream, group, "rescuer", min_idle, 10).await?,
        vec![],
        "not idle long enough"
    );

    tokio::time::sleep(Duration::from_millis(700)).await;
    let claimed = cache.xautoclaim(&stream, group, "rescuer", min_idle, 2).await?;
    assert_eq!(ids(&claimed), sent[..2], "oldest first, COUNT respected");
    assert_eq!(payloads(&claimed), vec![b("a"), b("b")]);
    assert!(claimed.iter().all(|m| m.deliveries == 2), "{claimed:?}");
    let claimed_rest = cache.xautoclaim(&stream, group, "rescuer", min_idle, 10).await?;
    assert_eq!(ids(&claimed_rest), sent[2..], "a claim resets the idle time of what it took");

    assert_eq!(cache.xack(&stream, group, &ids(&claimed)).await?, 2);
    assert_eq!(cache.xlen(&stream).await?, 1);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let again = cache.xautoclaim(&stream, group, "third", min_idle, 10).await?;
    assert_eq!(ids(&again), sent[2..], "acknowledged messages are never claimed again");
    assert_eq!(again[0].deliveries, 3);
    Ok(())
}

/// `XCLAIM … IDLE … JUSTID`: a stopping worker's unstarted messages are claimable by
/// another at once, with no delivery counted; acknowledged ones are not pending.
pub async fn xclaim_idle_hands_messages_back_for_an_immediate_claim(
    cache: Arc<dyn Cache>,
) -> EngineResult<()> {
    let (stream, group) = stream_with_group(cache.as_ref(), "handback").await?;
    let mut sent = Vec::new();
    for job in ["a", "b", "c"] {
        sent.push(cache.xadd(&stream, b(job)).await?);
    }
    let read = cache.xreadgroup(&stream, group, "stopping", 10, Duration::ZERO).await?;
    assert_eq!(ids(&read), sent);
    assert_eq!(cache.xack(&stream, group, &sent[..1]).await?, 1);

    let min_idle = Duration::from_secs(30);
    assert_eq!(cache.xautoclaim(&stream, group, "other", min_idle, 10).await?, vec![], "just read");
    let idle = Duration::from_secs(31);
    assert_eq!(cache.xclaim_idle(&stream, group, "stopping", &sent, idle).await?, 2, "only the pending ones");
    let claimed = cache.xautoclaim(&stream, group, "other", min_idle, 10).await?;
    assert_eq!(ids(&claimed), sent[1..], "claimable at once");
    assert!(claimed.iter().all(|m| m.deliveries == 2), "the hand-back delivered nothing: {claimed:?}");
    assert_eq!(cache.xclaim_idle(&stream, group, "stopping", &[], idle).await?, 0);
    Ok(())
}

/// `XACK` counts the messages that were pending and removes them from the stream.
pub async fn xack_counts_pending_and_deletes(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let (stream, group) = stream_with_group(cache.as_ref(), "xack").await?;
    let mut sent = Vec::new();
    for job in ["a", "b", "c"] {
        sent.push(cache.xadd(&stream, b(job)).await?);
    }
    let undelivered = cache.xadd(&stream, b("d")).await?;
    let read = cache.xreadgroup(&stream, group, "c1", 3, Duration::ZERO).await?;
    assert_eq!(ids(&read), sent);

    assert_eq!(cache.xack(&stream, group, &sent[..2]).await?, 2);
    assert_eq!(cache.xlen(&stream).await?, 2, "acknowledged entries are deleted");
    assert_eq!(cache.xack(&stream, group, &sent[..2]).await?, 0, "already acknowledged");
    assert_eq!(cache.xack(&stream, group, &[]).await?, 0);
    assert_eq!(cache.xlen(&stream).await?, 2);

    let rest = cache.xreadgroup(&stream, group, "c1", 10, Duration::ZERO).await?;
    assert_eq!(ids(&rest), vec![undelivered.clone()]);
    assert_eq!(cache.xack(&stream, group, &[sent[2].clone(), undelivered]).await?, 2);
    assert_eq!(cache.xlen(&stream).await?, 0);
    let seen: HashSet<String> = ids(&read).into_iter().chain(ids(&rest)).collect();
    assert_eq!(seen.len(), 4);
    Ok(())
}

/// `XRANGE` reads entries oldest first without delivering them; `XDEL` removes them.
pub async fn xrange_reads_without_delivering_and_xdel_removes(cache: Arc<dyn Cache>) -> EngineResult<()> {
    let stream = unique_prefix("xrange");
    assert_eq!(cache.xrange(&stream, 10).await?, vec![], "a missing stream is empty");
    let mut sent = Vec::new();
    for job in ["a", "b", "c"] {
        sent.push(cache.xadd(&stream, b(job)).await?);
    }
    let first_two = cache.xrange(&stream, 2).await?;
    assert_eq!(ids(&first_two), sent[..2]);
    assert_eq!(first_two[1].payload, b("b"));
    assert_eq!(ids(&cache.xrange(&stream, 10).await?), sent, "reading delivered nothing");

    assert_eq!(cache.xdel(&stream, &[sent[1].clone(), "1-1".to_string()]).await?, 1);
    assert_eq!(cache.xdel(&stream, &[sent[1].clone()]).await?, 0, "already deleted");
    assert_eq!(cache.xdel(&stream, &[]).await?, 0);
    assert_eq!(ids(&cache.xrange(&stream, 10).await?), vec![sent[0].clone(), sent[2].clone()]);
    assert_eq!(cache.xlen(&stream).await?, 2);
    Ok(())
}

/// `ping` succeeds against a working cache.
pub async fn ping_answers(cache: Arc<dyn Cache>) -> EngineResult<()> {
    cache.ping().await
}
