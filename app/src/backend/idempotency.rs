//! Idempotency keys: a key claimed for one request, the answer stored for
//! its retries, or the key released when a retry may run it again. The HTTP
//! side (which requests, which headers) is the REST API's middleware.

use super::store::{self, Db};
use super::Error;

pub use store::{Claimed, IdempotencyClaim, IdempotentRecord};

/// An answer to store for a key's retries.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub location: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub body: &'a [u8],
}

/// Claims `key` (in `scope`) for a request with this hash, or returns what
/// is stored for it.
pub async fn claim(db: &Db, scope: &str, key: &str, request_hash: &str) -> Result<Claimed, Error> {
    store::idempotency_claim(db, scope, key, request_hash).await
}

/// Stores the answer of a claimed key, if the claim is still the key's.
pub async fn answer(db: &Db, claim: &IdempotencyClaim, answer: Answer<'_>) -> Result<(), Error> {
    store::idempotency_store(
        db,
        claim,
        answer.status,
        answer.content_type,
        answer.location,
        answer.etag,
        answer.body,
    )
    .await
}

/// Releases a claimed key (nothing happened that a retry could repeat).
pub async fn release(db: &Db, claim: &IdempotencyClaim) -> Result<(), Error> {
    store::idempotency_forget(db, claim).await
}
