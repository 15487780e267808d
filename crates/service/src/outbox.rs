//! The transactional outbox: background work that follows from committed items.
//!
//! A write that owes a job (a post's fan-out, a delete's retract, an erasure) puts the job
//! in an outbox item inside its own transaction, so a committed write always has its job
//! and a write that did not commit has none. After the commit the request hands the job to
//! the queue at once (the fast path); if that fails the request still succeeds, since the
//! job is safe in the store. The workers delete the outbox item once its job has run; a
//! relay on every instance queues the items still there after `outbox_grace_secs` (the fast
//! path failed, or the process died between commit and enqueue). Jobs are idempotent, so a
//! job queued twice (a relay racing a slow worker) is harmless; a conditional claim keeps
//! the instances from all queuing the same item on each sweep.
//!
//! The same outbox serves both modes (docs/architecture.md, "Jobs"): the items live in the
//! table, so this is written once above the `Store` trait.

use std::time::Duration;

use roost_engines::{Cond, EngineError, Index, Item, KeyCondition, Page, SkCond, TxOp, Update};
use serde::Deserialize;
use serde_json::Value;

use crate::error::ServiceResult;
use crate::jobs::Job;
use crate::{ids, keys, time, Service};

/// The attribute holding when the item may be queued again (ms since the epoch).
const CLAIM: &str = "claim_until";
/// How often the item was queued by the relay.
const RELAYS: &str = "relays";
/// Items a sweep reads (and queues at most) per shard.
const SWEEP_BATCH: usize = 100;
/// How long a relayed item is left to its job before it is queued again; doubled on each
/// relay, so a job that keeps failing is not queued over and over.
const LEASE: Duration = Duration::from_secs(60);
/// The attribute of a queued job's payload that names its outbox item.
const PAYLOAD_FIELD: &str = "outbox";

/// A job written to the outbox with the change it follows, to hand to the queue once the
/// change committed.
#[derive(Debug)]
pub(crate) struct Outboxed {
    id: String,
    job: Job,
}

/// What a relay sweep found: the backlog the fast path did not hand over.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OutboxBacklog {
    /// Items older than the grace (counted up to a hundred per shard).
    pub items: u64,
    /// Age of the oldest of them, in seconds (0 when there is none).
    pub oldest_secs: f64,
    /// Items this sweep queued.
    pub relayed: u64,
}

impl Service {
    /// The outbox item of `job` (one more operation for the transaction of the change it
    /// follows) and what `hand_over` queues after the commit.
    pub(crate) fn outbox(&self, job: Job) -> ServiceResult<(TxOp, Outboxed)> {
        let id = ids::new_id();
        let key = keys::outbox(&id);
        let item = Item::new(key.pk, key.sk).with("job", serde_json::to_value(&job)?).with(CLAIM, 0);
        Ok((TxOp::Put { item, cond: Cond::NotExists }, Outboxed { id, job }))
    }

    /// The fast path, after the commit: queues the job at once. A failure is logged, not
    /// returned: the write is committed and the relay queues the job later.
    pub(crate) async fn hand_over(&self, outboxed: Outboxed) {
        if let Err(err) = self.enqueue_outboxed(&outboxed.id, &outboxed.job).await {
            tracing::warn!(%err, kind = outboxed.job.kind(), outbox = %outboxed.id,
                "queuing a committed write's job failed; the outbox relay will queue it");
        }
    }

    /// For work the request did itself after the commit (a follow's backfill): its outbox
    /// item is owed no more. If deleting it fails, the relay queues the job (harmless).
    pub(crate) async fn done_inline(&self, outboxed: Outboxed) {
        if let Err(err) = self.store.delete(&keys::outbox(&outboxed.id), Cond::None).await {
            tracing::warn!(%err, outbox = %outboxed.id, "clearing an outbox item failed; its job will run again");
        }
    }

    async fn enqueue_outboxed(&self, id: &str, job: &Job) -> ServiceResult<()> {
        let mut payload = serde_json::to_value(job)?;
        if let Value::Object(fields) = &mut payload {
            fields.insert(PAYLOAD_FIELD.into(), id.into());
        }
        self.enqueue_payload(&payload).await
    }

