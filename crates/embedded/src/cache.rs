//! In-process cache (to be written).
