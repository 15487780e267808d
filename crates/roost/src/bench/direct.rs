//! `roost seed --direct`: seeding through the service layer in this process, on the engines
//! `roost serve` would open with the same flags, instead of through a server's HTTP API.
//! The writes are the API's own use cases (register, create post, follow), so counters,
//! indexes and feeds come out as a served seeding leaves them; what is saved is the HTTP
//! round trip, the JSON on both sides and a second process competing for the cores.
//!
//! Each call runs as a task of its own: the seeding pool's workers share one task, and the
//! use cases' CPU work (JSON, keys, the cache) would otherwise all run on one core.
//!
//! The abuse limits are off here (a bulk load is the operator's own act); password hashing
//! keeps the deployment's argon2 settings. The fan-out jobs run in this process's workers,
//! and the seeding ends only when the queue is empty, so a server started afterwards finds
//! nothing left to do. On the embedded engines no server may run on the same data
//! directory meanwhile: its in-process cache would not see these writes.

use std::time::Duration;

use anyhow::Context;
use roost_service::accounts::{LoginInput, RegisterInput};
use roost_service::posts::NewPost;
use roost_service::{Service, ServiceError};
use roost_workers::Workers;

use super::seed::PASSWORD;
use super::state::Account;
use crate::cli::ServeArgs;
use crate::{config, deployment};

/// The address registrations are counted against (the limits are off, but the use case
/// asks for one).
const ADDRESS: &str = "roost-seed-direct";
/// How often the end of a seeding looks whether the workers have emptied the queue.
const DRAIN_POLL: Duration = Duration::from_millis(200);
/// How long the workers get to stop once the queue is empty.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The service on the deployment's engines, with its workers running.
pub struct Direct {
    service: Service,
    workers: Workers,
    /// The engines, as the state file's `target` records them.
    pub label: String,
}

impl Direct {
    /// Opens the engines `engines` describes, as `roost serve` would.
    pub async fn open(engines: &ServeArgs) -> anyhow::Result<Direct> {
        let mut settings = config::load(engines.clone(), config::environment())?;
        settings.service.rate_limits = false;
        let opened = deployment::open(&settings).await?;
        let service = Service::new(opened, settings.service.clone()).await.context("starting the service")?;
        if settings.engines.redis_url.is_none() {
            // As `serve` does: jobs a previous process left in the in-process queue are
            // this one's to run.
            roost_workers::run_orphaned_jobs(&service).await;
        }
        let workers = roost_workers::spawn(service.clone());
        Ok(Direct { service, workers, label: format!("direct {}", deployment::describe(&settings)) })
    }

    /// Registers `name`, or signs in if it exists (a seeding resumed without its state).
    pub async fn register(&self, name: &str) -> anyhow::Result<Account> {
        let input =
            RegisterInput { username: name.to_string(), password: PASSWORD.to_string(), display_name: None };
        let signed_in = match self.service.register(input, ADDRESS).await {
            Err(ServiceError::Conflict { .. }) => {
                let login = LoginInput { username: name.to_string(), password: PASSWORD.to_string() };
                self.service.login(login, ADDRESS).await
            }
            other => other,
        }
        .with_context(|| format!("registering {name}"))?;
        Ok(Account { id: signed_in.user.id, username: name.to_string(), token: signed_in.token })
    }

    /// `token`'s user follows `followee_id`.
    pub async fn follow(&self, token: &str, followee_id: &str) -> anyhow::Result<()> {
        let caller = self.service.authenticate(token).await.context("a seeded session")?;
        self.service
            .follow(&caller, followee_id)
            .await
            .with_context(|| format!("following {followee_id}"))?;
        Ok(())
    }

    /// `token`'s user posts `text`; returns the post's id.
    pub async fn create_post(&self, token: &str, text: &str) -> anyhow::Result<String> {
        let caller = self.service.authenticate(token).await.context("a seeded session")?;
        let new = NewPost { text: text.to_string(), ..NewPost::default() };
        Ok(self.service.create_post(&caller, new).await.context("creating a post")?.id)
    }

    /// Waits until the workers have run every queued job, then stops them.
    pub async fn finish(self) -> anyhow::Result<()> {
        while self.service.pending_jobs().await.context("reading the job queue")? > 0 {
            tokio::time::sleep(DRAIN_POLL).await;
        }
        self.workers.stop(STOP_GRACE).await;
        Ok(())
    }
}
