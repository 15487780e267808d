//! `roost backup` and `roost restore`: a deployment's durable state copied out to a folder
//! or an S3 prefix, and loaded into an empty deployment — on the same engines or the other
//! ones, which makes an embedded backup restored onto DynamoDB + S3 the way a network moves
//! off one machine.
//!
//! A backup holds every store item (users, profiles, graph edges, posts, likes, comments,
//! notifications, sessions, feed entries, the search index, the token secret — with their
//! index keys and TTLs) and every media object; not the cache, whose feeds, like sets and
//! trending scores are rebuilt from the store on first use (docs/operations.md says so for
//! the operator). The format:
//!
//! - `items-00001.jsonl`, ...: one item per line, as the `Item` type serializes;
//! - `media/<path>`: each object, byte for byte, under its own path;
//! - `manifest.json`, written last: the format version, the source, counts by item kind,
//!   and the size and SHA-256 of every file above. A folder without it is not a backup.
//!
//! - `location`: where a backup lives (folder or S3), through the `Media` engine.
//! - `manifest`: the manifest and checksums.
//! - `write`: taking a backup from a running deployment.
//! - `restore`: loading one, resumably.

mod location;
mod manifest;
mod restore;
mod write;

use clap::Args;

use crate::cli::ServeArgs;

/// `roost backup`: where to, and the engine settings of `serve`.
#[derive(Args, Debug)]
pub struct BackupArgs {
    /// A folder, or `s3://bucket/prefix` (on `--s3-endpoint` and `--aws-region` when given).
    #[arg(long, value_name = "DIR|s3://bucket/prefix")]
    pub to: String,
    #[command(flatten)]
    pub engines: ServeArgs,
}

/// `roost restore`: where from, and the engine settings of `serve` for the target.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// A folder, or `s3://bucket/prefix`, holding a backup's `manifest.json`.
    #[arg(long, value_name = "DIR|s3://bucket/prefix")]
    pub from: String,
    #[command(flatten)]
    pub engines: ServeArgs,
}

pub use restore::run as run_restore;
pub use write::run as run_backup;