    /// After the job of `payload` ran (or went to the dead letters): its outbox item, if it
    /// has one, is deleted, so the relay does not queue it again.
    pub async fn clear_outbox(&self, payload: &[u8]) -> ServiceResult<()> {
        #[derive(Deserialize)]
        struct Envelope {
            outbox: Option<String>,
        }
        if let Ok(Envelope { outbox: Some(id) }) = serde_json::from_slice(payload) {
            self.store.delete(&keys::outbox(&id), Cond::None).await?;
        }
        Ok(())
    }

    /// How long an outbox item is left to the fast path before the relay queues it.
    pub fn outbox_grace(&self) -> Duration {
        Duration::from_secs(self.config.outbox_grace_secs.max(1))
    }

    /// One sweep of the relay: queues the outbox items older than `grace` that no instance
    /// claimed lately. Safe on every instance at once: each item is claimed with a
    /// conditional update before it is queued, so one instance queues it per lease.
    pub async fn relay_outbox(&self, grace: Duration) -> ServiceResult<OutboxBacklog> {
        let now = time::now_millis();
        let below = ids::floor_id(now.saturating_sub(grace.as_millis() as u64));
        let mut backlog = OutboxBacklog::default();
        // Once queuing failed (the queue is down), the sweep only counts the backlog.
        let mut queue_down = false;
        for shard in 0..keys::OUTBOX_SHARDS {
            let cond = KeyCondition::pk(keys::outbox_pk(shard)).with_sk(SkCond::Lt(below.clone()));
            let found = self.store.query(Index::Table, cond, Page::forward(SWEEP_BATCH)).await?;
            backlog.items += found.items.len() as u64;
            if let Some(oldest) = found.items.first().and_then(|i| ids::millis_of(&i.sk)) {
                backlog.oldest_secs = backlog.oldest_secs.max(now.saturating_sub(oldest) as f64 / 1000.0);
            }
            for item in &found.items {
                if queue_down {
                    break;
                }
                match self.relay_one(item, now).await {
                    Ok(true) => backlog.relayed += 1,
                    Ok(false) => {}
                    Err(err) => {
                        tracing::warn!(%err, "the outbox relay could not queue a job; will retry");
                        queue_down = true;
                    }
                }
            }
        }
        Ok(backlog)
    }

    /// Claims and queues one outbox item; false when its lease runs or another instance
    /// claimed it first.
    async fn relay_one(&self, item: &Item, now: u64) -> ServiceResult<bool> {
        let claimed = item.attrs.get(CLAIM).cloned().unwrap_or(Value::from(0));
        if claimed.as_u64().unwrap_or(0) > now {
            return Ok(false);
        }
        let job: Job = match item.attrs.get("job").map(|j| serde_json::from_value(j.clone())) {
            Some(Ok(job)) => job,
            _ => {
                tracing::error!(outbox = %item.sk, "unreadable outbox item; left for an operator");
                return Ok(false);
            }
        };
        let relays = item.int(RELAYS).unwrap_or(0).clamp(0, 6) as u32;
        let until = now + LEASE.as_millis() as u64 * 2u64.pow(relays);
        let claim = Update::new().set(CLAIM, until).add(RELAYS, 1);
        match self.store.update(&item.key(), claim, Cond::Equals(CLAIM.into(), claimed.clone())).await {
            Ok(_) => {}
            // Claimed by another instance, or done meanwhile.
            Err(EngineError::ConditionFailed) => return Ok(false),
            Err(err) => return Err(err.into()),
        }
        if let Err(err) = self.enqueue_outboxed(&item.sk, &job).await {
            // Give the claim back, so that the next sweep (here or elsewhere) tries again
            // rather than wait out the lease; if even that fails the lease ends it.
            let release = Update::new().set(CLAIM, claimed).add(RELAYS, -1);
            let _ = self.store.update(&item.key(), release, Cond::Equals(CLAIM.into(), until.into())).await;
            return Err(err);
        }
        tracing::info!(outbox = %item.sk, kind = job.kind(), "queued a committed write's job from the outbox");
        Ok(true)
    }
}
