//! Credentials: password hashing and session tokens. Sessions themselves (creation,
//! revocation, lookup) are a use case and live in `accounts`.

mod password;
mod token;

pub use password::{hash_password, verify_nobody, verify_password};
pub use token::{Claims, TokenSigner};
