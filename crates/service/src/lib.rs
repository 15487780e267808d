//! roost-service
