//! The `idempotency_keys` table: claimed keys and the answers stored for them.

use sqlx::FromRow;

use super::{begin_write, Db};
use crate::backend::Error;
use crate::{on_pool, on_tx};

/// A stored response for an idempotency key.
#[derive(Debug, Clone, FromRow)]
pub struct IdempotentRecord {
    pub request_hash: String,
    pub status: Option<i64>,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub body: Option<Vec<u8>>,
    /// Whether a request still marked in flight started over a minute ago
    /// (its process died): it may be taken over.
    pub abandoned: bool,
}

/// A key claimed for one request: only that request may store its answer
/// or release it (a claim taken over as abandoned is another claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub scope: String,
    pub key: String,
    /// When it was claimed; one key's claims are a minute apart at least.
    claimed_at: String,
}

/// What claiming a key found.
#[derive(Debug, Clone)]
pub enum Claimed {
    /// The key is this request's now.
    New(IdempotencyClaim),
    /// Another request has it: its answer, or none yet.
    Existing(IdempotentRecord),
}

/// Claims `key` for a new request, or returns what is stored for it. Keys
/// older than 24 hours are forgotten first.
pub async fn idempotency_claim(
    db: &Db,
    scope: &str,
    key: &str,
    request_hash: &str,
) -> Result<Claimed, Error> {
    let mut tx = begin_write(db).await?;
    let claimed = on_tx!(&mut tx, |conn, d| {
        sqlx::query(&format!(
            "DELETE FROM idempotency_keys WHERE created_at < {day_ago}",
            day_ago = d.now_plus("-86400")
        ))
        .execute(&mut *conn)
        .await?;
        let existing = sqlx::query_as::<_, IdempotentRecord>(&format!(
            "SELECT request_hash, status, content_type, location, etag, body,
                    status IS NULL AND created_at < {minute_ago} AS abandoned
             FROM idempotency_keys WHERE scope = $1 AND key = $2",
            minute_ago = d.now_plus("-60")
        ))
        .bind(scope)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        match existing {
            Some(record) if !record.abandoned => return Ok(Claimed::Existing(record)),
            Some(_) => {
                sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2")
                    .bind(scope)
                    .bind(key)
                    .execute(&mut *conn)
                    .await?;
            }
            None => {}
        }
        let claimed_at: String = sqlx::query_scalar(
            "INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3) RETURNING created_at",
        )
        .bind(scope)
        .bind(key)
        .bind(request_hash)
        .fetch_one(&mut *conn)
        .await?;
        Ok::<_, sqlx::Error>(Claimed::New(IdempotencyClaim {
            scope: scope.to_owned(),
            key: key.to_owned(),
            claimed_at,
        }))
    })?;
    tx.commit().await?;
    Ok(claimed)
}

/// Stores the response of a claimed key, if the claim is still the key's.
pub async fn idempotency_store(
    db: &Db,
    claim: &IdempotencyClaim,
    status: u16,
    content_type: Option<&str>,
    location: Option<&str>,
    etag: Option<&str>,
    body: &[u8],
) -> Result<(), Error> {
    on_pool!(db, |pool, d| sqlx::query(
        "UPDATE idempotency_keys SET status = $1, content_type = $2, location = $3, etag = $4, body = $5
         WHERE scope = $6 AND key = $7 AND created_at = $8 AND status IS NULL",
    )
    .bind(i64::from(status))
    .bind(content_type)
    .bind(location)
    .bind(etag)
    .bind(body)
    .bind(&claim.scope)
    .bind(&claim.key)
    .bind(&claim.claimed_at)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets a claimed key (the request failed in a way a retry may fix), if
/// the claim is still the key's.
pub async fn idempotency_forget(db: &Db, claim: &IdempotencyClaim) -> Result<(), Error> {
    on_pool!(db, |pool, d| sqlx::query(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at = $3 AND status IS NULL"
    )
    .bind(&claim.scope)
    .bind(&claim.key)
    .bind(&claim.claimed_at)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
