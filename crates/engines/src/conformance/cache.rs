//! Conformance cases for `Cache` (to be written).
