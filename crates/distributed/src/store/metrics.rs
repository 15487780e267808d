//! Consumed capacity per operation kind, summed over the life of the handle, and handed on
//! to `roost_engines::usage` (the exported metrics and the cost per route).
//!
//! Every request asks for `ReturnConsumedCapacity=INDEXES`; the units it reports are
//! split between the table and each GSI when DynamoDB gives that breakdown (an emulator
//! may give only the total, which then goes to the index the request read). Counters are
//! lock-free because every request of every task records into them.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::ConsumedCapacity;
use roost_engines::{usage, Index};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpKind {
    Get,
    Put,
    Update,
    Delete,
    Query,
    Scan,
    TransactWrite,
    BatchGet,
    BatchWrite,
}

impl OpKind {
    const ALL: [OpKind; 9] = [
        OpKind::Get,
        OpKind::Put,
        OpKind::Update,
        OpKind::Delete,
        OpKind::Query,
        OpKind::Scan,
        OpKind::TransactWrite,
        OpKind::BatchGet,
        OpKind::BatchWrite,
    ];

    fn is_read(self) -> bool {
        matches!(self, OpKind::Get | OpKind::Query | OpKind::Scan | OpKind::BatchGet)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            OpKind::Get => "get",
            OpKind::Put => "put",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
            OpKind::Query => "query",
            OpKind::Scan => "scan",
            OpKind::TransactWrite => "transact_write",
            OpKind::BatchGet => "batch_get",
            OpKind::BatchWrite => "batch_write",
        }
    }
}

/// Capacity units per `OpKind`, each an `f64` kept as its bits in an atomic.
#[derive(Debug)]
pub(crate) struct Capacity {
    table: String,
    units: [AtomicU64; OpKind::ALL.len()],
}

/// The `index` label of a GSI DynamoDB names.
fn index_label(name: &str) -> &'static str {
    match name {
        "gsi1" => "gsi1",
        "gsi2" => "gsi2",
        _ => "other",
    }
}

fn label_of(index: Index) -> &'static str {
    match index {
        Index::Table => "table",
        Index::Gsi1 => "gsi1",
        Index::Gsi2 => "gsi2",
    }
}

impl Capacity {
    pub(crate) fn new(table: &str) -> Self {
        Capacity { table: table.to_string(), units: Default::default() }
    }

    /// Records what a request on the table (or, for a query, `index`) consumed.
    pub(crate) fn record(&self, kind: OpKind, consumed: Option<&ConsumedCapacity>) {
        self.record_on(kind, Index::Table, consumed);
    }

    pub(crate) fn record_on(&self, kind: OpKind, index: Index, consumed: Option<&ConsumedCapacity>) {
        let Some(consumed) = consumed else { return };
        if let Some(units) = consumed.capacity_units {
            self.add(kind, units);
        }
        let mut parts: Vec<(&'static str, f64)> = Vec::new();
        if let Some(units) = consumed.table.as_ref().and_then(|t| t.capacity_units) {
            parts.push(("table", units));
        }
        for (name, capacity) in consumed.global_secondary_indexes.iter().flatten() {
            if let Some(units) = capacity.capacity_units {
                parts.push((index_label(name), units));
            }
        }
        if parts.is_empty() {
            parts.extend(consumed.capacity_units.map(|units| (label_of(index), units)));
        }
        for (label, units) in parts {
            let (read, write) = if kind.is_read() { (units, 0.0) } else { (0.0, units) };
            usage::record(&self.table, label, read, write);
        }
    }

    pub(crate) fn record_all(&self, kind: OpKind, consumed: Option<&Vec<ConsumedCapacity>>) {
        for c in consumed.into_iter().flatten() {
            self.record(kind, Some(c));
        }
    }

    fn add(&self, kind: OpKind, units: f64) {
        let slot = &self.units[kind as usize];
        // The closure always returns Some, so the update cannot fail.
        let _ = slot.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
            Some((f64::from_bits(bits) + units).to_bits())
        });
    }

    pub(crate) fn snapshot(&self) -> Vec<(&'static str, f64)> {
        OpKind::ALL
            .iter()
            .map(|kind| (kind.name(), f64::from_bits(self.units[*kind as usize].load(Ordering::Relaxed))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_add_up_per_kind() {
        let capacity = Capacity::new("t");
        let half = ConsumedCapacity::builder().capacity_units(0.5).build();
        capacity.record(OpKind::Get, Some(&half));
        capacity.record(OpKind::Get, Some(&half));
        capacity.record_all(OpKind::BatchWrite, Some(&vec![half.clone(), half]));
        let snapshot = capacity.snapshot();
        assert!(snapshot.contains(&("get", 1.0)));
        assert!(snapshot.contains(&("batch_write", 1.0)));
        assert!(snapshot.contains(&("put", 0.0)));
    }
}
