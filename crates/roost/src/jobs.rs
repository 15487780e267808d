//! `roost jobs`: the job queue from the command line, on the same engine settings as
//! `roost serve` (and safe beside a running server). `list` shows how many jobs are queued
//! and every dead letter (a job the workers gave up on after repeated failures); `replay`
//! queues dead letters again, for when what made them fail is fixed.

use anyhow::Context;
use clap::{Args, Subcommand};
use roost_service::dead_letters::{DeadLetter, MAX_LISTED};
use roost_service::Service;

use crate::cli::ServeArgs;
use crate::{config, deployment};

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// Jobs queued, and the dead letters: id, kind, error, deliveries, first failure.
    List(ListArgs),
    /// Queue dead letters again (and remove them from the dead letters).
    Replay(ReplayArgs),
}

/// The engine settings of `serve`.
#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub engines: ServeArgs,
}

/// Which dead letters to replay, and the engine settings of `serve`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The dead letter's id (as `list` shows it).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub id: Option<String>,
    /// Every dead letter.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub engines: ServeArgs,
}

pub async fn run(command: JobsCommand) -> anyhow::Result<()> {
    let engines = match &command {
        JobsCommand::List(a) => &a.engines,
        JobsCommand::Replay(a) => &a.engines,
    };
    let settings = config::load(engines.clone(), config::environment())?;
    let engines = deployment::open(&settings).await?;
    let service = Service::new(engines, settings.service.clone()).await.context("starting the service")?;
    match command {
        JobsCommand::List(_) => list(&service).await,
        JobsCommand::Replay(ReplayArgs { id: Some(id), .. }) => {
            if !service.replay_dead_letter(&id).await.context("replaying the dead letter")? {
                anyhow::bail!("no such dead letter: {id}");
            }
            println!("dead letter {id} queued again");
            Ok(())
        }
        JobsCommand::Replay(_) => {
            let replayed = service.replay_dead_letters().await.context("replaying the dead letters")?;
            println!("{replayed} dead letters queued again");
            Ok(())
        }
    }
}

async fn list(service: &Service) -> anyhow::Result<()> {
    let pending = service.pending_jobs().await.context("reading the job queue")?;
    let letters = service.dead_letters(MAX_LISTED).await.context("reading the dead letters")?;
    println!("pending jobs: {pending}");
    println!("dead letters: {}", letters.len());
    for letter in &letters {
        println!("{}", line(letter));
    }
    Ok(())
}

/// One dead letter, tab-separated: id, kind, deliveries, first failure (RFC 3339), error.
fn line(letter: &DeadLetter) -> String {
    format!(
        "{}\t{}\tdeliveries={}\tfirst_failed={}\terror={}",
        letter.id,
        letter.kind,
        letter.deliveries,
        roost_service::time::rfc3339_of_millis(letter.first_failed_ms),
        letter.error
    )
}
