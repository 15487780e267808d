//! Conformance cases for `Store` (to be written).
