//! Rate-limit windows kept in the database, for several instances sharing
//! one limit (SQLite's one instance counts in memory, in the REST API's
//! limiter).

use super::store::{self, Db};
use super::Error;

/// Counts one request of `credential` at `now_ms` in its rate-limit window
/// of `window_ms`, kept in the database so every instance counts against
/// the same limit; when the window started, and its count.
pub async fn count_request(
    db: &Db,
    credential: &str,
    now_ms: i64,
    window_ms: i64,
) -> Result<(i64, i64), Error> {
    store::count_request(db, credential, now_ms, window_ms).await
}

/// Forgets the rate-limit windows that ended by `now_ms`.
pub async fn forget_request_counts(db: &Db, now_ms: i64, window_ms: i64) -> Result<u64, Error> {
    store::forget_request_counts(db, now_ms, window_ms).await
}
