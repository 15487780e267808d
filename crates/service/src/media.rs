//! Images: upload (type checked from the bytes, metadata stripped, a thumbnail made, both
//! kept in the media store, within the user's quota), serving them back (a presigned URL
//! where the media store has them, else the bytes), and their lifecycle: attached once, to a
//! post or a profile; deleted with their post; swept when attached to nothing in time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use roost_engines::{Cond, EngineError, Index, Item, KeyCondition, Page, SkCond, TxOp, WriteOp};

use crate::error::{ServiceError, ServiceResult};
use crate::gated::{self, Gate};
use crate::images::{self, ImageError};
use crate::limits::Limit;
use crate::model::{Caller, Image};
use crate::walk::Source;
use crate::{ids, keys, time, Service};

/// Image cleaning decodes whole images: one at a time per core (see `gated`).
static DECODING: Gate = Gate::new(gated::per_core);

/// How long a presigned media URL stays valid.
const PRESIGN_FOR: Duration = Duration::from_secs(3600);
/// Media items read per store query (quota, sweep, erasure).
const MEDIA_PAGE: usize = 500;

/// The writes that attach uploads to a post or a profile, for the transaction that does it:
/// each takes the upload's unattached marker, on condition that it is there, so an image is
/// attached once (deleting a post deletes its images, which nothing else may then show) and
/// never after the sweep removed it.
pub(crate) fn attach_ops(mids: &[String]) -> Vec<TxOp> {
    mids.iter().map(|m| TxOp::Delete { key: keys::unattached(m), cond: Cond::Exists }).collect()
}

/// The error of an attach that found an upload's marker gone.
pub(crate) fn already_attached(field: &'static str) -> ServiceError {
    ServiceError::validation(field, "an image may be attached once, within a day of its upload")
}

/// What `GET /api/media/{id}` answers with.
pub enum MediaContent {
    /// Fetch it from there (a presigned object-store URL).
    Redirect(String),
    /// Serve these bytes (no presigning backend, or a thumbnail).
    Bytes {
        /// The image's MIME type, for `Content-Type`.
        content_type: String,
        /// The image itself.
        bytes: Bytes,
    },
}

fn object_path(mid: &str, thumbnail: bool) -> String {
    if thumbnail {
        format!("media/{mid}/thumbnail.jpg")
    } else {
        format!("media/{mid}/original")
    }
}

impl Service {
    /// Stores an image the caller uploads (checked, stripped of metadata, thumbnailed).
    pub async fn upload_media(&self, caller: &Caller, bytes: Bytes) -> ServiceResult<Image> {
        self.limit(Limit::Uploads, &caller.user_id).await?;
        if bytes.len() > self.config.media_max_bytes {
            return Err(self.too_large());
        }
        if bytes.is_empty() {
            return Err(ServiceError::validation("file", "the file is empty"));
        }
        let clean = gated::run(&DECODING, move || images::clean(&bytes)).await?.map_err(|err| match err {
            ImageError::Unsupported => {
                ServiceError::UnsupportedMediaType("only JPEG, PNG, GIF and WebP images are accepted".into())
            }
            ImageError::TooLarge => ServiceError::TooLarge(format!("image too large to process: {err}")),
            other => ServiceError::validation("file", other.to_string()),
        })?;
        self.check_quota(&caller.user_id, clean.bytes.len() as u64 + clean.thumbnail.len() as u64).await?;
        let mid = ids::new_id();
        let (original, thumbnail) = (object_path(&mid, false), object_path(&mid, true));
        self.media.put(&original, clean.bytes.clone(), clean.content_type).await?;
        self.media.put(&thumbnail, clean.thumbnail.clone(), "image/jpeg").await?;
        let media = Image {
            url: format!("/api/media/{mid}"),
            thumbnail_url: Some(format!("/api/media/{mid}/thumbnail")),
            id: mid.clone(),
            content_type: clean.content_type.to_string(),
            size: clean.bytes.len() as u64,
            width: Some(clean.width),
            height: Some(clean.height),
        };
        let key = keys::media(&mid);
        let item = Item::new(key.pk, key.sk)
            .with_gsi1(keys::owner_gsi(&caller.user_id), mid.as_str())
            .with_attrs(&media)
            .with("owner_id", caller.user_id.as_str())
            .with("stored_bytes", (clean.bytes.len() + clean.thumbnail.len()) as u64)
            .with("created_at", time::now_rfc3339());
        let marker = keys::unattached(&mid);
        // Unattached until a post or a profile takes it (see `attach_ops`); the sweep
        // removes it if nothing does in time.
        let ops = vec![
            TxOp::Put { item, cond: Cond::NotExists },
            TxOp::Put { item: Item::new(marker.pk, marker.sk), cond: Cond::None },
        ];
        self.store.transact_write(ops).await?;
        Ok(media)
    }

