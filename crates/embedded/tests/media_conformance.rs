//! The `Media` conformance suite over a local folder.

use std::sync::Arc;

use roost_embedded::media::local_media;
use roost_engines::conformance::unique_prefix;
use roost_engines::Media;

/// Every case gets its own folder under the system temp dir; the suite leaves them behind,
/// as the cases delete what they write.
async fn fresh_media() -> Arc<dyn Media> {
    let dir = std::env::temp_dir().join("roost-media-conformance").join(unique_prefix("media"));
    Arc::new(local_media(&dir).expect("local media folder"))
}

roost_engines::media_conformance_tests!(fresh_media);
