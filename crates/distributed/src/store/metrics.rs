//! Consumed capacity per operation kind, summed over the life of the handle.
//!
//! Every request asks for `ReturnConsumedCapacity=TOTAL`; the units it reports (table plus
//! indexes) are added here so that the metrics endpoint can show where the bill comes from.
//! Counters are lock-free because every request of every task records into them.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::ConsumedCapacity;

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
#[derive(Debug, Default)]
pub(crate) struct Capacity {
    units: [AtomicU64; OpKind::ALL.len()],
}

impl Capacity {
    pub(crate) fn record(&self, kind: OpKind, consumed: Option<&ConsumedCapacity>) {
        if let Some(units) = consumed.and_then(|c| c.capacity_units) {
            self.add(kind, units);
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
        let capacity = Capacity::default();
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
