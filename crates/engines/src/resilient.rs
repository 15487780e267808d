//! The resilience decorator over any [`Store`]: every call under one deadline, transient
//! failures retried with exponential backoff and full jitter, and a sustained outage turned
//! into `Unavailable` (503 with `Retry-After`) within that deadline, never a hang. Written
//! once above both engines; the binary wraps whichever store it opened.
//!
//! What is retried depends on what a failure says about the write:
//!
//! - `Throttled`: the backend refused the call and applied nothing, so every operation is
//!   retried, conditional and counting writes included.
//! - `Unavailable`: the call may have been applied (a transaction can commit just as its
//!   answer is lost). Only calls whose replay cannot
//!   change their outcome are retried: reads, unconditional puts and batch writes, and
//!   updates that only `SET`/`REMOVE` without a condition. A conditional write, a counter
//!   (`ADD`), a delete (whose answer is the old item) or a transaction is not: replaying it
//!   after it committed would turn its success into a failed condition, a counter counted
//!   twice or a missing old item. It answers 503 instead, and the client's retry goes
//!   through the use case again, whose own checks (and idempotency keys) see the first
//!   write.
//! - A failed condition, a cancelled transaction or an invalid request is an answer, not a
//!   fault: never retried.
//! - A call still running at the deadline is abandoned (503): no time is left for another
//!   attempt, and it may still be applied, like any write whose answer was lost.
//!
//! DynamoDB's SDK retries throttling and transient faults itself (adaptive mode, within
//! `dynamodb_timeout_secs`): this decorator only sees what outlasted those retries, and its
//! deadline bounds the whole, so the two never multiply past `store_timeout_ms`.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::error::{EngineError, EngineResult};
use crate::store::{Cond, Index, Item, Key, KeyCondition, Page, QueryPage, Store, TxOp, Update, WriteOp};

/// The engine name of the `Unavailable` a spent deadline answers.
const ENGINE: &str = "store";
/// The first retry waits up to this long; each further one up to twice as long as the last.
const BACKOFF_BASE: Duration = Duration::from_millis(25);
/// No single wait between attempts is longer than this.
const BACKOFF_CAP: Duration = Duration::from_secs(1);

/// How hard a call is tried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// The bound on one call as the service sees it: every attempt and every wait.
    pub deadline: Duration,
    /// Attempts per call, the first included (at least 1).
    pub attempts: u32,
}

/// A store whose calls time out and whose transient failures are retried.
pub struct ResilientStore {
    inner: Arc<dyn Store>,
    policy: RetryPolicy,
}

/// Whether replaying a call that may have been applied gives the same outcome.
#[derive(Clone, Copy, PartialEq)]
enum Replay {
    Safe,
    OnlyIfRefused,
}

impl ResilientStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>, policy: RetryPolicy) -> Self {
        metrics::describe_counter!(
            "roost_store_retries_total",
            "Store calls attempted again after a transient failure, by operation and reason"
        );
        metrics::describe_counter!(
            "roost_store_timeouts_total",
            "Store calls abandoned at their deadline, by operation"
        );
        ResilientStore { inner, policy: RetryPolicy { attempts: policy.attempts.max(1), ..policy } }
    }

    async fn call<T, F, Fut>(&self, op: &'static str, replay: Replay, mut attempt: F) -> EngineResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = EngineResult<T>>,
    {
        let deadline = Instant::now() + self.policy.deadline;
        let mut tried = 0;
        loop {
            tried += 1;
            // An attempt may run until the deadline: a slow store that answers is better than
            // a cut and a replay (DynamoDB's SDK bounds its own attempts within it).
            let (err, reason) = match tokio::time::timeout_at(deadline, attempt()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(err @ EngineError::Throttled { .. })) => (err, "throttled"),
                Ok(Err(err @ EngineError::Unavailable { .. })) if replay == Replay::Safe => {
                    (err, "unavailable")
                }
                Ok(Err(err)) => return Err(err),
                Err(_) => {
                    metrics::counter!("roost_store_timeouts_total", "op" => op).increment(1);
                    let limit = self.policy.deadline;
                    return Err(EngineError::unavailable(ENGINE, format!("{op} took longer than {limit:?}")));
                }
            };
            if tried >= self.policy.attempts {
                return Err(err);
            }
            let wait = backoff(tried - 1);
            if Instant::now() + wait >= deadline {
                return Err(err);
            }
            metrics::counter!("roost_store_retries_total", "op" => op, "reason" => reason).increment(1);
            tokio::time::sleep(wait).await;
        }
    }
}

