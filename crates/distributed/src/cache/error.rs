//! Failures of Redis, as the engine layer names them, and the deadline every call runs
//! under.
//!
//! Everything that goes wrong between us and Redis (no connection, a timeout, an error
//! reply, a reply of a shape we did not expect) is `Unavailable { engine: "redis" }`: the
//! cache is never the only copy, so the service degrades or answers 503, and nothing
//! above needs to tell these apart.

use std::future::Future;
use std::time::Duration;

use fred::prelude::Value;
use roost_engines::{EngineError, EngineResult};

const ENGINE: &str = "redis";

/// Slack given to fred's own per-command timeout before ours fires: fred's error is the
/// more precise one, and ours exists for the calls made of several commands.
const GRACE: Duration = Duration::from_millis(500);

pub(super) fn unavailable(err: fred::error::Error) -> EngineError {
    EngineError::unavailable(ENGINE, err)
}

pub(super) fn unexpected(command: &str, reply: &Value) -> EngineError {
    EngineError::unavailable(ENGINE, format!("unexpected reply to {command}: {reply:?}"))
}

/// Runs `call` under a deadline of `limit` (plus a little grace), so that no call can hang
/// whatever happens inside the client.
pub(super) async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = EngineResult<T>>,
) -> EngineResult<T> {
    match tokio::time::timeout(limit + GRACE, call).await {
        Ok(result) => result,
        Err(_) => Err(EngineError::unavailable(ENGINE, format!("no answer within {limit:?}"))),
    }
}
