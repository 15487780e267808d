//! The metering decorator over any [`Store`]: latency and errors per operation, and — for
//! an engine without a bill of its own — the DynamoDB capacity its calls would have
//! consumed (see `capacity`). Written once above both engines; the binary wraps whichever
//! store it opened.
//!
//! The latency histograms are registered once, at construction, so a call costs two clock
//! reads and one histogram sample, not a lookup of its metric by name.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use metrics::Histogram;

use crate::capacity::{self, Consistency, TRANSACTION_FACTOR};
use crate::error::{EngineError, EngineResult};
use crate::store::{Index, Item, Key, KeyCondition, Page, QueryPage, Store, TxOp, Update, WriteOp};
use crate::usage;

/// Where the capacity figures of the wrapped store come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Billing {
    /// The engine records what its service reports (DynamoDB's `ConsumedCapacity`).
    Reported,
    /// The decorator computes the units with DynamoDB's rules, under this table label.
    Estimated {
        /// The `table` label of the estimated units.
        table: String,
    },
}

#[derive(Clone, Copy)]
enum Op {
    Get,
    Put,
    Update,
    Delete,
    Query,
    TransactWrite,
    BatchGet,
    BatchWrite,
    Scan,
}

impl Op {
    const ALL: [Op; 9] = [
        Op::Get,
        Op::Put,
        Op::Update,
        Op::Delete,
        Op::Query,
        Op::TransactWrite,
        Op::BatchGet,
        Op::BatchWrite,
        Op::Scan,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Put => "put",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Query => "query",
            Op::TransactWrite => "transact_write",
            Op::BatchGet => "batch_get",
            Op::BatchWrite => "batch_write",
            Op::Scan => "scan",
        }
    }
}

/// A store that meters every call of the store it wraps.
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    billing: Billing,
    latency: [Histogram; Op::ALL.len()],
}

impl MeteredStore {
    /// Wraps `inner`. Install the metrics recorder first: the histograms bind to the
    /// recorder present now.
    pub fn new(inner: Arc<dyn Store>, billing: Billing) -> Self {
        metrics::describe_histogram!(
            "roost_store_operation_duration_seconds",
            metrics::Unit::Seconds,
            "Store call latency by operation"
        );
        metrics::describe_counter!(
            "roost_store_errors_total",
            "Store calls that failed, by operation and error"
        );
        usage::start();
        let latency = Op::ALL
            .map(|op| metrics::histogram!("roost_store_operation_duration_seconds", "op" => op.name()));
        MeteredStore { inner, billing, latency }
    }

    async fn timed<T>(&self, op: Op, call: impl Future<Output = EngineResult<T>>) -> EngineResult<T> {
        let started = Instant::now();
        let result = call.await;
        self.latency[op as usize].record(started.elapsed().as_secs_f64());
        if let Err(err) = &result {
            metrics::counter!("roost_store_errors_total", "op" => op.name(), "error" => error_kind(err))
                .increment(1);
        }
        result
    }

    /// Records estimated units when this store is billed by estimate; `units` is only
    /// evaluated then.
    fn estimate(&self, units: impl FnOnce() -> Vec<(&'static str, f64, f64)>) {
        if let Billing::Estimated { table } = &self.billing {
            for (index, read, write) in units() {
                usage::record(table, index, read, write);
            }
        }
    }
}

/// The error label: expected outcomes (a failed condition) are told apart from failures.
fn error_kind(err: &EngineError) -> &'static str {
    match err {
        EngineError::ConditionFailed => "condition_failed",
        EngineError::TransactionCanceled { .. } => "transaction_canceled",
        EngineError::Invalid(_) => "invalid",
        EngineError::Throttled { .. } => "throttled",
        EngineError::Unavailable { .. } => "unavailable",
    }
}

/// Whether a failed call was still billed: DynamoDB charges a write whose condition failed.
fn billed<T>(result: &EngineResult<T>) -> bool {
    !matches!(
        result,
        Err(EngineError::Unavailable { .. } | EngineError::Throttled { .. } | EngineError::Invalid(_))
    )
}

fn index_label(index: Index) -> &'static str {
    match index {
        Index::Table => "table",
        Index::Gsi1 => "gsi1",
        Index::Gsi2 => "gsi2",
    }
}

