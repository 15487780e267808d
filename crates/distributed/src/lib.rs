//! The distributed engines, for any number of instances: DynamoDB as the primary store,
//! Redis as cache, bus and work queue, S3 for media.
#![warn(missing_docs)]

pub mod cache;
pub mod media;
pub mod media_protection;
pub mod store;
