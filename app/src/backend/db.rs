//! The database: SQLite (embedded, one instance) or PostgreSQL (several
//! instances sharing it). [`Db`] and [`Tx`] are the one interface the
//! repository reads and writes through; each backend has its own migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};

/// SQLite's embedded, numbered migrations.
pub static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
/// PostgreSQL's embedded, numbered migrations.
pub static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// The process's one pool, on either backend.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A transaction on either backend.
#[derive(Debug)]
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://` or `postgresql://` is PostgreSQL; anything else is SQLite.
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

/// The database URL with any password replaced by `***`, for messages and logs.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_owned() };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// Opens (creating if needed) the database at `url`, applies its backend's
/// migrations, and returns the process's one pool.
///
/// SQLite runs in WAL mode with `synchronous=FULL`: a committed write is on
/// disk before anyone is told it succeeded (PostgreSQL's default already is).
pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
    match Backend::of_url(url) {
        Backend::Sqlite => {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            if let Some(parent) = options.get_filename().parent() {
                if !parent.as_os_str().is_empty() {
                    tokio::fs::create_dir_all(parent).await.map_err(sqlx::Error::Io)?;
                }
            }
            let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
            SQLITE_MIGRATOR.run(&pool).await?;
            Ok(Db::Sqlite(pool))
        }
        Backend::Postgres => {
            // A write waiting for the write lock gives up as SQLite's busy
            // timeout does, and is answered 503.
            let options = PgConnectOptions::from_str(url)?
                .application_name("atelier")
                .options([("lock_timeout", "5s")]);
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await?;
            // Instances starting together migrate one at a time (sqlx takes
            // an advisory lock for it).
            POSTGRES_MIGRATOR.run(&pool).await?;
            Ok(Db::Postgres(pool))
        }
    }
}

impl Db {
    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The migrations of this database's backend.
    pub fn migrator(&self) -> &'static Migrator {
        match self {
            Self::Sqlite(_) => &SQLITE_MIGRATOR,
            Self::Postgres(_) => &POSTGRES_MIGRATOR,
        }
    }

    /// The SQLite pool, when this is SQLite (for what only SQLite has, such
    /// as its WAL checkpoint).
    pub fn as_sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Self::Sqlite(pool) => Some(pool),
            Self::Postgres(_) => None,
        }
    }

    /// Connections open now, and how many of them are idle.
    pub fn connections(&self) -> (u32, usize) {
        match self {
            Self::Sqlite(pool) => (pool.size(), pool.num_idle()),
            Self::Postgres(pool) => (pool.size(), pool.num_idle()),
        }
    }

    /// The most connections the pool opens.
    pub fn max_connections(&self) -> u32 {
        match self {
            Self::Sqlite(pool) => pool.options().get_max_connections(),
            Self::Postgres(pool) => pool.options().get_max_connections(),
        }
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }

    /// Runs statements as they are, unprepared (for tests and maintenance).
    pub async fn execute_script(&self, sql: &str) -> Result<(), sqlx::Error> {
        use sqlx::Executor;
        match self {
            Self::Sqlite(pool) => pool.execute(sql).await.map(drop),
            Self::Postgres(pool) => pool.execute(sql).await.map(drop),
        }
    }
}

impl Tx {
    /// Makes the transaction's writes durable and visible.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Postgres(tx) => tx.commit().await,
        }
    }

    /// Undoes the transaction's writes.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.rollback().await,
            Self::Postgres(tx) => tx.rollback().await,
        }
    }
}

/// The SQL that differs between the backends.
#[derive(Debug)]
pub struct Dialect {
    /// The current time as stored (UTC RFC 3339 text with milliseconds).
    pub now: &'static str,
    /// The same, `secs` (an SQL expression) seconds from now.
    now_plus: fn(&str) -> String,
    /// The text values of a JSON array parameter, as a subquery of one column, `value`.
    json_texts: fn(&str) -> String,
    /// The elements of a JSON array parameter as rows `(value, key)`, for a FROM clause.
    json_rows: fn(&str) -> String,
    /// Whether a column's value is one of a JSON array parameter's texts.
    in_json_texts: fn(&str, &str) -> String,
}

impl Dialect {
    /// The current time `secs` (an SQL expression, may be negative) seconds from now.
    pub fn now_plus(&self, secs: &str) -> String {
        (self.now_plus)(secs)
    }

    /// `SELECT` of the text elements of the JSON array in `param`.
    pub fn json_texts(&self, param: &str) -> String {
        (self.json_texts)(param)
    }

    /// FROM-clause rows `(value, key)` of the JSON array in `param`, `key` its position.
    pub fn json_rows(&self, param: &str) -> String {
        (self.json_rows)(param)
    }

