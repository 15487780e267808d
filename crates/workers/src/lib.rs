//! The workers: every instance runs some, all reading the one job queue through one
//! consumer group, so any instance may run any job and each job runs once.
//!
//! A job is acknowledged only after it succeeded. One that fails stays pending and is
//! retried when a worker claims it after `job_claim_idle_secs`; the same claim rescues jobs
//! held by a worker that died (kill -9, a lost instance). A job that keeps failing is moved
//! to the dead letters after [`MAX_DELIVERIES`] (see `roost_service::dead_letters`), so it
//! cannot block the queue forever and is not lost. [`run_orphaned_jobs`] runs a dead
//! predecessor's jobs at once, before an instance that is alone on its queue serves.
//!
//! Beside the queue, each instance periodically sweeps unattached uploads, rolls the
//! analytics up into the store, samples the queue's depth for the metrics and relays the
//! outbox (the jobs of committed writes that the request could not queue, see
//! `roost_service::outbox`); a job's outbox item is deleted once the job is done with.
//!
//! Each job runs as a `usage::Workload::Job` of its kind, so the capacity it consumes is
//! charged to it, and is measured (`jobs`).
#![warn(missing_docs)]

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use roost_engines::usage::Workload;
use roost_service::jobs::{Job, QueueMessage};
use roost_service::{Service, ServiceResult};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Deliveries after which a failing job is moved to the dead letters.
pub const MAX_DELIVERIES: u64 = 10;
/// Jobs read per round trip.
const BATCH: usize = 32;
/// How long a read waits for new jobs; also how fast a worker notices shutdown.
const BLOCK: Duration = Duration::from_millis(500);
/// How long to wait before trying the queue again after it failed.
const RETRY_PAUSE: Duration = Duration::from_secs(1);
/// How often the queue's depth is sampled.
const DEPTH_EVERY: Duration = Duration::from_secs(5);

mod meter;

/// The running workers of this instance.
pub struct Workers {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Starts this instance's workers.
pub fn spawn(service: Service) -> Workers {
    let (stop, stopped) = watch::channel(false);
    let consumer = format!("worker-{}-{:08x}", std::process::id(), rand::random::<u32>());
    let sweeping = tokio::spawn(periodically(
        service.media_sweep_interval(),
        stopped.clone(),
        service.clone(),
        sweep_media,
    ));
    let rolling_up = tokio::spawn(periodically(
        service.stats_rollup_interval(),
        stopped.clone(),
        service.clone(),
        roll_up_stats,
    ));
    let sampling = tokio::spawn(periodically(DEPTH_EVERY, stopped.clone(), service.clone(), sample_depth));
    let relaying =
        tokio::spawn(periodically(service.outbox_grace(), stopped.clone(), service.clone(), relay_outbox));
    let task = tokio::spawn(async move {
        run(service, consumer, stopped).await;
        let _ = relaying.await;
        let _ = sweeping.await;
        let _ = rolling_up.await;
        let _ = sampling.await;
    });
    Workers { stop, task }
}

impl Workers {
    /// Tells the workers to stop: each finishes the job it has under way and hands the
    /// rest of its batch back to the queue (see [`Workers::stop`]).
    pub fn begin_stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Stops taking jobs and waits (up to `grace`) for the ones under way; jobs read and
    /// not started are handed back, claimable by any instance at once.
    pub async fn stop(self, grace: Duration) {
        self.begin_stop();
        if tokio::time::timeout(grace, self.task).await.is_err() {
            tracing::warn!(
                "workers did not finish within the grace period; their jobs will be claimed again"
            );
        }
    }
}

async fn run(service: Service, consumer: String, mut stopped: watch::Receiver<bool>) {
    while let Err(err) = service.prepare_job_queue().await {
        tracing::warn!(%err, "job queue not ready; retrying");
        if !pause(&mut stopped).await {
            return;
        }
    }
    let concurrency = service.config().worker_concurrency.max(1);
    while !*stopped.borrow() {
        let batch = match next_batch(&service, &consumer).await {
            Ok(batch) => batch,
            Err(err) => {
                tracing::warn!(%err, "reading the job queue failed; retrying");
                if !pause(&mut stopped).await {
                    return;
                }
                // A Redis that restarted without its data, or evicted the stream, answers
                // NOGROUP to every read until the group is declared again; declaring an
                // existing group is a no-op, so do it after any failed read.
                if let Err(err) = service.prepare_job_queue().await {
                    tracing::warn!(%err, "declaring the job queue failed; retrying");
                }
                continue;
            }
        };
        let unstarted = std::sync::Mutex::new(Vec::new());
        futures::stream::iter(in_order_lanes(batch))
            .for_each_concurrent(concurrency, |lane| {
                let (service, stopped, unstarted) = (service.clone(), stopped.clone(), &unstarted);
                async move {
                    for message in lane {
                        // Told to stop: what is left of the lane goes back, in its order.
                        if *stopped.borrow() {
                            unstarted.lock().unwrap_or_else(|e| e.into_inner()).push(message.id);
                            continue;
                        }
                        run_one(&service, message).await;
                    }
                }
            })
            .await;
        hand_back(&service, &consumer, unstarted.into_inner().unwrap_or_else(|e| e.into_inner())).await;
    }
}

/// Hands jobs this worker read but will not run (it is stopping) back to the queue, where
/// any instance's next claim takes them at once, rather than after `job_claim_idle_secs`.
/// If that fails they are claimed after the idle time as usual.
async fn hand_back(service: &Service, consumer: &str, ids: Vec<String>) {
    if ids.is_empty() {
        return;
    }
    match service.hand_back_jobs(consumer, &ids).await {
        Ok(()) => tracing::info!(jobs = ids.len(), "stopping: unstarted jobs handed back to the queue"),
        Err(err) => {
            tracing::warn!(%err, jobs = ids.len(), "handing jobs back failed; they will be claimed after the idle time")
        }
    }
}

/// Runs `task` at once and then every `period` until told to stop. Every instance runs each periodic task:
/// none needs a leader (see each task).
async fn periodically<Fut>(
    period: Duration,
    mut stopped: watch::Receiver<bool>,
    service: Service,
    task: fn(Service) -> Fut,
) where
    Fut: std::future::Future<Output = ()>,
{
    loop {
        task(service.clone()).await;
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { return },
        }
    }
}