    /// Refuses an upload of `adding` bytes that would take the user past their quota,
    /// counted over their media items (original and thumbnail).
    async fn check_quota(&self, uid: &str, adding: u64) -> ServiceResult<()> {
        let quota = self.config.media_quota_bytes;
        let used = AtomicU64::new(0);
        self.each_page(Source::gsi1(keys::owner_gsi(uid)), |_, items| {
            let bytes = items.iter().filter_map(|i| i.int("stored_bytes")).map(|n| n.max(0) as u64).sum();
            used.fetch_add(bytes, Ordering::Relaxed);
            async { Ok(()) }
        })
        .await?;
        let used = used.into_inner();
        if used + adding > quota {
            return Err(ServiceError::TooLarge(format!(
                "upload quota exceeded: your images may take at most {quota} bytes, {used} are used"
            )));
        }
        Ok(())
    }

    /// Deletes images: their items (so their URLs answer 404 at once), their unattached
    /// markers, then their objects. Idempotent.
    pub(crate) async fn delete_media(&self, mids: &[String]) -> ServiceResult<()> {
        if mids.is_empty() {
            return Ok(());
        }
        let deletes =
            mids.iter().flat_map(|m| [WriteOp::Delete(keys::media(m)), WriteOp::Delete(keys::unattached(m))]);
        self.store.batch_write(deletes.collect()).await?;
        for mid in mids {
            self.media.delete(&object_path(mid, false)).await?;
            self.media.delete(&object_path(mid, true)).await?;
        }
        Ok(())
    }

    /// How often the workers sweep: a quarter of the allowed age, within 1 s and 10 min.
    pub fn media_sweep_interval(&self) -> Duration {
        let age = Duration::from_secs(self.config.unattached_media_max_age_secs);
        (age / 4).clamp(Duration::from_secs(1), Duration::from_secs(600))
    }

    /// The periodic sweep: uploads attached to nothing for longer than
    /// `unattached_media_max_age_secs` go. Every instance may run it: an image leaves only
    /// in a transaction that also takes its marker (conditioned on it), so an attach racing
    /// the sweep either wins (the image stays) or finds the image gone (422).
    pub async fn sweep_unattached_media(&self) -> ServiceResult<usize> {
        let age_ms = self.config.unattached_media_max_age_secs.saturating_mul(1000);
        let cutoff = ids::floor_id(time::now_millis().saturating_sub(age_ms));
        let cond = KeyCondition::pk(keys::UNATTACHED_PK).with_sk(SkCond::Lt(cutoff));
        let mut removed = 0;
        loop {
            let result = self.store.query(Index::Table, cond.clone(), Page::forward(MEDIA_PAGE)).await?;
            let mut gone = Vec::new();
            for marker in &result.items {
                let ops = vec![
                    TxOp::Delete { key: marker.key(), cond: Cond::Exists },
                    TxOp::Delete { key: keys::media(&marker.sk), cond: Cond::None },
                ];
                match self.store.transact_write(ops).await {
                    Ok(()) => gone.push(marker.sk.clone()),
                    Err(EngineError::TransactionCanceled { .. }) => {}
                    Err(err) => return Err(err.into()),
                }
            }
            removed += gone.len();
            self.delete_media(&gone).await?;
            if result.last_key.is_none() || result.items.is_empty() {
                return Ok(removed);
            }
        }
    }

    /// The error for an upload over the limit (also used by the HTTP layer, which stops
    /// reading a body as soon as it passes the limit).
    pub fn too_large(&self) -> ServiceError {
        ServiceError::TooLarge(format!("images may be at most {} bytes", self.config.media_max_bytes))
    }

    /// Where to get image `mid` (or its thumbnail): a redirect or the bytes.
    pub async fn media_content(&self, mid: &str, thumbnail: bool) -> ServiceResult<MediaContent> {
        let item = self.store.get(&keys::media(mid)).await?.ok_or(ServiceError::NotFound("media"))?;
        let path = object_path(mid, thumbnail);
        if let Some(url) = self.media.presigned_get(&path, PRESIGN_FOR).await? {
            return Ok(MediaContent::Redirect(url));
        }
        let object = self.media.get(&path).await?.ok_or(ServiceError::NotFound("media"))?;
        let content_type = if thumbnail {
            "image/jpeg"
        } else {
            item.str("content_type").unwrap_or("application/octet-stream")
        };
        Ok(MediaContent::Bytes { content_type: content_type.to_string(), bytes: object.bytes })
    }
}
