//! Checks the keyspace's byte count against what its keys really take from the allocator,
//! so the configured memory bound is the memory the cache holds (issue 13 found it counting
//! about half). The test binary's allocator counts, per thread, the bytes each allocation
//! takes once rounded to the size classes of mimalloc (the allocator `roost` links); what
//! is checked is that the keyspace knows every allocation its keys make.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::footprint::size_class;
use super::shard::Shard;
use super::value::{Hash, HyperLogLog, Set, SortedSet, Value};

struct Counting;

thread_local! {
    /// Bytes this thread holds from the allocator: other tests run on other threads.
    static HELD: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = HELD.try_with(|held| held.set(held.get() + delta));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(size_class(layout.size()) as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(size_class(layout.size()) as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(size_class(new_size) as isize - size_class(layout.size()) as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn held() -> isize {
    HELD.with(Cell::get)
}

/// A key as the service names them: a prefix and a 26-character id.
fn key(kind: &str, n: usize) -> String {
    format!("roost:{kind}:01JD{n:022}")
}

/// The shard's own count and what the allocator handed out while `fill` ran.
fn measure(fill: impl FnOnce(&mut Shard, Instant)) -> (usize, usize) {
    let now = Instant::now();
    let before = held();
    let mut shard = Shard::default();
    fill(&mut shard, now);
    let taken = (held() - before) as usize;
    let counted = shard.used();
    drop(shard);
    (counted, taken)
}

fn assert_honest(shape: &str, (counted, taken): (usize, usize)) {
    let ratio = counted as f64 / taken as f64;
    println!("{shape}: counted {counted} B, allocated {taken} B, ratio {ratio:.2}");
    assert!((0.9..=1.1).contains(&ratio), "{shape}: counted {counted} B for {taken} B allocated");
}

#[test]
fn posts_and_sessions_count_what_they_take() {
    assert_honest(
        "strings with a TTL",
        measure(|shard, now| {
            for n in 0..2_000 {
                let post = Bytes::from(vec![b'x'; 300 + n % 400]);
                shard.set(&key("post", n), Value::String(post), Some(now + Duration::from_secs(3600)), now);
            }
        }),
    );
    assert_honest(
        "small strings without a TTL",
        measure(|shard, now| {
            for n in 0..5_000 {
                shard.set(&key("marker", n), Value::String(Bytes::from_static(b"1")), None, now);
            }
        }),
    );
}

#[test]
fn feeds_count_what_they_take() {
    assert_honest(
        "sorted sets",
        measure(|shard, now| {
            for feed in 0..50 {
                shard
                    .write::<SortedSet, _>(&key("feed", feed), now, |set| {
                        for n in 0..(20 + feed * 16) {
                            set.insert(&key("p", n)[6..], n as f64);
                        }
                    })
                    .unwrap();
            }
        }),
    );
}

#[test]
fn like_sets_and_counters_count_what_they_take() {
    assert_honest(
        "sets",
        measure(|shard, now| {
            for post in 0..2_000 {
                shard
                    .write::<Set, _>(&key("likes", post), now, |set| {
                        for n in 0..(1 + post % 40) {
                            set.insert(&key("u", n)[6..]);
                        }
                    })
                    .unwrap();
            }
        }),
    );
    assert_honest(
        "hashes",
        measure(|shard, now| {
            for user in 0..2_000 {
                shard
                    .write::<Hash, _>(&key("counts", user), now, |hash| {
                        for field in ["followers", "following", "posts"] {
                            hash.incr(field, 1);
                        }
                    })
                    .unwrap();
            }
        }),
    );
}

#[test]
fn unique_counters_count_what_they_take() {
    assert_honest(
        "HyperLogLogs",
        measure(|shard, now| {
            for day in 0..20 {
                shard.write::<HyperLogLog, _>(&key("active", day), now, |hll| hll.add(b"someone")).unwrap();
            }
        }),
    );
}
