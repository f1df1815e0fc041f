//! Every SQL statement of the service, one function a query, returning
//! domain types. Nothing outside this module writes SQL.

use sqlx::{FromRow, SqlitePool};

use super::Error;
use crate::domain::{pointer, Configuration, FieldError, Workstation, WorkstationSpec, WorkstationStatus};

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
}

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
}

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// Creates a user; a taken name is a conflict.
pub async fn create_user(pool: &SqlitePool, name: &str) -> Result<User, Error> {
    sqlx::query_as::<_, User>("INSERT INTO users (name) VALUES (?) RETURNING id, name")
        .bind(name)
        .fetch_one(pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::Conflict(FieldError::new(
                    "#/name",
                    format!("a user named {name:?} already exists"),
                ))
            } else {
                e.into()
            }
        })
}

/// The user with this name.
pub async fn find_user(pool: &SqlitePool, name: &str) -> Result<Option<User>, Error> {
    Ok(
        sqlx::query_as::<_, User>("SELECT id, name FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(pool)
            .await?,
    )
}

/// How many users exist.
pub async fn count_users(pool: &SqlitePool) -> Result<i64, Error> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await?)
}

/// Stores a new token's hash.
pub async fn insert_token(
    pool: &SqlitePool,
    user_id: i64,
    token_hash: &str,
    prefix: &str,
    label: Option<&str>,
) -> Result<(), Error> {
    sqlx::query("INSERT INTO api_tokens (user_id, token_hash, prefix, label) VALUES (?, ?, ?, ?)")
        .bind(user_id)
        .bind(token_hash)
        .bind(prefix)
        .bind(label)
        .execute(pool)
        .await?;
    Ok(())
}

/// The owner of a live (not revoked) token, recording its use. The use time
/// is written at most once a minute, so reads do not turn into writes.
pub async fn user_for_token(pool: &SqlitePool, token_hash: &str) -> Result<Option<User>, Error> {
    let row = sqlx::query_as::<_, (i64, String, i64, bool)>(
        "SELECT u.id, u.name, t.id,
                t.last_used_at IS NULL OR t.last_used_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-60 seconds')
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = ? AND t.revoked_at IS NULL",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    let Some((user_id, name, token_id, stale)) = row else {
        return Ok(None);
    };
    if stale {
        sqlx::query(&format!(
            "UPDATE api_tokens SET last_used_at = {NOW} WHERE id = ?"
        ))
        .bind(token_id)
        .execute(pool)
        .await?;
    }
    Ok(Some(User { id: user_id, name }))
}

/// Revokes the live tokens whose hash or prefix matches; returns how many.
pub async fn revoke_tokens(
    pool: &SqlitePool,
    token_hash: Option<&str>,
    prefix: Option<&str>,
) -> Result<u64, Error> {
    let done = sqlx::query(&format!(
        "UPDATE api_tokens SET revoked_at = {NOW}
         WHERE revoked_at IS NULL AND (token_hash = ? OR prefix = ?)"
    ))
    .bind(token_hash)
    .bind(prefix)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// All tokens, or one user's, newest first.
pub async fn list_tokens(pool: &SqlitePool, user: Option<&str>) -> Result<Vec<TokenInfo>, Error> {
    Ok(sqlx::query_as::<_, TokenInfo>(
        "SELECT t.id, t.prefix, u.name AS user_name, t.label, t.created_at, t.last_used_at, t.revoked_at
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE ?1 IS NULL OR u.name = ?1
         ORDER BY t.id DESC",
    )
    .bind(user)
    .fetch_all(pool)
    .await?)
}

/// Stores a new browser session.
pub async fn insert_session(
    pool: &SqlitePool,
    session_hash: &str,
    user_id: i64,
    ttl_seconds: i64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO sessions (session_hash, user_id, expires_at)
         VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ? || ' seconds'))",
    )
    .bind(session_hash)
    .bind(user_id)
    .bind(ttl_seconds)
    .execute(pool)
    .await?;
    Ok(())
}

