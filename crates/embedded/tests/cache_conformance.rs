//! The `Cache` conformance suite over `MemoryCache`, plus what only the embedded cache
//! promises: a bounded memory and a queue that survives the process.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use roost_embedded::cache::{MemoryCache, DEFAULT_MAX_BYTES};
use roost_engines::conformance::unique_prefix;
use roost_engines::Cache;

/// A queue file no other test uses, in the system temp dir.
fn queue_path(name: &str) -> PathBuf {
    std::env::temp_dir().join("roost-cache-conformance").join(format!("{}.sqlite", unique_prefix(name)))
}

async fn fresh_cache() -> Arc<dyn Cache> {
    Arc::new(MemoryCache::open(&queue_path("queue"), DEFAULT_MAX_BYTES).expect("open MemoryCache"))
}

roost_engines::cache_conformance_tests!(fresh_cache);

/// Set (to a queue file) in the child process of `queued_jobs_survive_a_crash`.
const CRASH_CHILD: &str = "ROOST_QUEUE_CRASH_CHILD";
const CRASH_EXIT_CODE: i32 = 42;
const STREAM: &str = "jobs";
const GROUP: &str = "workers";

/// The process queues jobs and dies mid-work without closing anything; a new process
/// reopens the file and finds every job not yet acknowledged.
#[tokio::test]
async fn queued_jobs_survive_a_crash() {
    if let Some(path) = std::env::var_os(CRASH_CHILD) {
        queue_jobs_then_die(&PathBuf::from(path)).await;
    }
    let path = queue_path("crash");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "queued_jobs_survive_a_crash", "--test-threads=1"])
        .env(CRASH_CHILD, &path)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(CRASH_EXIT_CODE), "the child did not get to its crash");

    let cache = MemoryCache::open(&path, DEFAULT_MAX_BYTES).unwrap();
    assert_eq!(cache.xlen(STREAM).await.unwrap(), 2, "a was acknowledged; b and c remain");
    cache.xgroup_create(STREAM, GROUP).await.unwrap(); // what a restarted worker does first
    let reclaimed = cache.xautoclaim(STREAM, GROUP, "w2", Duration::ZERO, 10).await.unwrap();
    let reclaimed: Vec<_> = reclaimed.iter().map(|m| (m.payload.clone(), m.deliveries)).collect();
    assert_eq!(reclaimed, [(Bytes::from("b"), 2)], "b was being worked on");
    let fresh = cache.xreadgroup(STREAM, GROUP, "w2", 10, Duration::ZERO).await.unwrap();
    assert_eq!(
        fresh.iter().map(|m| m.payload.clone()).collect::<Vec<_>>(),
        [Bytes::from("c")],
        "c was never picked up"
    );

    let last = id_pair(&fresh[0].id);
    let next = cache.xadd(STREAM, Bytes::from("d")).await.unwrap();
    assert!(id_pair(&next) > last, "ids keep increasing across a restart");
}

async fn queue_jobs_then_die(path: &Path) -> ! {
    let cache = MemoryCache::open(path, DEFAULT_MAX_BYTES).unwrap();
    cache.xgroup_create(STREAM, GROUP).await.unwrap();
    for job in ["a", "b", "c"] {
        cache.xadd(STREAM, Bytes::from(job)).await.unwrap();
    }
    let read = cache.xreadgroup(STREAM, GROUP, "w1", 2, Duration::ZERO).await.unwrap();
    assert_eq!(cache.xack(STREAM, GROUP, &[read[0].id.clone()]).await.unwrap(), 1);
    // `exit` runs no destructor: the SQLite connection is never closed or checkpointed,
    // which is all kill -9 would do differently to the file.
    std::process::exit(CRASH_EXIT_CODE);
}

#[tokio::test]
async fn memory_stays_bounded() {
    let cache = MemoryCache::open(&queue_path("bounded"), 64 * 1024).unwrap();
    let value = Bytes::from(vec![7u8; 1024]);
    for i in 0..1000 {
        cache.set(&format!("k{i}"), value.clone(), None).await.unwrap();
    }
    let keys: Vec<String> = (0..1000).map(|i| format!("k{i}")).collect();
    let kept = cache.mget(&keys).await.unwrap().iter().filter(|v| v.is_some()).count();
    assert!(kept > 0 && kept <= 64, "{kept} KiB values kept under a 64 KiB bound");
    assert!(cache.get("k999").await.unwrap().is_some(), "the newest key is the last to go");
}

#[tokio::test]
async fn open_needs_no_existing_folder() {
    let path = std::env::temp_dir().join(unique_prefix("nested")).join("deeper").join("queue.sqlite");
    let cache = MemoryCache::open(&path, DEFAULT_MAX_BYTES).unwrap();
    cache.ping().await.unwrap();
}

fn id_pair(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap();
    (ms.parse().unwrap(), seq.parse().unwrap())
}
