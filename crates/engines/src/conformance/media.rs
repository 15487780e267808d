//! Conformance cases for `Media` (to be written).
