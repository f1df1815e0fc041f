//! The `sessions` table: browser sessions.

use super::users::User;
use super::{json_param, Db};
use crate::backend::Error;
use crate::on_pool;

/// Stores a new browser session.
pub async fn insert_session(
    db: &Db,
    session_hash: &str,
    user_id: i64,
    ttl_seconds: i64,
) -> Result<(), Error> {
    on_pool!(db, |pool, d| sqlx::query(&format!(
        "INSERT INTO sessions (session_hash, user_id, expires_at) VALUES ($1, $2, {expiry})",
        expiry = d.now_plus("$3")
    ))
    .bind(session_hash)
    .bind(user_id)
    .bind(ttl_seconds)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The user of a session that has not expired, unless the user is disabled;
/// and whether it is still valid a second from now (then it may be
/// remembered for that long).
pub async fn user_for_session(db: &Db, session_hash: &str) -> Result<Option<(User, bool)>, Error> {
    let row = on_pool!(db, |pool, d| sqlx::query_as::<_, (i64, String, bool)>(&format!(
        "SELECT u.id, u.name, s.expires_at > {in_a_second} FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.session_hash = $1 AND s.expires_at > {now} AND u.disabled_at IS NULL",
        in_a_second = d.now_plus("1"),
        now = d.now
    ))
    .bind(session_hash)
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|(id, name, lasting)| (User { id, name }, lasting)))
}

/// Of these session hashes, the ones still open (not ended, not expired,
/// their user not disabled).
pub async fn live_session_hashes(
    db: &Db,
    hashes: &[&str],
) -> Result<std::collections::HashSet<String>, Error> {
    let hashes = json_param(hashes)?;
    let live: Vec<String> = on_pool!(db, |pool, d| sqlx::query_scalar(&format!(
        "SELECT s.session_hash FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE {listed} AND s.expires_at > {now} AND u.disabled_at IS NULL",
        listed = d.in_json_texts("s.session_hash", "$1"),
        now = d.now
    ))
    .bind(&hashes)
    .fetch_all(pool)
    .await)?;
    Ok(live.into_iter().collect())
}

/// Ends a session (and forgets expired ones).
pub async fn delete_session(db: &Db, session_hash: &str) -> Result<(), Error> {
    on_pool!(db, |pool, d| sqlx::query(&format!(
        "DELETE FROM sessions WHERE session_hash = $1 OR expires_at <= {now}",
        now = d.now
    ))
    .bind(session_hash)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    crate::backend::credentials::changed();
    Ok(())
}

/// Ends every session of a user.
pub async fn delete_user_sessions(db: &Db, user_id: i64) -> Result<u64, Error> {
    let ended = on_pool!(db, |pool, d| sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    crate::backend::credentials::changed();
    Ok(ended)
}
