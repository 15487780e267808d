//! DynamoDB store (to be written).
