//! The service layer: every use case of Roost, written once over the three engine traits.
//!
//! [`Service`] is a cheap-clone handle; each use case lives in the module named after it
//! (`accounts`, `users`, `graph`, ...) as an `impl Service` block. This layer owns the
//! cache-aside logic, cache invalidation and the jobs it queues for the workers; it knows
//! nothing of HTTP (that is `roost-api`) nor of which engines it runs on.
#![warn(missing_docs)]

pub mod accounts;
pub mod analytics;
pub mod auth;
pub mod blocks;
mod cached;
pub mod comments;
pub mod config;
pub mod consistency;
pub mod cost;
mod crash_point;
pub mod cursor;
pub mod dead_letters;
mod decoded;
mod erasure;
pub mod error;
mod events;
mod export;
pub mod feed;
mod gated;
pub mod graph;
pub mod idempotency;
pub mod ids;
pub mod images;
pub mod jobs;
pub mod keys;
pub mod likes;
pub mod limits;
pub mod media;
pub mod model;
pub mod moderation;
pub mod notifications;
pub mod outbox;
pub mod post_search;
pub mod posts;
pub mod presence;
mod screening;
pub mod search;
pub mod stream;
pub mod suggestions;
mod telemetry;
pub mod text_index;
pub mod time;
pub mod trending;
pub mod unicode;
pub mod users;
mod walk;

use std::sync::Arc;

use roost_engines::{Cache, Media, Store};

pub use config::ServiceConfig;
use decoded::DecodeMemo;

/// Decoded posts (and, separately, profiles) kept per instance: the hot set of feeds, at
/// about a kilobyte each.
const MEMO_CAPACITY: usize = 20_000;
pub use error::{ServiceError, ServiceResult};

/// The three engines the service runs on, chosen by configuration at startup.
#[derive(Clone)]
pub struct Engines {
    /// The primary store, the source of truth.
    pub store: Arc<dyn Store>,
    /// Hot copies, live events and the work queue.
    pub cache: Arc<dyn Cache>,
    /// Image bytes.
    pub media: Arc<dyn Media>,
}

/// Handle to the service; clones share everything. One reference count to clone: axum
/// clones it for every extractor and middleware of every request (a struct of fifteen
/// `Arc`s cost 5% of a feed request's CPU in profiles).
#[derive(Clone)]
pub struct Service {
    shared: Arc<Shared>,
}

impl std::ops::Deref for Service {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

/// What every clone of a [`Service`] shares.
pub struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) cache: Arc<dyn Cache>,
    pub(crate) media: Arc<dyn Media>,
    /// Cache key names, under the configured namespace (several deployments or test runs
    /// may share one Redis).
    pub(crate) ck: keys::CacheKeys,
    pub(crate) config: Arc<ServiceConfig>,
    /// Signs and checks session tokens; the key is shared by every instance through the
    /// store (see `auth::token`).
    pub(crate) tokens: Arc<auth::TokenSigner>,
    /// Signs and checks list cursors (see `cursor`).
    pub(crate) cursors: Arc<cursor::Cursors>,
    /// Decoded copies of cached posts and profiles, used while the cache still answers
    /// the same bytes (see `decoded`).
    pub(crate) post_memo: Arc<DecodeMemo<model::StoredPost>>,
    pub(crate) profile_memo: Arc<DecodeMemo<users::CachedProfile>>,
    /// This instance's recent copy of the big accounts' list (see `feed`).
    pub(crate) celebrity_memo: Arc<feed::CelebrityMemo>,
    /// When this instance last wrote each user's presence (see `presence`).
    pub(crate) presence_throttle: Arc<presence::PresenceThrottle>,
    /// This instance's open event streams (see `stream`).
    pub(crate) hub: Arc<stream::Hub>,
    /// Analytics recorded here and not yet written to the cache (see `analytics`).
    pub(crate) tally: Arc<analytics::Tally>,
    /// Makes the pseudonyms analytics counts users under (see `analytics`).
    pub(crate) pseudonyms: Arc<analytics::Pseudonyms>,
}

impl Service {
    /// Builds the service; loads (or, on the very first start, creates) the token key.
    pub async fn new(engines: Engines, config: ServiceConfig) -> ServiceResult<Service> {
        let tokens =
            auth::TokenSigner::load_or_create(engines.store.as_ref(), config.token_secret.as_deref()).await?;
        let shared = Shared {
            ck: keys::CacheKeys::new(&config.cache_namespace),
            store: engines.store,
            cache: engines.cache,
            media: engines.media,
            config: Arc::new(config),
            cursors: Arc::new(cursor::Cursors::new(tokens.derive_key("cursor"))),
            pseudonyms: Arc::new(analytics::Pseudonyms::new(tokens.derive_key("analytics"))),
            tokens: Arc::new(tokens),
            post_memo: Arc::new(DecodeMemo::new(MEMO_CAPACITY)),
            profile_memo: Arc::new(DecodeMemo::new(MEMO_CAPACITY)),
            celebrity_memo: Default::default(),
            presence_throttle: Default::default(),
            hub: Default::default(),
            tally: Default::default(),
        };
        Ok(Service { shared: Arc::new(shared) })
    }

    /// The configuration the service was built with.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The engines the service runs on, shared, not copied.
    pub fn engines(&self) -> Engines {
        Engines { store: self.store.clone(), cache: self.cache.clone(), media: self.media.clone() }
    }

    /// Which engine does not answer, if any (for `/readyz`).
    pub async fn readiness(&self) -> Vec<(&'static str, Option<String>)> {
        let (store, cache, media) = tokio::join!(self.store.ping(), self.cache.ping(), self.media.ping());
        vec![
            ("store", store.err().map(|e| e.to_string())),
            ("cache", cache.err().map(|e| e.to_string())),
            ("media", media.err().map(|e| e.to_string())),
        ]
    }
}
