//! CPU-heavy work (password hashing, image decoding) on the blocking pool, at most a few
//! at a time.
//!
//! The blocking pool grows to hundreds of threads, so without a bound a burst of sign-ins
//! or uploads would run hundreds of argon2 hashes (19 MiB each) or image decodes at once:
//! memory balloons and every one of them gets slow. A gate of one permit per core makes
//! the rest wait their turn in order, which costs the same total time and keeps memory flat.

use std::sync::{Arc, LazyLock};

use tokio::sync::Semaphore;

use crate::error::{ServiceError, ServiceResult};

/// A gate of one permit per available core, made on first use.
pub(crate) type Gate = LazyLock<Arc<Semaphore>>;

/// For `static X: Gate = Gate::new(per_core);`.
pub(crate) fn per_core() -> Arc<Semaphore> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Arc::new(Semaphore::new(cores))
}

/// Runs `work` on the blocking pool once `gate` has room. The permit moves into the
/// blocking task, so a request that goes away while its work runs does not free the
/// slot early.
pub(crate) async fn run<T: Send + 'static>(
    gate: &Gate,
    work: impl FnOnce() -> T + Send + 'static,
) -> ServiceResult<T> {
    let permit = Arc::clone(gate).acquire_owned().await.map_err(|e| ServiceError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))
}