/// The sweep of uploads attached to nothing in time (see `sweep_unattached_media`): running
/// it on every instance is harmless, as each image goes in one conditional transaction.
async fn sweep_media(service: Service) {
    match service.sweep_unattached_media().await {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "unattached uploads removed"),
        Err(err) => tracing::warn!(%err, "sweeping unattached uploads failed; will retry"),
    }
}

/// The roll-up of the analytics from the cache into the store (see `roll_up_stats`): it
/// only ever raises stored figures, so running it on every instance is harmless.
async fn roll_up_stats(service: Service) {
    if let Err(err) = service.roll_up_stats().await {
        tracing::warn!(%err, "rolling the analytics up failed; will retry");
    }
}

/// Samples the queue's depth (jobs queued and not yet acknowledged) into its gauge.
async fn sample_depth(service: Service) {
    if let Ok(depth) = service.pending_jobs().await {
        meter::queue_depth(depth);
    }
}

/// The outbox relay (see `relay_outbox`): each item is claimed conditionally before it is
/// queued, so running it on every instance queues each item once per lease.
async fn relay_outbox(service: Service) {
    match service.relay_outbox(service.outbox_grace()).await {
        Ok(backlog) => meter::outbox_backlog(backlog),
        Err(err) => tracing::warn!(%err, "relaying the outbox failed; will retry"),
    }
}

/// Waits a second before a retry; false when told to stop meanwhile (or when the `Workers`
/// handle is gone, so nobody can tell us any more).
async fn pause(stopped: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(RETRY_PAUSE) => true,
        changed = stopped.changed() => changed.is_ok() && !*stopped.borrow(),
    }
}

/// Splits a batch into lanes that may run concurrently: jobs sharing an ordering key stay
/// in one lane, in queue order.
fn in_order_lanes(batch: Vec<QueueMessage>) -> Vec<Vec<QueueMessage>> {
    let mut lanes: Vec<Vec<QueueMessage>> = Vec::new();
    let mut lane_of_key: HashMap<String, usize> = HashMap::new();
    for message in batch {
        let key = Job::decode(&message.payload).ok().and_then(|job| job.ordering_key());
        match key {
            Some(key) => match lane_of_key.get(&key) {
                Some(&lane) => lanes[lane].push(message),
                None => {
                    lane_of_key.insert(key, lanes.len());
                    lanes.push(vec![message]);
                }
            },
            None => lanes.push(vec![message]),
        }
    }
    lanes
}

