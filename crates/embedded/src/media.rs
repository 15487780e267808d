//! Local-folder media: the shared `ObjectMedia` over `object_store`'s `LocalFileSystem`, so
//! the embedded mode stores images exactly as S3 would, just under `--data-dir`.

use std::path::Path;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use roost_engines::{EngineError, EngineResult, ObjectMedia};

/// Media kept under `dir` (created if missing). No presigned URLs: the API serves the bytes.
pub fn local_media(dir: &Path) -> EngineResult<ObjectMedia> {
    let unavailable = |err: &dyn std::fmt::Display| {
        EngineError::unavailable("media", format!("local media folder {}: {err}", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(|err| unavailable(&err))?;
    // Removing a post's last image removes its folder too, so deleted accounts leave no
    // empty directory trees behind.
    let store =
        LocalFileSystem::new_with_prefix(dir).map_err(|err| unavailable(&err))?.with_automatic_cleanup(true);
    // `LocalFileSystem` refuses object attributes; the service records content types itself.
    Ok(ObjectMedia::new(Arc::new(store), None, false))
}