/// The wait before retry number `retry` (0-based): uniformly random up to an exponential
/// bound ("full jitter"), so instances retrying the same hot partition spread out.
fn backoff(retry: u32) -> Duration {
    let bound = BACKOFF_BASE.saturating_mul(1 << retry.min(16)).min(BACKOFF_CAP);
    let random = RandomState::new().build_hasher().finish();
    bound.mul_f64((random % 1_000_001) as f64 / 1_000_000.0)
}

/// An unconditional write that sets or removes attributes lands the same however often.
fn update_replay(update: &Update, cond: &Cond) -> Replay {
    if update.add.is_empty() && *cond == Cond::None {
        Replay::Safe
    } else {
        Replay::OnlyIfRefused
    }
}

#[async_trait]
impl Store for ResilientStore {
    async fn get(&self, key: &Key) -> EngineResult<Option<Item>> {
        self.call("get", Replay::Safe, || self.inner.get(key)).await
    }

    async fn put(&self, item: Item, cond: Cond) -> EngineResult<()> {
        let replay = if cond == Cond::None { Replay::Safe } else { Replay::OnlyIfRefused };
        self.call("put", replay, || self.inner.put(item.clone(), cond.clone())).await
    }

    async fn update(&self, key: &Key, update: Update, cond: Cond) -> EngineResult<Item> {
        let replay = update_replay(&update, &cond);
        self.call("update", replay, || self.inner.update(key, update.clone(), cond.clone())).await
    }

    async fn delete(&self, key: &Key, cond: Cond) -> EngineResult<Option<Item>> {
        self.call("delete", Replay::OnlyIfRefused, || self.inner.delete(key, cond.clone())).await
    }

    async fn query(&self, index: Index, key_condition: KeyCondition, page: Page) -> EngineResult<QueryPage> {
        self.call("query", Replay::Safe, || self.inner.query(index, key_condition.clone(), page.clone()))
            .await
    }

    async fn transact_write(&self, ops: Vec<TxOp>) -> EngineResult<()> {
        self.call("transact_write", Replay::OnlyIfRefused, || self.inner.transact_write(ops.clone())).await
    }

    async fn batch_get(&self, keys: Vec<Key>) -> EngineResult<Vec<Item>> {
        self.call("batch_get", Replay::Safe, || self.inner.batch_get(keys.clone())).await
    }

    async fn batch_write(&self, ops: Vec<WriteOp>) -> EngineResult<()> {
        // Puts of whole items and deletes without an answer: a replay writes the same.
        self.call("batch_write", Replay::Safe, || self.inner.batch_write(ops.clone())).await
    }

    async fn scan(&self, page: Page) -> EngineResult<QueryPage> {
        self.call("scan", Replay::Safe, || self.inner.scan(page.clone())).await
    }

    async fn ping(&self) -> EngineResult<()> {
        self.call("ping", Replay::Safe, || self.inner.ping()).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// A store whose first `failures` calls fail with `error`, counting every call.
    struct Flaky {
        failures: u32,
        error: fn() -> EngineError,
        calls: AtomicU32,
    }

    impl Flaky {
        fn call(&self) -> EngineResult<()> {
            if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
                return Err((self.error)());
            }
            Ok(())
        }
    }

