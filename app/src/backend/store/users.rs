//! The `users` table: accounts (users', and projects' in `projects.rs`).

use sqlx::FromRow;

use super::{is_unique_violation, Db};
use crate::backend::Error;
use crate::domain::FieldError;
use crate::on_pool;

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
}

/// Creates a user; a taken name is a conflict.
pub async fn create_user(db: &Db, name: &str) -> Result<User, Error> {
    create_user_as(db, name, false).await
}

/// Creates a user, an admin of the instance if `admin`, in one statement.
pub async fn create_user_as(db: &Db, name: &str, admin: bool) -> Result<User, Error> {
    on_pool!(db, |pool, d| sqlx::query_as::<_, User>(
        "INSERT INTO users (name, admin) VALUES ($1, $2) RETURNING id, name"
    )
    .bind(name)
    .bind(admin)
    .fetch_one(pool)
    .await)
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(FieldError::new(
                "#/name",
                format!("the name {name:?} is taken by a user or a project"),
            ))
        } else {
            e.into()
        }
    })
}

/// The user with this name.
pub async fn find_user(db: &Db, name: &str) -> Result<Option<User>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, User>(
        "SELECT id, name FROM users WHERE name = $1 AND kind = 'user'"
    )
    .bind(name)
    .fetch_optional(pool)
    .await)?)
}

/// The name of the user with this id.
pub async fn user_name(db: &Db, user_id: i64) -> Result<Option<String>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, String>("SELECT name FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await)?)
}

/// Removes a user with everything they own (but their workstations' history).
pub async fn delete_user(db: &Db, user_id: i64) -> Result<(), Error> {
    on_pool!(db, |pool, d| sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    crate::backend::credentials::changed();
    Ok(())
}

/// How many users exist.
pub async fn count_users(db: &Db) -> Result<i64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM users WHERE kind = 'user'"
    )
    .fetch_one(pool)
    .await)?)
}

/// Disables a user from now (kept if already disabled) or enables them
/// again; whether a user has this id.
pub async fn set_user_disabled(db: &Db, user_id: i64, disabled: bool) -> Result<bool, Error> {
    let changed = on_pool!(db, |pool, d| sqlx::query(&format!(
        "UPDATE users SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, {now}) ELSE NULL END
         WHERE id = $1 AND kind = 'user'",
        now = d.now
    ))
    .bind(user_id)
    .bind(disabled)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if disabled && changed > 0 {
        crate::backend::credentials::changed();
    }
    Ok(changed > 0)
}

/// A user as the instance's admins see them.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct UserSummary {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub admin: bool,
    pub disabled_at: Option<String>,
    /// Tokens neither revoked nor expired.
    pub live_tokens: i64,
    /// Their own limits (`None`: the server's default).
    pub cpu_cores: Option<i64>,
    pub memory_gb: Option<i64>,
    pub gpus: Option<i64>,
    pub storage_gb: Option<i64>,
}

/// Every user (not projects), by name.
pub async fn list_users(db: &Db) -> Result<Vec<UserSummary>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, UserSummary>(&format!(
        "SELECT u.id, u.name, u.created_at, u.admin, u.disabled_at,
                (SELECT COUNT(*) FROM api_tokens t
                 WHERE t.user_id = u.id AND t.revoked_at IS NULL
                   AND (t.expires_at IS NULL OR t.expires_at > {now})) AS live_tokens,
                q.cpu_cores, q.memory_gb, q.gpus, q.storage_gb
         FROM users u LEFT JOIN user_quotas q ON q.user_id = u.id
         WHERE u.kind = 'user' ORDER BY u.name",
        now = d.now
    ))
    .fetch_all(pool)
    .await)?)
}

/// Every project's name and own limits (`None`: the server's default), by name.
pub async fn list_project_quotas(db: &Db) -> Result<Vec<(String, [Option<i64>; 4])>, Error> {
    let rows = on_pool!(db, |pool, d| sqlx::query_as::<
        _,
        (String, Option<i64>, Option<i64>, Option<i64>, Option<i64>),
    >(
        "SELECT u.name, q.cpu_cores, q.memory_gb, q.gpus, q.storage_gb
         FROM users u LEFT JOIN user_quotas q ON q.user_id = u.id
         WHERE u.kind = 'project' ORDER BY u.name"
    )
    .fetch_all(pool)
    .await)?;
    Ok(rows.into_iter().map(|(name, a, b, c, e)| (name, [a, b, c, e])).collect())
}
