//! Taking a backup while the deployment keeps serving.
//!
//! What "consistent" means here. Each item is copied whole, as one read returned it: no
//! item is ever half old, half new. On SQLite the copy is stronger: the store is first
//! snapshotted with `VACUUM INTO` (one read transaction), and that snapshot is scanned, so
//! the backup is the store at one instant. On DynamoDB a `Scan` has no snapshot: it pages
//! through the table with strongly consistent reads, and an item written during the scan is
//! in or out depending on where the scan stood — so, say, a like made mid-scan may be in
//! while the post's counter is from before it (`roost check --repair` recounts). The strict
//! answer on DynamoDB is point-in-time recovery or its export to S3 (docs/operations.md).
//! Media objects are copied after the items, so every image a backed-up post names is
//! there unless the post was deleted while the backup ran.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::Bytes;
use futures::TryStreamExt;
use indicatif::ProgressBar;
use roost_embedded::store::SqliteStore;
use roost_engines::{Media, Page, StartKey, Store};

use super::location::Location;
use super::manifest::{kind_of, FileEntry, Manifest, FORMAT, MANIFEST};
use super::BackupArgs;
use crate::{config, deployment};

/// Items asked for per `scan` call (DynamoDB caps a page at 1 MB anyway).
const SCAN_PAGE: usize = 1000;
/// Items per chunk file: a few MB, so a chunk is written and checked in one piece.
const CHUNK_ITEMS: u64 = 20_000;
/// Media objects copied at once.
const MEDIA_CONCURRENCY: usize = 8;

/// `roost backup`.
pub async fn run(args: BackupArgs) -> anyhow::Result<()> {
    let settings = config::load(args.engines, config::environment())?;
    let destination = Location::open(&args.to, &settings, true).await?;
    anyhow::ensure!(
        destination.get(MANIFEST).await?.is_none(),
        "{} already holds a backup (its {MANIFEST}); give each backup a destination of its own",
        args.to
    );
    let created_unix_secs = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();

    let snapshot = Snapshot::take(&settings).await?;
    let (item_kinds, item_files) = copy_items(&*snapshot.store, &destination).await?;
    drop(snapshot);
    let media = deployment::open_media(&settings).await?;
    let media_files = copy_media(media, &destination).await?;

    let manifest = Manifest {
        format: FORMAT,
        created_unix_secs,
        source: deployment::describe(&settings),
        item_kinds,
        item_files,
        media_files,
    };
    // Last: until this lands, the destination holds no backup.
    destination.put(MANIFEST, Bytes::from(serde_json::to_vec_pretty(&manifest)?)).await?;
    println!(
        "backed up {} items and {} media objects to {}",
        manifest.item_count(),
        manifest.media_files.len(),
        args.to
    );
    Ok(())
}

/// The store to scan: a `VACUUM INTO` copy of a SQLite store (removed when dropped), or
/// the DynamoDB table itself.
struct Snapshot {
    store: Arc<dyn Store>,
    copy: Option<PathBuf>,
}

impl Snapshot {
    async fn take(settings: &config::Settings) -> anyhow::Result<Snapshot> {
        let Some(live) = deployment::sqlite_path(settings) else {
            return Ok(Snapshot { store: deployment::open_store(settings).await?, copy: None });
        };
        anyhow::ensure!(live.is_file(), "no SQLite store at {}", live.display());
        let copy = live.with_extension(format!("backup-{}.db", std::process::id()));
        remove_database(&copy);
        let source = SqliteStore::open(&live).context("opening the SQLite store")?;
        if let Err(err) = source.snapshot_into(&copy).await {
            remove_database(&copy);
            return Err(err).context("snapshotting the SQLite store");
        }
        let store = SqliteStore::open(&copy).context("opening the snapshot")?;
        Ok(Snapshot { store: Arc::new(store), copy: Some(copy) })
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Some(copy) = &self.copy {
            remove_database(copy);
        }
    }
}

/// Removes a SQLite file and its WAL companions, if there.
fn remove_database(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
}

/// A spinner counting `what` (totals are unknown until the scan ends).
fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(what.to_string());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg:>12} {pos} ({per_sec})") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Scans every item into chunk files; returns the counts by kind and the chunks.
async fn copy_items(
    store: &dyn Store,
    destination: &Location,
) -> anyhow::Result<(BTreeMap<String, u64>, Vec<FileEntry>)> {
    let bar = spinner("items");
    let mut kinds = BTreeMap::<String, u64>::new();
    let mut files = Vec::new();
    let mut chunk = Vec::new();
    let mut in_chunk = 0;
    let mut start: Option<StartKey> = None;
    loop {
        let page = store.scan(Page::forward(SCAN_PAGE).after(start)).await.context("scanning the store")?;
        for item in &page.items {
            serde_json::to_writer(&mut chunk, item)?;
            chunk.push(b'\n');
            *kinds.entry(kind_of(&item.pk).to_string()).or_default() += 1;
            in_chunk += 1;
        }
        bar.inc(page.items.len() as u64);
        let last = page.last_key.is_none();
        if in_chunk >= CHUNK_ITEMS || (last && in_chunk > 0) {
            let name = format!("items-{:05}.jsonl", files.len() + 1);
            files.push(FileEntry::of(name.clone(), &chunk, in_chunk));
            destination.put(&name, Bytes::from(std::mem::take(&mut chunk))).await?;
            in_chunk = 0;
        }
        if last {
            bar.finish();
            return Ok((kinds, files));
        }
        start = page.last_key;
    }
}

/// Copies every media object to `media/<its path>`; returns their entries, by name.
async fn copy_media(media: Arc<dyn Media>, destination: &Location) -> anyhow::Result<Vec<FileEntry>> {
    let bar = spinner("media");
    let copies = media.list("").map_err(anyhow::Error::from).map_ok(|object| {
        let (media, bar) = (Arc::clone(&media), bar.clone());
        async move {
            // An object deleted since the listing is simply not part of the backup.
            let Some(found) = media.get(&object.path).await? else { return Ok(None) };
            let name = format!("media/{}", object.path);
            let entry = FileEntry::of(name.clone(), &found.bytes, 0);
            destination.put(&name, found.bytes).await?;
            bar.inc(1);
            anyhow::Ok(Some(entry))
        }
    });
    let mut entries: Vec<FileEntry> = copies
        .try_buffer_unordered(MEDIA_CONCURRENCY)
        .try_filter_map(|e| async { Ok(e) })
        .try_collect()
        .await?;
    bar.finish();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}
