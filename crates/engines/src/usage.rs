//! Who consumed the store's capacity: every unit is exported as a metric (per table and
//! index) and charged to the workload that caused it — the HTTP route or the background job
//! kind being handled — so cost can be reported per route.
//!
//! The workload is a tokio task-local: the HTTP middleware and the worker loop run their
//! future inside [`Workload::scope`], and the capacity recorder (deep in a store engine,
//! which knows nothing of routes) reads it. Work a request hands to a task of its own is
//! outside that scope and is charged to [`Workload::Unattributed`].
//!
//! The ledger is process-wide, like the metrics recorder: one process serves one
//! deployment, and totals count from the process's start.
//!
//! Cache round trips are counted the same way, per task: [`count_cache_round_trips`] opens
//! a counter that every cache call made by the task adds to ([`cache_round_trip`], called
//! by `CountedCache`), so a request's round trips cost a cell increment each and one
//! metric update per request.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{LazyLock, Mutex};
use std::time::SystemTime;

tokio::task_local! {
    static CURRENT: Workload;
    static CACHE_ROUND_TRIPS: Cell<u64>;
}

/// What a piece of work is charged to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// An HTTP route: method and matched path template (`GET /api/users/{username}`).
    Route(String),
    /// A background job kind (`fan_out`, `sync_like`, ...).
    Job(String),
    /// Work outside any route or job (tasks spawned off a request, start-up).
    Unattributed,
}

/// What one workload did since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    /// Requests handled (routes) or jobs run (job kinds).
    pub count: u64,
    /// Read request units consumed.
    pub read_units: f64,
    /// Write request units consumed.
    pub write_units: f64,
}

static LEDGER: LazyLock<Mutex<HashMap<Workload, Totals>>> = LazyLock::new(Default::default);
static SINCE: LazyLock<SystemTime> = LazyLock::new(SystemTime::now);

impl Workload {
    /// Runs `work` as one request (or job run) of this workload: counted once, and every
    /// unit its store calls consume is charged to it.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        charge(&self, |t| t.count += 1);
        CURRENT.scope(self, work).await
    }

    /// The workload the current task is doing.
    pub fn current() -> Workload {
        CURRENT.try_with(Clone::clone).unwrap_or(Workload::Unattributed)
    }
}

/// Runs `work`, answering with its output the number of cache round trips it made (in
/// its own task: work handed to another task is not counted).
pub async fn count_cache_round_trips<F: Future>(work: F) -> (F::Output, u64) {
    CACHE_ROUND_TRIPS
        .scope(Cell::new(0), async {
            let output = work.await;
            (output, CACHE_ROUND_TRIPS.with(Cell::get))
        })
        .await
}

/// Counts one round trip to the cache, for the enclosing [`count_cache_round_trips`] if any.
pub fn cache_round_trip() {
    let _ = CACHE_ROUND_TRIPS.try_with(|count| count.set(count.get() + 1));
}

/// Starts the clock of the totals (else it starts at the first charge).
pub fn start() {
    LazyLock::force(&SINCE);
}

/// Records units consumed on `table` (`index`: `table` for the base table, else the GSI's
/// name): exported, and charged to the current workload. The exported totals are gauges
/// only because the `metrics` crate's counters count whole numbers and a read can cost half
/// a unit; they only ever grow, so `rate()` applies as to a counter.
pub fn record(table: &str, index: &'static str, read_units: f64, write_units: f64) {
    if read_units > 0.0 {
        metrics::gauge!("roost_dynamodb_read_units_consumed", "table" => table.to_owned(), "index" => index)
            .increment(read_units);
    }
    if write_units > 0.0 {
        metrics::gauge!("roost_dynamodb_write_units_consumed", "table" => table.to_owned(), "index" => index)
            .increment(write_units);
    }
    let workload = Workload::current();
    charge(&workload, |t| {
        t.read_units += read_units;
        t.write_units += write_units;
    });
}

fn charge(workload: &Workload, apply: impl FnOnce(&mut Totals)) {
    let mut ledger = LEDGER.lock().unwrap_or_else(|e| e.into_inner());
    match ledger.get_mut(workload) {
        Some(totals) => apply(totals),
        None => apply(ledger.entry(workload.clone()).or_default()),
    }
}

/// When the totals started, and every workload's totals.
pub fn snapshot() -> (SystemTime, Vec<(Workload, Totals)>) {
    let since = *SINCE;
    let ledger = LEDGER.lock().unwrap_or_else(|e| e.into_inner());
    (since, ledger.iter().map(|(w, t)| (w.clone(), *t)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals_of(workload: &Workload) -> Totals {
        snapshot().1.into_iter().find(|(w, _)| w == workload).map(|(_, t)| t).unwrap_or_default()
    }

    #[tokio::test]
    async fn units_are_charged_to_the_workload_in_scope() {
        let route = Workload::Route("GET /usage-test".into());
        route.clone().scope(async { record("t", "table", 1.5, 2.0) }).await;
        route.clone().scope(async { record("t", "gsi1", 0.5, 0.0) }).await;
        assert_eq!(totals_of(&route), Totals { count: 2, read_units: 2.0, write_units: 2.0 });
        let job = Workload::Job("usage_test".into());
        job.clone().scope(async { assert_eq!(Workload::current(), job) }).await;
        assert_eq!(totals_of(&job).count, 1);
    }

    #[tokio::test]
    async fn cache_round_trips_are_counted_per_scope() {
        let ((), outer) = count_cache_round_trips(async {
            cache_round_trip();
            let ((), inner) = count_cache_round_trips(async { cache_round_trip() }).await;
            assert_eq!(inner, 1);
            cache_round_trip();
        })
        .await;
        assert_eq!(outer, 2, "the inner scope's trip is its own");
        cache_round_trip(); // outside any scope: ignored, not a panic
    }

    #[tokio::test]
    async fn work_outside_a_scope_is_unattributed() {
        assert_eq!(Workload::current(), Workload::Unattributed);
        let before = totals_of(&Workload::Unattributed).write_units;
        record("t", "table", 0.0, 1.0);
        assert!(totals_of(&Workload::Unattributed).write_units >= before + 1.0);
    }
}
