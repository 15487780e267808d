//! Local-folder media (to be written).
