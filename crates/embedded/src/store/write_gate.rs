//! The writer's queue: one write at a time, requests' writes before bulk writes.
//!
//! A fan-out job writes a post into a thousand feeds as ten 100-row batches; a user's post
//! is one small transaction. Served first come first served, the post would wait behind
//! every batch queued before it (tens of milliseconds under fan-out load); here it waits
//! only for the write in progress. Bulk writes cannot starve for long: requests' writes
//! are short and arrive at the pace of requests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// Which line a write joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lane {
    /// Writes a request is waiting for: single items and transactions.
    Urgent,
    /// Batch writes (fan-out, cleanup, expiry), which nobody is waiting on interactively.
    Bulk,
}

#[derive(Default)]
pub(super) struct WriteGate {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// A write holds the turn.
    busy: bool,
    urgent: VecDeque<oneshot::Sender<()>>,
    bulk: VecDeque<oneshot::Sender<()>>,
}

/// The turn to write; the next in line gets it when this is dropped.
pub(super) struct WriteTurn(Arc<WriteGate>);

impl Drop for WriteTurn {
    fn drop(&mut self) {
        self.0.pass_on();
    }
}

/// A place in line. Dropped before its turn came (the caller gave up), it leaves the line;
/// dropped after the turn was handed to it but before it woke, it passes the turn on.
struct Waiter {
    gate: Arc<WriteGate>,
    granted: Option<oneshot::Receiver<()>>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if let Some(mut rx) = self.granted.take() {
            rx.close();
            if rx.try_recv().is_ok() {
                self.gate.pass_on();
            }
        }
    }
}

impl WriteGate {
    pub(super) async fn turn(self: &Arc<Self>, lane: Lane) -> WriteTurn {
        let rx = {
            let mut state = self.lock();
            if !state.busy {
                state.busy = true;
                return WriteTurn(self.clone());
            }
            let (tx, rx) = oneshot::channel();
            match lane {
                Lane::Urgent => state.urgent.push_back(tx),
                Lane::Bulk => state.bulk.push_back(tx),
            }
            rx
        };
        let mut waiter = Waiter { gate: self.clone(), granted: Some(rx) };
        if let Some(rx) = waiter.granted.as_mut() {
            // The sender is only dropped after a send or by a closed receiver: Ok always.
            let _ = rx.await;
        }
        waiter.granted = None;
        WriteTurn(self.clone())
    }

    /// Hands the turn to the first live waiter, urgent ones first, or frees it.
    fn pass_on(&self) {
        let mut state = self.lock();
        while let Some(next) = state.urgent.pop_front().or_else(|| state.bulk.pop_front()) {
            if next.send(()).is_ok() {
                return;
            }
        }
        state.busy = false;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn urgent_writes_go_before_queued_bulk_writes() {
        let gate = Arc::new(WriteGate::default());
        let first = gate.turn(Lane::Bulk).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for (name, lane) in [("bulk-1", Lane::Bulk), ("bulk-2", Lane::Bulk), ("urgent", Lane::Urgent)] {
            let (gate, order) = (gate.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let _turn = gate.turn(lane).await;
                order.lock().unwrap().push(name);
            }));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(first);
        for task in waiting {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["urgent", "bulk-1", "bulk-2"]);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_does_not_lose_the_turn() {
        let gate = Arc::new(WriteGate::default());
        let first = gate.turn(Lane::Urgent).await;
        let gave_up = tokio::time::timeout(Duration::from_millis(20), gate.turn(Lane::Urgent)).await;
        assert!(gave_up.is_err());
        drop(first);
        let again = tokio::time::timeout(Duration::from_secs(1), gate.turn(Lane::Bulk)).await;
        assert!(again.is_ok(), "the turn was lost with the waiter that gave up");
    }
}
