//! The engine layer of Roost: three narrow traits, each shaped after the production
//! system it mirrors, so that anyone who knows DynamoDB, Redis or S3 knows the trait.
//!
//! - [`Store`]: DynamoDB's item model (the source of truth).
//! - [`Cache`]: the subset of Redis the service needs (hot data, pub/sub, work queues).
//! - [`Media`]: an object store (S3 or a local folder) for images.
//!
//! Every trait has an embedded implementation (`roost-embedded`) and a distributed one
//! (`roost-distributed`). Both run the same `conformance` suites (behind the feature of that
//! name, which only their tests turn on), which is how we know the service above cannot tell
//! them apart.
#![warn(missing_docs)]

pub mod cache;
pub mod capacity;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod counted;
pub mod error;
#[cfg(debug_assertions)]
pub mod faults;
pub mod media;
pub mod metered;
pub mod resilient;
pub mod store;
pub mod usage;

pub use cache::{Cache, QueueMessage, Subscription};
pub use counted::CountedCache;
pub use error::{EngineError, EngineResult};
pub use media::{ListedObject, Media, MediaObject, ObjectMedia, Presigner};
pub use metered::{Billing, MeteredStore};
pub use resilient::{ResilientStore, RetryPolicy};
pub use store::{
    CancelReason, Cond, Index, Item, Key, KeyCondition, Page, QueryPage, SkCond, StartKey, Store, TxOp,
    Update, WriteOp,
};
