//! The embedded engines, for one machine with no services: the primary store in a SQLite
//! file, the cache and bus in process (its work queue in SQLite, so jobs survive a crash),
//! and media in a local folder.
#![warn(missing_docs)]

pub mod cache;
pub mod media;
pub mod store;
