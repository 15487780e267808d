//! Where a backup lives: a local folder or an S3 prefix, both reached through the `Media`
//! engine (object_store underneath), so the backup code never asks which.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use roost_distributed::media::{create_bucket_if_missing, s3_media};
use roost_embedded::media::local_media;
use roost_engines::Media;

use crate::config::Settings;
use crate::deployment;

/// A backup's folder or prefix.
pub struct Location {
    media: Arc<dyn Media>,
    /// Prepended to every file name (`""` for a folder, `prefix/` for S3).
    prefix: String,
    /// As the operator wrote it, for messages.
    pub name: String,
}

impl Location {
    /// Opens `spec` (`DIR` or `s3://bucket/prefix`); an S3 bucket is created when `create`
    /// and missing.
    pub async fn open(spec: &str, settings: &Settings, create: bool) -> anyhow::Result<Location> {
        let (media, prefix): (Arc<dyn Media>, String) = match spec.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                anyhow::ensure!(!bucket.is_empty(), "{spec}: no bucket name");
                let config = deployment::s3_config(settings, bucket);
                if create {
                    create_bucket_if_missing(&config)
                        .await
                        .with_context(|| format!("creating bucket {bucket}"))?;
                }
                let prefix = prefix.trim_matches('/');
                let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
                (Arc::new(s3_media(config)?), prefix)
            }
            None => {
                let dir = Path::new(spec);
                anyhow::ensure!(create || dir.is_dir(), "{spec} is not a folder");
                (Arc::new(local_media(dir).with_context(|| format!("opening {spec}"))?), String::new())
            }
        };
        Ok(Location { media, prefix, name: spec.to_string() })
    }

    /// Writes file `name` whole.
    pub async fn put(&self, name: &str, bytes: Bytes) -> anyhow::Result<()> {
        let path = format!("{}{name}", self.prefix);
        self.media.put(&path, bytes, "application/octet-stream").await.with_context(|| self.describe(name))
    }

    /// Reads file `name`; `None` when absent.
    pub async fn get(&self, name: &str) -> anyhow::Result<Option<Bytes>> {
        let path = format!("{}{name}", self.prefix);
        Ok(self.media.get(&path).await.with_context(|| self.describe(name))?.map(|o| o.bytes))
    }

    /// Reads file `name`, which must be there.
    pub async fn read(&self, name: &str) -> anyhow::Result<Bytes> {
        self.get(name).await?.with_context(|| format!("{} is missing", self.describe(name)))
    }

    fn describe(&self, name: &str) -> String {
        format!("{} in {}", name, self.name)
    }
}
