//! The command line. `serve` has a flag per setting besides its own (`--config`, `--init`);
//! the settings, their variables and their order of precedence are `config`'s.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::SettingFlags;

#[derive(Parser, Debug)]
#[command(
    name = "roost",
    version,
    about = "A social network backend: one binary, embedded or distributed engines."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP API and the background workers.
    Serve(ServeArgs),
    /// Seed a social graph and synthetic posts: through a running server's API, or `--direct`.
    Seed(crate::bench::SeedArgs),
    /// Load-test a running server: /healthz, then a workload; per-operation latency report.
    Bench(crate::bench::BenchArgs),
    /// Administer accounts (moderators, suspensions) on the engines `serve` would use.
    #[command(subcommand)]
    Admin(crate::admin::AdminCommand),
    /// Recount followers, following, posts, likes and comments; report (and --repair) drift.
    Check(crate::check::CheckArgs),
    /// Copy the store's items and the media to a folder or S3, while the server runs.
    Backup(crate::backup::BackupArgs),
    /// Load a backup into an empty deployment (the same engines or the other ones).
    Restore(crate::backup::RestoreArgs),
    /// The job queue and its dead letters (list, replay) on the engines `serve` would use.
    #[command(subcommand)]
    Jobs(crate::jobs::JobsCommand),
}

/// `serve`'s own flags, and one flag per setting (see `config`).
#[derive(Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// A TOML file of settings, `name = value` at the top level [env: ROOST_CONFIG].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Create the DynamoDB table, its indexes and the S3 bucket if missing, and turn on
    /// point-in-time recovery, encryption at rest and bucket versioning.
    #[arg(long)]
    pub init: bool,
    #[command(flatten)]
    pub settings: SettingFlags,
}
