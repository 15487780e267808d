//! S3 media (to be written).
