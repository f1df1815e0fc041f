//! The `api_tokens` table: hashes of API tokens, their scope, expiry and use.

use sqlx::FromRow;

use super::users::User;
use super::{json_param, Db};
use crate::backend::Error;
use crate::on_pool;

/// What is known of an API token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TokenInfo {
    pub id: i64,
    pub prefix: String,
    pub user_name: String,
    pub label: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// `full` or `read`.
    pub scope: String,
    pub expires_at: Option<String>,
    /// Past its expiry now.
    pub expired: bool,
    /// The one project it is limited to, if any.
    pub project_name: Option<String>,
}

/// A token to store: its hash and what it may do.
#[derive(Debug, Clone, Copy)]
pub struct NewToken<'a> {
    pub user_id: i64,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub label: Option<&'a str>,
    pub scope: &'a str,
    pub expires_in_secs: Option<i64>,
    /// The one project it is limited to.
    pub project_id: Option<i64>,
}

/// Stores a new token's hash.
pub async fn insert_token(db: &Db, token: NewToken<'_>) -> Result<(), Error> {
    let NewToken { user_id, token_hash, prefix, label, scope, expires_in_secs, project_id } = token;
    on_pool!(db, |pool, d| sqlx::query(&format!(
        "INSERT INTO api_tokens (user_id, token_hash, prefix, label, scope, expires_at, project_id)
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 IS NULL THEN NULL ELSE {expiry} END, $7)",
        expiry = d.now_plus("$6")
    ))
    .bind(user_id)
    .bind(token_hash)
    .bind(prefix)
    .bind(label)
    .bind(scope)
    .bind(expires_in_secs)
    .bind(project_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The owner of a live token, and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOwner {
    pub user: User,
    /// `full` or `read`.
    pub scope: String,
    /// The one project it is limited to, if any.
    pub project_id: Option<i64>,
    /// Still valid a second from now (not about to expire), so it may be
    /// remembered for that long.
    pub lasting: bool,
}

/// The owner and scope of a live (not revoked, not expired, its user not
/// disabled) token, recording its use. The use time is written at most once
/// a minute, so reads do not turn into writes.
pub async fn user_for_token(db: &Db, token_hash: &str) -> Result<Option<TokenOwner>, Error> {
    let row =
        on_pool!(db, |pool, d| sqlx::query_as::<_, (i64, String, i64, bool, String, Option<i64>, bool)>(
            &format!(
                "SELECT u.id, u.name, t.id,
                t.last_used_at IS NULL OR t.last_used_at < {minute_ago},
                t.scope, t.project_id,
                t.expires_at IS NULL OR t.expires_at > {in_a_second}
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > {now})
           AND u.disabled_at IS NULL",
                minute_ago = d.now_plus("-60"),
                in_a_second = d.now_plus("1"),
                now = d.now
            )
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await)?;
    let Some((user_id, name, token_id, stale, scope, project_id, lasting)) = row else {
        return Ok(None);
    };
    if stale {
        // In the background: a busy database must not hold up (or fail) a read.
        let db = db.clone();
        tokio::spawn(async move {
            let noted = on_pool!(&db, |pool, d| sqlx::query(&format!(
                "UPDATE api_tokens SET last_used_at = {now} WHERE id = $1",
                now = d.now
            ))
            .bind(token_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()));
            if let Err(e) = noted {
                tracing::warn!(error = %e, "cannot record a token's use");
            }
        });
    }
    Ok(Some(TokenOwner { user: User { id: user_id, name }, scope, project_id, lasting }))
}

/// Revokes the live tokens whose hash or prefix matches, of one user only
/// if `owner` is given; returns how many.
pub async fn revoke_tokens(
    db: &Db,
    token_hash: Option<&str>,
    prefix: Option<&str>,
    owner: Option<i64>,
) -> Result<u64, Error> {
    let done = on_pool!(db, |pool, d| sqlx::query(&format!(
        "UPDATE api_tokens SET revoked_at = {now}
         WHERE revoked_at IS NULL AND (token_hash = $1 OR prefix = $2) AND ($3 IS NULL OR user_id = $3)",
        now = d.now
    ))
    .bind(token_hash)
    .bind(prefix)
    .bind(owner)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if done > 0 {
        crate::backend::credentials::changed();
    }
    Ok(done)
}

/// All tokens, or one user's, newest first.
pub async fn list_tokens(db: &Db, user: Option<&str>) -> Result<Vec<TokenInfo>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, TokenInfo>(&format!(
        "SELECT t.id, t.prefix, u.name AS user_name, t.label, t.created_at, t.last_used_at, t.revoked_at,
                t.scope, t.expires_at, COALESCE(t.expires_at <= {now}, FALSE) AS expired,
                p.name AS project_name
         FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN users p ON p.id = t.project_id
         WHERE $1 IS NULL OR u.name = $1
         ORDER BY t.id DESC",
        now = d.now
    ))
    .bind(user)
    .fetch_all(pool)
    .await)?)
}

/// Moves a token's expiry to `secs` seconds from now (negative: already past).
pub async fn set_token_expiry(db: &Db, token_hash: &str, secs: i64) -> Result<(), Error> {
    on_pool!(db, |pool, d| sqlx::query(&format!(
        "UPDATE api_tokens SET expires_at = {at} WHERE token_hash = $1",
        at = d.now_plus("$2")
    ))
    .bind(token_hash)
    .bind(secs)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    crate::backend::credentials::changed();
    Ok(())
}

/// Of these token hashes, the ones still accepted (known, not revoked, not
/// expired, their user not disabled).
pub async fn live_token_hashes(db: &Db, hashes: &[&str]) -> Result<std::collections::HashSet<String>, Error> {
    let hashes = json_param(hashes)?;
    let live: Vec<String> = on_pool!(db, |pool, d| sqlx::query_scalar(&format!(
        "SELECT t.token_hash FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE {listed} AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > {now})
           AND u.disabled_at IS NULL",
        listed = d.in_json_texts("t.token_hash", "$1"),
        now = d.now
    ))
    .bind(&hashes)
    .fetch_all(pool)
    .await)?;
    Ok(live.into_iter().collect())
}
