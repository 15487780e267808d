//! Loading a backup into an empty deployment.
//!
//! Every file is checked against the manifest before anything is written. The target's
//! table and bucket are created if missing (as `serve --init` does); a target holding
//! anything is refused, as merging two networks' items would corrupt both. Progress is kept
//! in a checkpoint item in the target store, so a restore that was interrupted continues
//! where it stopped when run again with the same backup (media, then item chunks; both are
//! idempotent puts), and the checkpoint is deleted last.

use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use roost_engines::{Cond, Item, Key, Media, Page, Store, WriteOp};
use serde::{Deserialize, Serialize};

use super::location::Location;
use super::manifest::{sha256, FileEntry, Manifest, FORMAT, MANIFEST};
use super::RestoreArgs;
use crate::bench::progress;
use crate::{config, deployment};

/// Files read (and media objects written) at once.
const CONCURRENCY: usize = 8;

/// The checkpoint item's key; its partition is no backup's (`CONFIG#` items are written
/// by `serve`, which has not run on an empty target).
fn checkpoint_key() -> Key {
    Key::new("CONFIG#restore", "PROGRESS")
}

/// What a restore has done so far.
#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    /// The SHA-256 of the manifest being restored.
    backup: String,
    media_done: bool,
    /// Item chunks written, in manifest order.
    chunks_done: usize,
}

impl Checkpoint {
    async fn save(&self, store: &dyn Store) -> anyhow::Result<()> {
        let key = checkpoint_key();
        let item = Item::new(key.pk, key.sk).with_attrs(self);
        store.put(item, Cond::None).await.context("recording the restore's progress")
    }
}

/// `roost restore`.
pub async fn run(args: RestoreArgs) -> anyhow::Result<()> {
    let mut settings = config::load(args.engines, config::environment())?;
    let source = Location::open(&args.from, &settings, false).await?;
    let raw = source.get(MANIFEST).await?.with_context(|| {
        format!(
            "{} holds no {MANIFEST}, so no complete backup (an interrupted backup leaves none)",
            args.from
        )
    })?;
    let manifest: Manifest = serde_json::from_slice(&raw).with_context(|| format!("reading {MANIFEST}"))?;
    anyhow::ensure!(
        manifest.format == FORMAT,
        "{} is in backup format {}; this roost reads format {FORMAT}",
        args.from,
        manifest.format
    );
    verify(&source, &manifest).await?;

    settings.init = true;
    let store = deployment::open_store(&settings).await?;
    let media = deployment::open_media(&settings).await?;
    let mut checkpoint = begin(&*store, &*media, sha256(&raw)).await?;
    if !checkpoint.media_done {
        restore_media(&source, &manifest.media_files, &media).await?;
        checkpoint.media_done = true;
        checkpoint.save(&*store).await?;
    }
    let bar = progress(manifest.item_count() as usize, "items");
    for (i, file) in manifest.item_files.iter().enumerate() {
        if i >= checkpoint.chunks_done {
            let content = source.read(&file.name).await?;
            file.verify(&content)?;
            let ops = content
                .split(|b| *b == b'\n')
                .filter(|line| !line.is_empty())
                .map(|line| serde_json::from_slice(line).map(WriteOp::Put))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("reading {}", file.name))?;
            store.batch_write(ops).await.with_context(|| format!("writing the items of {}", file.name))?;
            checkpoint.chunks_done = i + 1;
            checkpoint.save(&*store).await?;
        }
        bar.inc(file.items);
    }
    bar.finish();
    store.delete(&checkpoint_key(), Cond::None).await.context("removing the restore's checkpoint")?;
    println!(
        "restored {} items and {} media objects from {} ({})",
        manifest.item_count(),
        manifest.media_files.len(),
        args.from,
        manifest.source
    );
    Ok(())
}

/// Reads every file once and checks it against the manifest.
async fn verify(source: &Location, manifest: &Manifest) -> anyhow::Result<()> {
    let files: Vec<&FileEntry> = manifest.item_files.iter().chain(&manifest.media_files).collect();
    each_verified(source, files, "checking", |_, _| async { Ok(()) }).await
}

/// Reads each of `files`, checks it, and hands it to `then`, a few at once, with a
/// progress bar labelled `what`.
async fn each_verified<'a, F, Fut>(
    source: &Location,
    files: impl IntoIterator<Item = &'a FileEntry, IntoIter: ExactSizeIterator>,
    what: &str,
    then: F,
) -> anyhow::Result<()>
where
    F: Fn(&'a FileEntry, Bytes) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let files = files.into_iter();
    let bar = &progress(files.len(), what);
    let then = &then;
    futures::stream::iter(files)
        .map(|file| async move {
            let content = source.read(&file.name).await?;
            file.verify(&content)?;
            then(file, content).await?;
            bar.inc(1);
            anyhow::Ok(())
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<()>()
        .await?;
    bar.finish();
    Ok(())
}

/// The checkpoint to continue from: the one an interrupted restore of this backup left, or
/// a new one on an empty target.
async fn begin(store: &dyn Store, media: &dyn Media, backup: String) -> anyhow::Result<Checkpoint> {
    const START_OVER: &str = "restore only into an empty deployment: a new DynamoDB table and S3 bucket, \
                              or a new --data-dir, on which `roost serve` has not run";
    if let Some(item) = store.get(&checkpoint_key()).await? {
        let checkpoint: Checkpoint = item.attrs_as()?;
        anyhow::ensure!(
            checkpoint.backup == backup,
            "the target holds an unfinished restore of another backup; {START_OVER}"
        );
        eprintln!("continuing an interrupted restore ({} item chunks done)", checkpoint.chunks_done);
        return Ok(checkpoint);
    }
    let first = store.scan(Page::forward(1)).await?.items.into_iter().next();
    if let Some(item) = first {
        anyhow::bail!("the target store is not empty (it holds {} / {}); {START_OVER}", item.pk, item.sk);
    }
    if let Some(object) = media.list("").try_next().await? {
        anyhow::bail!("the target media store is not empty (it holds {}); {START_OVER}", object.path);
    }
    let checkpoint = Checkpoint { backup, media_done: false, chunks_done: 0 };
    let key = checkpoint_key();
    let item = Item::new(key.pk, key.sk).with_attrs(&checkpoint);
    // Conditional: of two restores started at once on one target, one goes on.
    store.put(item, Cond::NotExists).await.context("another restore began on this target")?;
    Ok(checkpoint)
}

/// Writes every media object back under its own path, with the type its bytes show.
async fn restore_media(source: &Location, files: &[FileEntry], media: &Arc<dyn Media>) -> anyhow::Result<()> {
    each_verified(source, files, "media", |file, content| async move {
        let path = file.name.strip_prefix("media/").unwrap_or(&file.name);
        let content_type = roost_service::images::sniff(&content).unwrap_or("application/octet-stream");
        media.put(path, content, content_type).await.with_context(|| format!("writing {path}"))
    })
    .await
}