    #[async_trait]
    impl Store for Flaky {
        async fn get(&self, _: &Key) -> EngineResult<Option<Item>> {
            self.call().map(|()| None)
        }
        async fn put(&self, _: Item, _: Cond) -> EngineResult<()> {
            self.call()
        }
        async fn update(&self, key: &Key, _: Update, _: Cond) -> EngineResult<Item> {
            self.call().map(|()| Item::new(key.pk.clone(), key.sk.clone()))
        }
        async fn delete(&self, _: &Key, _: Cond) -> EngineResult<Option<Item>> {
            self.call().map(|()| None)
        }
        async fn query(&self, _: Index, _: KeyCondition, _: Page) -> EngineResult<QueryPage> {
            unimplemented!()
        }
        async fn transact_write(&self, _: Vec<TxOp>) -> EngineResult<()> {
            self.call()
        }
        async fn batch_get(&self, _: Vec<Key>) -> EngineResult<Vec<Item>> {
            self.call().map(|()| vec![])
        }
        async fn batch_write(&self, _: Vec<WriteOp>) -> EngineResult<()> {
            self.call()
        }
        async fn scan(&self, _: Page) -> EngineResult<QueryPage> {
            unimplemented!()
        }
        async fn ping(&self) -> EngineResult<()> {
            std::future::pending().await
        }
    }

    fn over(failures: u32, error: fn() -> EngineError) -> (Arc<Flaky>, ResilientStore) {
        let flaky = Arc::new(Flaky { failures, error, calls: AtomicU32::new(0) });
        // Room for the waits before a third attempt (at most 25 + 50 ms).
        let policy = RetryPolicy { deadline: Duration::from_millis(300), attempts: 3 };
        (Arc::clone(&flaky), ResilientStore::new(flaky, policy))
    }

    fn throttled() -> EngineError {
        EngineError::Throttled { engine: "test", message: "slow down".into() }
    }

    fn unavailable() -> EngineError {
        EngineError::unavailable("test", "connection reset")
    }

    #[tokio::test]
    async fn a_refused_conditional_write_is_retried_until_it_lands() {
        let (flaky, store) = over(2, throttled);
        store.put(Item::new("p", "s"), Cond::NotExists).await.unwrap();
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
        let (_, store) = over(3, throttled);
        assert!(matches!(
            store.put(Item::new("p", "s"), Cond::None).await,
            Err(EngineError::Throttled { .. })
        ));
    }

    #[tokio::test]
    async fn after_an_unknown_outcome_only_what_replays_the_same_is_retried() {
        let (flaky, store) = over(1, unavailable);
        store.get(&Key::new("p", "s")).await.unwrap();
        store.put(Item::new("p", "s"), Cond::None).await.unwrap();
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 3, "one failure, then two successes");
        for write in 0..4 {
            let (flaky, store) = over(1, unavailable);
            let key = Key::new("p", "s");
            let result = match write {
                0 => store.put(Item::new("p", "s"), Cond::NotExists).await,
                1 => store.update(&key, Update::new().add("n", 1), Cond::None).await.map(drop),
                2 => store.delete(&key, Cond::None).await.map(drop),
                _ => store.transact_write(vec![]).await,
            };
            assert!(matches!(result, Err(EngineError::Unavailable { .. })), "write {write}");
            assert_eq!(flaky.calls.load(Ordering::SeqCst), 1, "write {write} not replayed");
        }
    }

    #[tokio::test]
    async fn a_hung_call_ends_at_the_deadline() {
        let (_, store) = over(0, unavailable);
        let started = Instant::now();
        let err = store.ping().await.unwrap_err();
        assert!(matches!(err, EngineError::Unavailable { engine: ENGINE, .. }), "{err}");
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn backoff_grows_exponentially_up_to_its_cap() {
        for retry in 0..20 {
            let bound = BACKOFF_BASE.saturating_mul(1 << retry.min(16)).min(BACKOFF_CAP);
            assert!(backoff(retry) <= bound);
        }
        assert_eq!(BACKOFF_BASE.saturating_mul(1 << 16).min(BACKOFF_CAP), BACKOFF_CAP);
    }

    #[test]
    fn only_unconditional_set_and_remove_updates_replay_after_an_unknown_outcome() {
        assert!(update_replay(&Update::new().set("a", 1), &Cond::None) == Replay::Safe);
        assert!(update_replay(&Update::new().add("n", 1), &Cond::None) == Replay::OnlyIfRefused);
        assert!(update_replay(&Update::new().set("a", 1), &Cond::Exists) == Replay::OnlyIfRefused);
    }
}
