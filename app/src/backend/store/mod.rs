//! The store: every SQL statement of the service, one function a query,
//! returning domain types, in one file per table group. Nothing outside this
//! module writes SQL, and nothing outside [`conn`] and [`dialect`] tells the
//! backends apart (a list page's rows are also read by position for
//! [`readers`], SQLite's reads on the calling thread, which `conn` offers
//! as `Db::read_here`).
//!
//! Why the statements are built at run time (`sqlx::query` with `format!`)
//! rather than checked at compile time (`sqlx::query!`): sqlx checks a macro
//! query against the one database `DATABASE_URL` (or its `.sqlx` data) names
//! for the whole build, so a crate's queries are checked for one backend
//! only, and each statement here runs on both. Their SQL also differs where
//! the [`Dialect`] supplies a part (time, JSON lists, locking), which a macro
//! cannot take: its text must be a literal. What the macros would check is
//! checked by running every statement on both backends in the API suite
//! (`make test` runs it on SQLite and on PostgreSQL), and the two schemas are
//! compared by a test (`server/tests/api/schema.rs`).

mod assignments;
mod audit;
mod auto_stop;
mod conn;
pub mod dialect;
mod events;
mod idempotency;
mod jobs;
mod projects;
mod quotas;
mod rate_limits;
mod readers;
mod sessions;
mod sso;
mod tokens;
mod usage;
mod users;
mod workstations;

pub use assignments::*;
pub use audit::*;
pub use auto_stop::*;
pub use conn::*;
pub use dialect::Dialect;
pub use events::*;
pub use idempotency::*;
pub use jobs::*;
pub use projects::*;
pub use quotas::*;
pub use rate_limits::*;
pub use readers::Readers;
pub use sessions::*;
pub use sso::*;
pub use tokens::*;
pub use usage::*;
pub use users::*;
pub use workstations::*;

use super::Error;
use crate::on_pool;

/// A stored value that does not read back as its type: an error, never a default.
fn decode_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Database(sqlx::Error::Decode(format!("{what}: {e}").into()))
}

/// A value as a JSON text parameter (lists are read back with the dialect's
/// `json_texts`/`json_rows`).
fn json_param(value: &(impl serde::Serialize + ?Sized)) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Database(sqlx::Error::Encode(e.into())))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// Whether the database answers.
pub async fn ping(db: &Db) -> Result<(), Error> {
    on_pool!(db, |pool, d| sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT)").fetch_one(pool).await)?;
    Ok(())
}

/// The versions of the migrations applied to the database.
pub async fn applied_migrations(db: &Db) -> Result<Vec<i64>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar(
        "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version"
    )
    .fetch_all(pool)
    .await)?)
}
