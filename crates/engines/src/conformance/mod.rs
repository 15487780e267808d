//! Conformance suites: one per engine trait, written once and run against every
//! implementation (`roost-embedded` and `roost-distributed` each instantiate them with the
//! macros exported here). A case takes a fresh handle and isolates itself with random key
//! prefixes, so cases can run concurrently against one shared DynamoDB table or Redis.

pub mod cache;
pub mod media;
pub mod store;

/// A prefix no other test run uses, for keys, streams and object paths.
pub fn unique_prefix(name: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("t{}-{}-{}-{}", std::process::id(), nanos, COUNTER.fetch_add(1, Ordering::Relaxed), name)
}
