//! The circuit breaker in front of every Redis call: after a few failures in a row, calls
//! fail at once instead of each waiting out its command timeout, and a background probe
//! closes the circuit again as soon as Redis answers.
//!
//! Why: while Redis is away, fred holds each command until a reconnect or its timeout
//! (`command_timeout`, 3 s). A request makes several cache calls, so without the breaker
//! every request waited 9 to 15 s before falling back to the store. The cache is never the
//! only copy of what a read shows, so failing fast is always safe for reads; writes that
//! need the cache answer 503 at once rather than after a long wait.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use roost_engines::{EngineError, EngineResult};

/// Quick failures in a row that open the circuit. More than one, so a single error reply
/// (a queue group that must be declared again, say) does not fail the calls after it. A
/// call that failed only after waiting out its whole budget opens it at once: waiting is
/// what the breaker is there to spare the next calls.
const THRESHOLD: u32 = 3;

/// How often the probe asks Redis while the circuit is open.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// Shared by the clones of one `RedisCache`.
pub(super) struct Breaker {
    /// A failure that took this long was a wait for a Redis that did not answer.
    slow: Duration,
    /// Failures since the last success.
    failures: AtomicU32,
    /// Calls fail at once while set; only the probe clears it.
    open: AtomicBool,
}

impl Breaker {
    /// A closed breaker for calls whose budget is `slow`.
    pub(super) fn new(slow: Duration) -> Self {
        Breaker { slow, failures: AtomicU32::new(0), open: AtomicBool::new(false) }
    }

    /// Runs `call` unless the circuit is open, and counts its outcome. When this failure
    /// opens the circuit, `probe` is run every `PROBE_EVERY` in the background until it
    /// succeeds (it should be a cheap command such as `PING`).
    pub(super) async fn call<T, P, PF>(
        self: &Arc<Self>,
        call: impl Future<Output = EngineResult<T>>,
        probe: P,
    ) -> EngineResult<T>
    where
        P: Fn() -> Option<PF> + Send + 'static,
        PF: Future<Output = EngineResult<()>> + Send + 'static,
    {
        if self.open.load(Ordering::Acquire) {
            return Err(EngineError::unavailable(
                "redis",
                "circuit open: recent calls failed; reconnecting in the background",
            ));
        }
        let started = Instant::now();
        let result = call.await;
        match &result {
            Ok(_) => self.failures.store(0, Ordering::Relaxed),
            Err(EngineError::Unavailable { .. }) => {
                let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                let waited = started.elapsed() >= self.slow;
                if (failures >= THRESHOLD || waited) && !self.open.swap(true, Ordering::AcqRel) {
                    tracing::warn!(failures, "redis keeps failing; failing calls at once until it answers");
                    tokio::spawn(Self::probe(Arc::downgrade(self), probe));
                }
            }
            Err(_) => {}
        }
        result
    }

    /// Closes the circuit once `probe` succeeds; ends early if the cache is dropped (the
    /// probe answers `None`) so it never keeps a closed client's connections alive.
    async fn probe<P, PF>(breaker: Weak<Self>, probe: P)
    where
        P: Fn() -> Option<PF>,
        PF: Future<Output = EngineResult<()>>,
    {
        loop {
            tokio::time::sleep(PROBE_EVERY).await;
            let Some(ping) = probe() else { return };
            let answered = ping.await.is_ok();
            let Some(breaker) = breaker.upgrade() else { return };
            if answered {
                breaker.failures.store(0, Ordering::Relaxed);
                breaker.open.store(false, Ordering::Release);
                tracing::warn!("redis answers again; calls go through");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;

    fn down() -> EngineResult<()> {
        Err(EngineError::unavailable("redis", "connection refused"))
    }

    #[tokio::test]
    async fn opens_after_failures_in_a_row_and_the_probe_closes_it() {
        let breaker = Arc::new(Breaker::new(Duration::from_secs(3)));
        let up = Arc::new(AtomicBool::new(false));
        let probe = {
            let up = up.clone();
            move || {
                let up = up.clone();
                Some(async move {
                    if up.load(Ordering::SeqCst) {
                        Ok(())
                    } else {
                        down()
                    }
                })
            }
        };
        for _ in 0..THRESHOLD - 1 {
            assert!(breaker.call(async { down() }, probe.clone()).await.is_err());
        }
        // Still closed: the next call runs (and succeeds), which resets the count.
        assert!(breaker.call(async { Ok(()) }, probe.clone()).await.is_ok());
        for _ in 0..THRESHOLD {
            assert!(breaker.call(async { down() }, probe.clone()).await.is_err());
        }
        // Open: the call is not even run.
        let ran = AtomicBool::new(false);
        let refused = breaker
            .call(
                async {
                    ran.store(true, Ordering::SeqCst);
                    Ok(())
                },
                probe.clone(),
            )
            .await;
        assert!(refused.is_err() && !ran.load(Ordering::SeqCst));
        tokio::time::sleep(PROBE_EVERY * 4).await;
        assert!(breaker.call(async { Ok(()) }, probe.clone()).await.is_err(), "closed while Redis is down");
        up.store(true, Ordering::SeqCst);
        tokio::time::sleep(PROBE_EVERY * 2).await;
        assert!(breaker.call(async { Ok(()) }, probe).await.is_ok(), "still open after Redis came back");
    }

    #[tokio::test]
    async fn one_failure_after_the_whole_budget_opens_it() {
        let breaker = Arc::new(Breaker::new(Duration::from_millis(50)));
        let slow = async {
            tokio::time::sleep(Duration::from_millis(60)).await;
            down()
        };
        assert!(breaker.call(slow, || None::<std::future::Ready<_>>).await.is_err());
        let ran = AtomicBool::new(false);
        let refused = breaker
            .call(
                async {
                    ran.store(true, Ordering::SeqCst);
                    Ok(())
                },
                || None::<std::future::Ready<_>>,
            )
            .await;
        assert!(refused.is_err() && !ran.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn other_errors_do_not_count() {
        let breaker = Arc::new(Breaker::new(Duration::from_secs(3)));
        for _ in 0..THRESHOLD * 2 {
            let invalid = breaker
                .call(async { Err::<(), _>(EngineError::Invalid("bad".into())) }, || {
                    None::<std::future::Ready<_>>
                })
                .await;
            assert!(invalid.is_err());
        }
        assert!(breaker.call(async { Ok(()) }, || None::<std::future::Ready<_>>).await.is_ok());
    }
}