    /// A condition: `column` is one of the texts of the JSON array in
    /// `param`, looked up in an index on `column` however large the table.
    pub fn in_json_texts(&self, column: &str, param: &str) -> String {
        (self.in_json_texts)(column, param)
    }
}

/// SQLite's SQL.
pub static SQLITE: Dialect = Dialect {
    now: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    now_plus: |secs| format!("strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ({secs}) || ' seconds')"),
    json_texts: |param| format!("SELECT value FROM json_each({param})"),
    json_rows: |param| format!("json_each({param})"),
    in_json_texts: |column, param| format!("{column} IN (SELECT value FROM json_each({param}))"),
};

/// PostgreSQL's SQL.
pub static POSTGRES: Dialect = Dialect {
    now: "atelier_ts(now())",
    now_plus: |secs| format!("atelier_ts(now() + make_interval(secs => ({secs})))"),
    json_texts: |param| format!("SELECT jsonb_array_elements_text(({param})::jsonb) AS value"),
    json_rows: |param| format!("jsonb_array_elements(({param})::jsonb) WITH ORDINALITY AS rows (value, key)"),
    // As an array, so the planner looks each value up in the index instead
    // of joining against every row of the table.
    in_json_texts: |column, param| {
        format!("{column} = ANY(ARRAY(SELECT jsonb_array_elements_text(({param})::jsonb)))")
    },
};

/// Runs `$body` with `$pool` bound to the backend's pool and `$d` to its
/// [`Dialect`]: the body compiles once per backend.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, |$pool:ident, $d:ident| $body:expr) => {
        match $db {
            $crate::backend::db::Db::Sqlite($pool) => {
                #[allow(unused_variables)]
                let $d = &$crate::backend::db::SQLITE;
                $body
            }
            $crate::backend::db::Db::Postgres($pool) => {
                #[allow(unused_variables)]
                let $d = &$crate::backend::db::POSTGRES;
                $body
            }
        }
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection and `$d`
/// to its [`Dialect`]: the body compiles once per backend.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$conn:ident, $d:ident| $body:expr) => {
        match $tx {
            $crate::backend::db::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                #[allow(unused_variables)]
                let $d = &$crate::backend::db::SQLITE;
                $body
            }
            $crate::backend::db::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                #[allow(unused_variables)]
                let $d = &$crate::backend::db::POSTGRES;
                $body
            }
        }
    };
}

/// Why the database cannot serve now, when the failure is one a retry can
/// get past: busy or locked, full, unreachable, or no connection free in time.
pub fn unavailable(e: &sqlx::Error) -> Option<&'static str> {
    const BUSY: &str = "the database is busy; retry in a moment";
    match e {
        sqlx::Error::PoolTimedOut => Some(BUSY),
        sqlx::Error::PoolClosed => Some("the server is shutting down; retry in a moment"),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => Some("the database cannot be reached; retry in a moment"),
        sqlx::Error::Database(db) => {
            let code = db.code()?;
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLite's primary result codes: busy (5), locked (6), full (13).
                return match code.parse::<i32>().ok()? & 0xff {
                    5 | 6 => Some(BUSY),
                    13 => Some("the server's storage is full; nothing was written"),
                    _ => None,
                };
            }
            // PostgreSQL's SQLSTATE classes: serialization failure and
            // deadlock (40), a lock not free in time (55P03), out of
            // resources (53), operator intervention such as a restart (57),
            // connection failures (08).
            match code.get(..2)? {
                "40" => Some(BUSY),
                "55" if code.as_ref() == "55P03" => Some(BUSY),
                "53" if code.as_ref() == "53100" => Some("the server's storage is full; nothing was written"),
                "53" => Some(BUSY),
                "57" | "08" => Some("the database cannot be reached; retry in a moment"),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_left_out_of_printed_urls() {
        assert_eq!(
            without_password("postgres://atelier:s3cr:et@db.example:5432/atelier"),
            "postgres://atelier:***@db.example:5432/atelier"
        );
        assert_eq!(
            without_password("postgres://atelier@127.0.0.1/atelier"),
            "postgres://atelier@127.0.0.1/atelier"
        );
        assert_eq!(without_password("sqlite://data/atelier.db"), "sqlite://data/atelier.db");
        assert_eq!(without_password("sqlite://data/a@b.db"), "sqlite://data/a@b.db");
    }

    #[test]
    fn the_url_names_the_backend() {
        assert_eq!(Backend::of_url("postgres://h/d"), Backend::Postgres);
        assert_eq!(Backend::of_url("postgresql://h/d"), Backend::Postgres);
        assert_eq!(Backend::of_url("sqlite://data/atelier.db"), Backend::Sqlite);
    }
}
