//! The command line of docs/architecture.md. Every `serve` flag also reads a `ROOST_*` variable; both
//! override the TOML file given by `--config`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Seed a running server with a social graph and synthetic posts, through the API.
    Seed(crate::bench::SeedArgs),
    /// Load-test a running server: /healthz, then a workload; per-operation latency report.
    Bench(crate::bench::BenchArgs),
}

#[derive(Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "ROOST_LISTEN")]
    pub listen: Option<String>,
    /// Where the embedded engines keep their data [default: ./data].
    #[arg(long, env = "ROOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A TOML file of settings (see README).
    #[arg(long, env = "ROOST_CONFIG")]
    pub config: Option<PathBuf>,
    /// Create the DynamoDB table, its indexes and the S3 bucket if missing.
    #[arg(long)]
    pub init: bool,
    /// DynamoDB endpoint (for DynamoDB Local, moto, ...); without it the AWS default chain
    /// picks the endpoint when a table is given.
    #[arg(long, env = "ROOST_DYNAMODB_ENDPOINT")]
    pub dynamodb_endpoint: Option<String>,
    /// DynamoDB table: setting it selects DynamoDB as the store.
    #[arg(long, env = "ROOST_DYNAMODB_TABLE")]
    pub dynamodb_table: Option<String>,
    /// `redis://` or `rediss://` URL: setting it selects Redis as the cache.
    #[arg(long, env = "ROOST_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Talk to Redis as a cluster.
    #[arg(long, env = "ROOST_REDIS_CLUSTER")]
    pub redis_cluster: bool,
    /// S3 bucket: setting it selects S3 for media.
    #[arg(long, env = "ROOST_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// S3 endpoint for S3-compatible services (path-style addressing is used).
    #[arg(long, env = "ROOST_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// AWS region for DynamoDB and S3 [default: the AWS chain's, else us-east-1].
    #[arg(long, env = "ROOST_AWS_REGION")]
    pub aws_region: Option<String>,
}
