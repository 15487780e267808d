//! `roost`: the one binary. `serve` runs the social network (embedded engines by default,
//! DynamoDB + Redis + S3 when configured); `seed` and `bench` drive a running server; `admin`
//! administers accounts; `check` recounts the counters; `backup` and `restore` copy a
//! deployment out and back in; `jobs` shows and replays the job queue's dead letters.

mod admin;
mod backup;
mod bench;
mod check;
mod cli;
mod config;
mod deployment;
mod http_server;
mod jobs;
mod serve;

use clap::Parser;

/// mimalloc: per-thread free lists suit tokio's many short-lived allocations (glibc's malloc
/// took a fifth of the CPU of a home-feed read under load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(args) => serve::run(args).await,
            cli::Command::Seed(args) => bench::run_seed(args).await,
            cli::Command::Bench(args) => bench::run_bench(args).await,
            cli::Command::Admin(command) => admin::run(command).await,
            cli::Command::Check(args) => check::run(args).await,
            cli::Command::Backup(args) => backup::run_backup(args).await,
            cli::Command::Restore(args) => backup::run_restore(args).await,
            cli::Command::Jobs(command) => jobs::run(command).await,
        }
    })
}
