//! Images: upload (type checked from the bytes, metadata stripped, a thumbnail made, both
//! kept in the media store) and serving them back (a presigned URL where the media store
//! has them, else the bytes).

use std::time::Duration;

use bytes::Bytes;
use roost_engines::{Cond, Item};

use crate::error::{ServiceError, ServiceResult};
use crate::gated::{self, Gate};
use crate::images::{self, ImageError};
use crate::limits::Limit;
use crate::model::{Caller, Image};
use crate::{ids, keys, time, Service};

/// Image cleaning decodes whole images: one at a time per core (see `gated`).
static DECODING: Gate = Gate::new(gated::per_core);

/// How long a presigned media URL stays valid.
const PRESIGN_FOR: Duration = Duration::from_secs(3600);

/// What `GET /api/media/{id}` answers with.
pub enum MediaContent {
    /// Fetch it from there (a presigned object-store URL).
    Redirect(String),
    Bytes {
        content_type: String,
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
            .with_attrs(&media)
            .with("owner_id", caller.user_id.as_str())
            .with("created_at", time::now_rfc3339());
        self.store.put(item, Cond::NotExists).await?;
        Ok(media)
    }

    /// The error for an upload over the limit (also used by the HTTP layer, which stops
    /// reading a body as soon as it passes the limit).
    pub fn too_large(&self) -> ServiceError {
        ServiceError::TooLarge(format!("images may be at most {} bytes", self.config.media_max_bytes))
    }

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