/// The user of a session that has not expired.
pub async fn user_for_session(pool: &SqlitePool, session_hash: &str) -> Result<Option<User>, Error> {
    Ok(sqlx::query_as::<_, User>(&format!(
        "SELECT u.id, u.name FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.session_hash = ? AND s.expires_at > {NOW}"
    ))
    .bind(session_hash)
    .fetch_optional(pool)
    .await?)
}

/// Ends a session.
pub async fn delete_session(pool: &SqlitePool, session_hash: &str) -> Result<(), Error> {
    sqlx::query(
        "DELETE FROM sessions WHERE session_hash = ? OR expires_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    )
    .bind(session_hash)
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct WorkstationRow {
    id: String,
    name: String,
    status: String,
    cpu_cores: i64,
    memory_gb: i64,
    gpu: String,
    storage_gb: i64,
    region: String,
}

impl TryFrom<WorkstationRow> for Workstation {
    type Error = Error;

    fn try_from(row: WorkstationRow) -> Result<Self, Error> {
        let decode = |field: &str, e: String| {
            Error::Database(sqlx::Error::Decode(format!("workstations.{field}: {e}").into()))
        };
        let count = |field: &str, v: i64| u32::try_from(v).map_err(|e| decode(field, e.to_string()));
        Ok(Workstation {
            status: row
                .status
                .parse::<WorkstationStatus>()
                .map_err(|e| decode("status", e))?,
            configuration: Configuration {
                cpu_cores: count("cpu_cores", row.cpu_cores)?,
                memory_gb: count("memory_gb", row.memory_gb)?,
                gpu: row.gpu,
                storage_gb: count("storage_gb", row.storage_gb)?,
                region: row.region,
            },
            id: row.id,
            name: row.name,
        })
    }
}

const WORKSTATION_COLUMNS: &str = "id, name, status, cpu_cores, memory_gb, gpu, storage_gb, region";

/// Stores a new workstation. A name the owner already uses is a conflict on
/// `#/name`: the only unique key a client's input can hit here is
/// `workstations_owner_name` (SQLite reports no constraint names).
pub async fn insert_workstation(
    pool: &SqlitePool,
    owner_id: i64,
    id: &str,
    spec: &WorkstationSpec,
    status: WorkstationStatus,
) -> Result<Workstation, Error> {
    let c = &spec.configuration;
    let row = sqlx::query_as::<_, WorkstationRow>(&format!(
        "INSERT INTO workstations (id, owner_id, name, cpu_cores, memory_gb, gpu, storage_gb, region, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         RETURNING {WORKSTATION_COLUMNS}"
    ))
    .bind(id)
    .bind(owner_id)
    .bind(spec.name.as_str())
    .bind(c.cpu_cores.get())
    .bind(c.memory_gb.get())
    .bind(c.gpu.as_str())
    .bind(c.storage_gb.get())
    .bind(c.region.as_str())
    .bind(status.as_str())
    .fetch_one(pool)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(FieldError::new(
                pointer::NAME,
                format!("you already have a workstation named {:?}", spec.name.as_str()),
            ))
        } else {
            Error::Database(e)
        }
    })?;
    row.try_into()
}

/// One of the owner's workstations.
pub async fn get_workstation(
    pool: &SqlitePool,
    owner_id: i64,
    id: &str,
) -> Result<Option<Workstation>, Error> {
    sqlx::query_as::<_, WorkstationRow>(&format!(
        "SELECT {WORKSTATION_COLUMNS} FROM workstations WHERE owner_id = ? AND id = ?"
    ))
    .bind(owner_id)
    .bind(id)
    .fetch_optional(pool)
    .await?
    .map(Workstation::try_from)
    .transpose()
}

/// The owner's workstations, newest first.
pub async fn list_workstations(pool: &SqlitePool, owner_id: i64) -> Result<Vec<Workstation>, Error> {
    sqlx::query_as::<_, WorkstationRow>(&format!(
        "SELECT {WORKSTATION_COLUMNS} FROM workstations WHERE owner_id = ? ORDER BY seq DESC"
    ))
    .bind(owner_id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(Workstation::try_from)
    .collect()
}

/// How many workstations exist in all (used by tests to prove nothing was stored).
pub async fn count_workstations(pool: &SqlitePool) -> Result<i64, Error> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM workstations")
        .fetch_one(pool)
        .await?)
}