/// Runs one job; true when it is done with (succeeded, or moved to the dead letters).
async fn run_one(service: &Service, message: QueueMessage) -> bool {
    let run = meter::JobRun::start(&message);
    let (run, outcome) = match Job::decode(&message.payload) {
        Ok(job) => {
            let run = run.of(&job);
            (run, Workload::Job(job.kind().to_string()).scope(service.run_job(job)).await)
        }
        Err(err) => (run, Err(err)),
    };
    let done = match outcome {
        Ok(()) => {
            run.succeeded();
            true
        }
        Err(err) if message.deliveries >= MAX_DELIVERIES => {
            let buried = give_up(service, &message, &err).await;
            if buried {
                run.dead_lettered();
            } else {
                run.failed();
            }
            buried
        }
        Err(err) => {
            tracing::warn!(%err, id = %message.id, deliveries = message.deliveries, "job failed; will retry");
            run.failed();
            service.note_job_failure(&message.id).await;
            false
        }
    };
    if done {
        // Before the acknowledgement: if this fails, the job runs again (harmless), rather
        // than the relay queuing it again later.
        if let Err(err) = service.clear_outbox(&message.payload).await {
            tracing::warn!(%err, id = %message.id, "clearing a job's outbox item failed; the relay will queue it again");
        }
        if let Err(err) = service.ack_job(&message.id).await {
            tracing::warn!(%err, id = %message.id, "acknowledging a job failed; it will run again");
        }
    }
    done
}

/// A job that failed [`MAX_DELIVERIES`] times goes to the dead letters: true when it is
/// there (and may be acknowledged); if even that fails it stays pending, to be tried again.
async fn give_up(service: &Service, message: &QueueMessage, err: &roost_service::ServiceError) -> bool {
    match service.dead_letter_job(message, &err.to_string()).await {
        Ok(letter) => {
            tracing::error!(
                %err, id = %message.id, dead_letter = %letter.id, kind = %letter.kind,
                deliveries = message.deliveries, "job failed too often; moved to the dead letters (roost jobs list)"
            );
            true
        }
        Err(dead) => {
            tracing::warn!(%err, %dead, id = %message.id, "moving a failed job to the dead letters failed; will retry");
            false
        }
    }
}

/// Runs, before serving, every job a dead predecessor left pending and every job nobody
/// read yet, so that no read misses an acknowledged write still in the queue. Only for an
/// instance alone on its queue (the embedded cache, where every pending job at startup is
/// orphaned): with others it would take their jobs under way. A job that fails stays
/// pending for the workers' retries; the claims stop there, so this always ends. Answers
/// how many jobs ran.
pub async fn run_orphaned_jobs(service: &Service) -> usize {
    if let Err(err) = service.prepare_job_queue().await {
        tracing::warn!(%err, "job queue not ready; orphaned jobs are left to the workers");
        return 0;
    }
    // A predecessor that died between a commit and its enqueue left the job in the
    // outbox only: queue every such item now, whatever its age.
    if let Err(err) = service.relay_outbox(Duration::ZERO).await {
        tracing::warn!(%err, "relaying the outbox failed; it is left to the workers");
    }
    let consumer = format!("startup-{}", std::process::id());
    let mut ran = 0;
    loop {
        let batch = match service.claim_orphaned_jobs(&consumer, BATCH).await {
            Ok(batch) if !batch.is_empty() => batch,
            Ok(_) => return ran,
            Err(err) => {
                tracing::warn!(%err, "claiming orphaned jobs failed; they are left to the workers");
                return ran;
            }
        };
        ran += batch.len();
        let mut all_done = true;
        for lane in in_order_lanes(batch) {
            for message in lane {
                all_done &= run_one(service, message).await;
            }
        }
        if !all_done {
            // A failed job stays pending and would be claimed again at once: leave it, and
            // whatever is behind it, to the workers rather than loop on it.
            return ran;
        }
    }
}

/// Stale jobs of dead workers first (they are the oldest), then new ones.
async fn next_batch(service: &Service, consumer: &str) -> ServiceResult<Vec<QueueMessage>> {
    let mut batch = service.claim_stale_jobs(consumer, BATCH).await?;
    if batch.is_empty() {
        batch = service.next_jobs(consumer, BATCH, BLOCK).await?;
    }
    Ok(batch)
}