/// Units of writing `item`: the table, and each GSI it appears in (projections are ALL,
/// so an index entry is the size of the item).
fn item_writes(item: &Item, factor: f64, out: &mut Vec<(&'static str, f64, f64)>) {
    let units = capacity::write_units(capacity::item_size(item)) * factor;
    out.push(("table", 0.0, units));
    if item.gsi1.is_some() {
        out.push(("gsi1", 0.0, units));
    }
    if item.gsi2.is_some() {
        out.push(("gsi2", 0.0, units));
    }
}

/// The size a write of `key` with `update` is billed at when the item is not at hand.
fn update_size(key: &Key, update: &Update) -> usize {
    let set: usize = update.set.iter().map(|(n, v)| n.len() + capacity::value_size(v)).sum();
    let add: usize = update.add.iter().map(|(n, _)| n.len() + 8).sum();
    "pkpk".len() + key.pk.len() + key.sk.len() + set + add
}

fn key_size(key: &Key) -> usize {
    "pkpk".len() + key.pk.len() + key.sk.len()
}

fn read_of(items: &[Item], index: Index) -> (&'static str, f64, f64) {
    let consistency = if index == Index::Table { Consistency::Strong } else { Consistency::Eventual };
    let bytes = items.iter().map(capacity::item_size).sum();
    (index_label(index), capacity::read_units(bytes, consistency), 0.0)
}

#[async_trait]
impl Store for MeteredStore {
    async fn get(&self, key: &Key) -> EngineResult<Option<Item>> {
        let result = self.timed(Op::Get, self.inner.get(key)).await;
        if let Ok(found) = &result {
            self.estimate(|| vec![read_of(found.as_slice(), Index::Table)]);
        }
        result
    }

    async fn put(&self, item: Item, cond: crate::Cond) -> EngineResult<()> {
        let mut units = Vec::new();
        if matches!(self.billing, Billing::Estimated { .. }) {
            item_writes(&item, 1.0, &mut units);
        }
        let result = self.timed(Op::Put, self.inner.put(item, cond)).await;
        if billed(&result) {
            self.estimate(|| units);
        }
        result
    }

    async fn update(&self, key: &Key, update: Update, cond: crate::Cond) -> EngineResult<Item> {
        let fallback = update_size(key, &update);
        let result = self.timed(Op::Update, self.inner.update(key, update, cond)).await;
        match &result {
            Ok(item) => self.estimate(|| {
                let mut units = Vec::new();
                item_writes(item, 1.0, &mut units);
                units
            }),
            Err(_) if billed(&result) => {
                self.estimate(|| vec![("table", 0.0, capacity::write_units(fallback))])
            }
            Err(_) => {}
        }
        result
    }

    async fn delete(&self, key: &Key, cond: crate::Cond) -> EngineResult<Option<Item>> {
        let result = self.timed(Op::Delete, self.inner.delete(key, cond)).await;
        match &result {
            Ok(Some(old)) => self.estimate(|| {
                let mut units = Vec::new();
                item_writes(old, 1.0, &mut units);
                units
            }),
            _ if billed(&result) => {
                self.estimate(|| vec![("table", 0.0, capacity::write_units(key_size(key)))])
            }
            _ => {}
        }
        result
    }

    async fn query(&self, index: Index, key_condition: KeyCondition, page: Page) -> EngineResult<QueryPage> {
        let result = self.timed(Op::Query, self.inner.query(index, key_condition, page)).await;
        if let Ok(found) = &result {
            self.estimate(|| vec![read_of(&found.items, index)]);
        }
        result
    }

    async fn transact_write(&self, ops: Vec<TxOp>) -> EngineResult<()> {
        let mut units = Vec::new();
        if matches!(self.billing, Billing::Estimated { .. }) {
            for op in &ops {
                match op {
                    TxOp::Put { item, .. } => item_writes(item, TRANSACTION_FACTOR, &mut units),
                    TxOp::Update { key, update, .. } => units.push((
                        "table",
                        0.0,
                        capacity::write_units(update_size(key, update)) * TRANSACTION_FACTOR,
                    )),
                    TxOp::Delete { key, .. } | TxOp::Check { key, .. } => {
                        units.push(("table", 0.0, capacity::write_units(key_size(key)) * TRANSACTION_FACTOR))
                    }
                }
            }
        }
        let result = self.timed(Op::TransactWrite, self.inner.transact_write(ops)).await;
        if billed(&result) {
            self.estimate(|| units);
        }
        result
    }

    async fn batch_get(&self, keys: Vec<Key>) -> EngineResult<Vec<Item>> {
        let result = self.timed(Op::BatchGet, self.inner.batch_get(keys)).await;
        if let Ok(items) = &result {
            // A batch rounds each item on its own.
            self.estimate(|| {
                let units = items
                    .iter()
                    .map(|item| capacity::read_units(capacity::item_size(item), Consistency::Strong))
                    .sum();
                vec![("table", units, 0.0)]
            });
        }
        result
    }

    async fn batch_write(&self, ops: Vec<WriteOp>) -> EngineResult<()> {
        let mut units = Vec::new();
        if matches!(self.billing, Billing::Estimated { .. }) {
            for op in &ops {
                match op {
                    WriteOp::Put(item) => item_writes(item, 1.0, &mut units),
                    WriteOp::Delete(key) => units.push(("table", 0.0, capacity::write_units(key_size(key)))),
                }
            }
        }
        let result = self.timed(Op::BatchWrite, self.inner.batch_write(ops)).await;
        if billed(&result) {
            self.estimate(|| units);
        }
        result
    }

    async fn scan(&self, page: Page) -> EngineResult<QueryPage> {
        let result = self.timed(Op::Scan, self.inner.scan(page)).await;
        if let Ok(found) = &result {
            self.estimate(|| vec![read_of(&found.items, Index::Table)]);
        }
        result
    }

    async fn ping(&self) -> EngineResult<()> {
        self.inner.ping().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::write_units;

    #[test]
    fn an_indexed_item_writes_each_index() {
        let item = Item::new("p", "s").with_gsi1("a", "b");
        let mut units = Vec::new();
        item_writes(&item, TRANSACTION_FACTOR, &mut units);
        assert_eq!(units, vec![("table", 0.0, 2.0), ("gsi1", 0.0, 2.0)]);
    }

    #[test]
    fn a_gsi_query_reads_eventually_consistent() {
        let items = vec![Item::new("p", "s").with("body", "x".repeat(5000))];
        assert_eq!(read_of(&items, Index::Gsi2), ("gsi2", 1.0, 0.0));
        assert_eq!(read_of(&items, Index::Table), ("table", 2.0, 0.0));
        assert_eq!(read_of(&[], Index::Table), ("table", 1.0, 0.0));
    }

    #[test]
    fn an_update_without_its_item_is_sized_by_its_expression() {
        let update = Update::new().set("body", "x".repeat(2000)).add("likes", 1);
        assert_eq!(write_units(update_size(&Key::new("p", "s"), &update)), 2.0);
    }
}
