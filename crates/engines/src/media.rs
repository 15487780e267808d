//! `Media`: image bytes in an object store. One implementation over the `object_store`
//! crate serves both modes; only the constructor differs (a local folder in
//! `roost-embedded`, S3 in `roost-distributed`), so nothing here is written twice.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload};

use crate::error::{EngineError, EngineResult};

/// An object's content as read back from the store.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaObject {
    /// The whole object, as it was put.
    pub bytes: Bytes,
}

/// One object of a listing: its path and size, as `ListObjectsV2` names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedObject {
    /// The object's full path (`Key`).
    pub path: String,
    /// Its size in bytes (`Size`).
    pub size: u64,
}

/// `Media`: image bytes in an object store, named as S3 names the operations.
#[async_trait]
pub trait Media: Send + Sync + 'static {
    /// `PutObject`.
    async fn put(&self, path: &str, bytes: Bytes, content_type: &str) -> EngineResult<()>;
    /// `GetObject`: `None` when absent.
    async fn get(&self, path: &str) -> EngineResult<Option<MediaObject>>;
    /// `DeleteObject`; deleting a missing object is not an error.
    async fn delete(&self, path: &str) -> EngineResult<()>;
    /// `ListObjectsV2`, every page: the objects under `prefix`, taken as whole path segments
    /// (`media` lists `media/a` but not `mediafile`; `""` lists everything). The order is
    /// unspecified (S3 answers in key order, a local folder in directory order).
    fn list(&self, prefix: &str) -> BoxStream<'static, EngineResult<ListedObject>>;
    /// A presigned GET URL, where the backend has them (S3); `None` means "serve the bytes".
    async fn presigned_get(&self, path: &str, expires: Duration) -> EngineResult<Option<String>>;
    /// Whether the backend answers (for `/readyz`).
    async fn ping(&self) -> EngineResult<()>;
}

/// Makes presigned GET URLs. `object_store` keeps its own `Signer` behind its cloud
/// features, which the embedded build does not compile; the S3 engine adapts it to this.
#[async_trait]
pub trait Presigner: Send + Sync + 'static {
    /// A presigned GET URL for `path`, valid for `expires`.
    async fn presign_get(&self, path: &Path, expires: Duration) -> object_store::Result<String>;
}

/// `Media` over any `object_store` backend.
#[derive(Clone)]
pub struct ObjectMedia {
    store: Arc<dyn ObjectStore>,
    /// Present for backends that can presign (S3); the local folder cannot.
    signer: Option<Arc<dyn Presigner>>,
    /// Whether the backend keeps object attributes (Content-Type); the local filesystem
    /// backend refuses them, and the service records the type itself anyway.
    keeps_attributes: bool,
}

impl ObjectMedia {
    /// `Media` over `store`, presigning with `signer` where given; `keeps_attributes` says whether the backend stores Content-Type.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        signer: Option<Arc<dyn Presigner>>,
        keeps_attributes: bool,
    ) -> Self {
        ObjectMedia { store, signer, keeps_attributes }
    }
}

/// The object `ping` looks up: not a path the service ever writes (those start with the
/// uploader's id).
const PING_PROBE: &str = "roost-ping-probe";

fn unavailable(err: object_store::Error) -> EngineError {
    EngineError::unavailable("media", err)
}

#[async_trait]
impl Media for ObjectMedia {
    async fn put(&self, path: &str, bytes: Bytes, content_type: &str) -> EngineResult<()> {
        let mut opts = PutOptions::default();
        if self.keeps_attributes {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, content_type.to_string().into());
            attributes.insert(Attribute::CacheControl, "public, max-age=31536000, immutable".into());
            opts.attributes = attributes;
        }
        self.store.put_opts(&Path::from(path), PutPayload::from(bytes), opts).await.map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, path: &str) -> EngineResult<Option<MediaObject>> {
        match self.store.get(&Path::from(path)).await {
            Ok(result) => Ok(Some(MediaObject { bytes: result.bytes().await.map_err(unavailable)? })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn delete(&self, path: &str) -> EngineResult<()> {
        match self.store.delete(&Path::from(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }

    fn list(&self, prefix: &str) -> BoxStream<'static, EngineResult<ListedObject>> {
        let prefix = (!prefix.is_empty()).then(|| Path::from(prefix));
        self.store
            .list(prefix.as_ref())
            .map_ok(|meta| ListedObject { path: meta.location.to_string(), size: meta.size })
            .map_err(unavailable)
            .boxed()
    }

    async fn presigned_get(&self, path: &str, expires: Duration) -> EngineResult<Option<String>> {
        let Some(signer) = &self.signer else { return Ok(None) };
        Ok(Some(signer.presign_get(&Path::from(path), expires).await.map_err(unavailable)?))
    }

    async fn ping(&self) -> EngineResult<()> {
        // Listing at most one entry proves the bucket (or folder) is reachable.
        let mut listing = self.store.list(None);
        listing.try_next().await.map_err(unavailable)?;
        // A folder that is no longer a folder lists as empty; looking an object up inside
        // it fails, as an upload would. (No object ever has this name; 404 is the answer.)
        match self.store.head(&Path::from(PING_PROBE)).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }
}
