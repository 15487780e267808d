//! `roost admin`: account administration from the command line, on the same engine
//! settings as `roost serve` (and safe beside a running server: SQLite's WAL admits a
//! second process). On the embedded cache the running server's copies are not told, so a
//! change counts there from the user's next sign-in (which reads the store) at the latest;
//! on Redis it counts at once.

use anyhow::Context;
use clap::{Args, Subcommand};
use roost_service::{Service, ServiceError};

use crate::cli::ServeArgs;
use crate::{config, deployment};

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Make a user a moderator.
    GrantModerator(UserArgs),
    /// Make a moderator an ordinary user again.
    RevokeModerator(UserArgs),
    /// Suspend a user: every session ends, and signing in is refused.
    Suspend(UserArgs),
    /// Lift a suspension: the user may sign in again.
    Unsuspend(UserArgs),
}

/// The user to act on, and the engine settings of `serve`.
#[derive(Args, Debug)]
pub struct UserArgs {
    /// A username (or a user id).
    pub user: String,
    #[command(flatten)]
    pub engines: ServeArgs,
}

pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    let (args, verb) = match &command {
        AdminCommand::GrantModerator(a) => (a, "is now a moderator"),
        AdminCommand::RevokeModerator(a) => (a, "is no longer a moderator"),
        AdminCommand::Suspend(a) => (a, "is suspended"),
        AdminCommand::Unsuspend(a) => (a, "is no longer suspended"),
    };
    let settings = config::load(args.engines.clone(), config::environment())?;
    let engines = deployment::open(&settings).await?;
    let service = Service::new(engines, settings.service.clone()).await.context("starting the service")?;
    let done = match &command {
        AdminCommand::GrantModerator(_) => service.set_moderator(&args.user, true).await,
        AdminCommand::RevokeModerator(_) => service.set_moderator(&args.user, false).await,
        AdminCommand::Suspend(_) => service.suspend_user(&args.user, true).await,
        AdminCommand::Unsuspend(_) => service.suspend_user(&args.user, false).await,
    };
    match done {
        Ok(profile) => {
            println!("{} ({}) {verb}", profile.username, profile.id);
            Ok(())
        }
        Err(ServiceError::NotFound(_)) => anyhow::bail!("no such user: {}", args.user),
        Err(err) => Err(err).context("updating the user"),
    }
}
