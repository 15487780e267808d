//! Conformance cases for `Media`, checked the same way against the local folder and S3.
//!
//! Each case works under its own [`unique_prefix`] (cases run concurrently against one
//! shared bucket). Instantiate all of them with
//! [`media_conformance_tests!`](crate::media_conformance_tests).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;

use super::unique_prefix;
use crate::error::EngineResult;
use crate::media::{ListedObject, Media, MediaObject};

/// One `#[tokio::test]` per case below, over a fresh handle from `$factory`: anything
/// callable with no arguments that returns a future of `Arc<dyn Media>`. Attributes before
/// the factory are put on every test, as for `cache_conformance_tests!`.
#[macro_export]
macro_rules! media_conformance_tests {
    ($(#[$attr:meta])* $factory:expr) => {
        $crate::__roost_conformance_tests!(media: Media, [$(#[$attr])*], $factory;
            put_get_delete_round_trip,
            get_missing_is_none,
            delete_missing_is_ok,
            presigned_get_is_none_or_a_url,
            list_names_every_object_under_a_prefix,
            media_ping_answers,
        );
    };
}

/// A path shaped like the service's (nested folders, an extension).
fn image_path(case: &str) -> String {
    format!("{}/posts/p1/image.jpg", unique_prefix(case))
}

/// An object put can be read back with its bytes, and is gone after delete.
pub async fn put_get_delete_round_trip(media: Arc<dyn Media>) -> EngineResult<()> {
    let path = image_path("roundtrip");
    let bytes = Bytes::from((0..=255u8).cycle().take(100_000).collect::<Vec<u8>>());
    media.put(&path, bytes.clone(), "image/jpeg").await?;
    assert_eq!(media.get(&path).await?, Some(MediaObject { bytes }));

    media.put(&path, Bytes::from_static(b"replaced"), "image/png").await?;
    assert_eq!(media.get(&path).await?.map(|o| o.bytes), Some(Bytes::from_static(b"replaced")));

    media.delete(&path).await?;
    assert_eq!(media.get(&path).await?, None);
    Ok(())
}

/// Reading a missing object answers `None`, not an error.
pub async fn get_missing_is_none(media: Arc<dyn Media>) -> EngineResult<()> {
    assert_eq!(media.get(&image_path("missing")).await?, None);
    Ok(())
}

/// Deleting a missing object succeeds.
pub async fn delete_missing_is_ok(media: Arc<dyn Media>) -> EngineResult<()> {
    let path = image_path("deletemissing");
    media.delete(&path).await?;
    media.put(&path, Bytes::from_static(b"x"), "image/jpeg").await?;
    media.delete(&path).await?;
    media.delete(&path).await
}

/// `list` finds every object below a prefix, nested ones included, with its size; a prefix
/// is whole path segments, and one with nothing under it lists nothing.
pub async fn list_names_every_object_under_a_prefix(media: Arc<dyn Media>) -> EngineResult<()> {
    let root = unique_prefix("list");
    let objects = [("a/1.jpg", 1), ("a/2.jpg", 22), ("a/b/3.jpg", 333), ("ab/4.jpg", 4444)];
    for (name, size) in objects {
        media.put(&format!("{root}/{name}"), Bytes::from(vec![7u8; size as usize]), "image/jpeg").await?;
    }
    let expected = |names: &[(&str, u64)]| -> Vec<ListedObject> {
        names.iter().map(|(n, size)| ListedObject { path: format!("{root}/{n}"), size: *size }).collect()
    };
    assert_eq!(
        listed(&*media, &format!("{root}/a")).await?,
        expected(&[("a/1.jpg", 1), ("a/2.jpg", 22), ("a/b/3.jpg", 333)])
    );
    assert_eq!(listed(&*media, &root).await?.len(), 4);
    assert_eq!(listed(&*media, &format!("{root}/nothing")).await?, vec![]);
    for (name, _) in objects {
        media.delete(&format!("{root}/{name}")).await?;
    }
    assert_eq!(listed(&*media, &root).await?, vec![]);
    Ok(())
}

/// A listing in path order.
async fn listed(media: &dyn Media, prefix: &str) -> EngineResult<Vec<ListedObject>> {
    let mut found: Vec<ListedObject> = media.list(prefix).try_collect().await?;
    found.sort_by(|x, y| x.path.cmp(&y.path));
    Ok(found)
}

/// `None` means the caller serves the bytes itself; a URL must at least look like one (the
/// distributed tests fetch it).
pub async fn presigned_get_is_none_or_a_url(media: Arc<dyn Media>) -> EngineResult<()> {
    let path = image_path("presign");
    media.put(&path, Bytes::from_static(b"signed"), "image/jpeg").await?;
    if let Some(url) = media.presigned_get(&path, Duration::from_secs(60)).await? {
        assert!(url.starts_with("http://") || url.starts_with("https://"), "not a URL: {url}");
        assert!(url.contains("image.jpg"), "{url} does not name the object");
    }
    media.delete(&path).await
}

/// `ping` succeeds against a working object store.
pub async fn media_ping_answers(media: Arc<dyn Media>) -> EngineResult<()> {
    media.ping().await
}
