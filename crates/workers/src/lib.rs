//! roost-workers
