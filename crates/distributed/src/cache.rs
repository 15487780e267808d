//! Redis cache (to be written).
