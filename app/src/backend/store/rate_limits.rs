//! The `rate_limits` table: per-credential request windows, shared by every
//! instance on PostgreSQL (SQLite's single instance counts in memory).

use super::Db;
use crate::backend::Error;
use crate::on_pool;

/// Counts one request of `credential` at `now_ms` (Unix milliseconds) in
/// its rate-limit window of `window_ms`, which starts at its first request
/// after the last window ended. Kept in the database, so every instance counts
/// against the same limit. Returns when the window started, and its count.
pub async fn count_request(
    db: &Db,
    credential: &str,
    now_ms: i64,
    window_ms: i64,
) -> Result<(i64, i64), Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, (i64, i64)>(
        "INSERT INTO rate_limits AS r (credential, window_start, count) VALUES ($1, $2, 1)
         ON CONFLICT (credential) DO UPDATE SET
             count = CASE WHEN r.window_start > $2 - $3 THEN r.count + 1 ELSE 1 END,
             window_start = CASE WHEN r.window_start > $2 - $3 THEN r.window_start ELSE $2 END
         RETURNING window_start, count",
    )
    .bind(credential)
    .bind(now_ms)
    .bind(window_ms)
    .fetch_one(pool)
    .await)?)
}

/// Forgets the counts of windows that ended by `now_ms`.
pub async fn forget_request_counts(db: &Db, now_ms: i64, window_ms: i64) -> Result<u64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query("DELETE FROM rate_limits WHERE window_start <= $1 - $2")
        .bind(now_ms)
        .bind(window_ms)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}
