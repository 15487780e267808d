//! roost-api
