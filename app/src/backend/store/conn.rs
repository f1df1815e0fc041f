//! The connection: SQLite (embedded, one instance) or PostgreSQL (several
//! instances sharing it). [`Db`] and [`Tx`] are the one interface the store
//! reads and writes through; each backend has its own migrations. What
//! differs between the backends in how they connect, lock and fail is here;
//! what differs in their SQL is in [`super::dialect`].

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};

use super::dialect::Dialect;
use super::readers::Readers;

/// SQLite's embedded, numbered migrations.
pub static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
/// PostgreSQL's embedded, numbered migrations.
pub static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// The process's one pool, on either backend.
#[derive(Clone, Debug)]
pub enum Db {
    /// The pool, and the connections for short reads on the calling thread.
    Sqlite(SqlitePool, Readers),
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

/// A pooled connection idle for this long is tested before it is handed out.
const TESTED_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Pool options that test a connection before handing it out only when it
/// sat idle for [`TESTED_AFTER_IDLE`] (the database may have restarted
/// meanwhile). sqlx tests every connection when it comes back to the pool;
/// testing it again when taken a moment later is one more round trip for
/// every transaction, which the one create writer pays between batches.
///
/// A connection that still counts itself inside a transaction is closed
/// instead of handed out: SQLite ends a transaction by itself when a write
/// finds the disk full, so the ROLLBACK sqlx sends after it fails ("no
/// transaction is active") and sqlx keeps counting the transaction as open.
/// Every later BEGIN IMMEDIATE on that connection would be refused.
fn tested_when_idle<DB: sqlx::Database>(options: PoolOptions<DB>) -> PoolOptions<DB> {
    options.test_before_acquire(false).before_acquire(|conn, meta| {
        Box::pin(async move {
            if sqlx::Connection::is_in_transaction(conn) {
                tracing::warn!("a pooled connection was left inside a transaction; it is closed");
                return Ok(false);
            }
            if meta.idle_for >= TESTED_AFTER_IDLE {
                sqlx::Connection::ping(conn).await?;
            }
            Ok(true)
        })
    })
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
                .busy_timeout(Duration::from_secs(5))
                // Statement journals (kept while an insert with triggers
                // runs) in memory, not spilled to temporary files; the
                // queries' sorts and temporary tables too (every list is read
                // in index order, a page at a time).
                .pragma("temp_store", "memory");
            if let Some(parent) = options.get_filename().parent() {
                if !parent.as_os_str().is_empty() {
                    tokio::fs::create_dir_all(parent).await.map_err(sqlx::Error::Io)?;
                }
            }
            let file = options.get_filename().to_owned();
            let pool =
                tested_when_idle(SqlitePoolOptions::new()).max_connections(8).connect_with(options).await?;
            SQLITE_MIGRATOR.run(&pool).await?;
            let readers = Readers::new(&file);
            Ok(Db::Sqlite(pool, readers))
        }
        Backend::Postgres => {
            // A write waiting for the write lock gives up as SQLite's busy
            // timeout does, and is answered 503.
            let options = PgConnectOptions::from_str(url)?
                .application_name("atelier")
                .options([("lock_timeout", "5s")]);
            let pool = tested_when_idle(PgPoolOptions::new())
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
            Self::Sqlite(..) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The SQL of this database's backend.
    pub fn dialect(&self) -> &'static Dialect {
        match self {
            Self::Sqlite(..) => &super::dialect::SQLITE,
            Self::Postgres(_) => &super::dialect::POSTGRES,
        }
    }

    /// The migrations of this database's backend.
    pub fn migrator(&self) -> &'static Migrator {
        match self {
            Self::Sqlite(..) => &SQLITE_MIGRATOR,
            Self::Postgres(_) => &POSTGRES_MIGRATOR,
        }
    }

    /// The SQLite pool, when this is SQLite (for what only SQLite has, such
    /// as its WAL checkpoint).
    pub fn as_sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Self::Sqlite(pool, _) => Some(pool),
            Self::Postgres(_) => None,
        }
    }

    /// Connections open now, and how many of them are idle.
    pub fn connections(&self) -> (u32, usize) {
        match self {
            Self::Sqlite(pool, _) => (pool.size(), pool.num_idle()),
            Self::Postgres(pool) => (pool.size(), pool.num_idle()),
        }
    }

    /// The most connections the pool opens.
    pub fn max_connections(&self) -> u32 {
        match self {
            Self::Sqlite(pool, _) => pool.options().get_max_connections(),
            Self::Postgres(pool) => pool.options().get_max_connections(),
        }
    }

    /// Whether several instances may share the database (PostgreSQL): then
    /// events, rate limits and job leases are shared through it. SQLite has
    /// one instance, which keeps them to itself.
    pub fn shared(&self) -> bool {
        self.backend() == Backend::Postgres
    }

    /// A connection that receives the notifications sent on `channel`
    /// (PostgreSQL's `LISTEN`); SQLite has none.
    pub async fn listen(&self, channel: &str) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
        match self {
            Self::Sqlite(..) => Err(sqlx::Error::Configuration("SQLite sends no notifications".into())),
            Self::Postgres(pool) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen(channel).await?;
                Ok(listener)
            }
        }
    }

    /// Folds SQLite's write-ahead log into the database file, so a stopped
    /// server leaves one complete file (PostgreSQL needs nothing).
    pub async fn checkpoint(&self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(pool, _) => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await.map(drop)
            }
            Self::Postgres(_) => Ok(()),
        }
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool, readers) => {
                readers.close();
                pool.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }

    /// The rows of a short read (`sql`, in SQLite's SQL, with `params`), read
    /// on the calling thread, each made by `row`; `None` when it is to be read
    /// through the pool instead: always on PostgreSQL, and on SQLite when the
    /// read ran past its budget or failed (see [`Readers`]).
    pub fn read_here<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Vec<T>> {
        match self {
            Self::Sqlite(_, readers) => readers.read(sql, params, row),
            Self::Postgres(_) => None,
        }
    }

    /// How many short reads were answered on the calling thread, and how
    /// many went through the pool (SQLite; none on PostgreSQL).
    pub fn reads_here(&self) -> (u64, u64) {
        match self {
            Self::Sqlite(_, readers) => readers.counts(),
            Self::Postgres(_) => (0, 0),
        }
    }

    /// Runs statements as they are, unprepared (for tests and maintenance).
    pub async fn execute_script(&self, sql: &str) -> Result<(), sqlx::Error> {
        use sqlx::Executor;
        match self {
            Self::Sqlite(pool, _) => pool.execute(sql).await.map(drop),
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

/// The lock every write transaction on PostgreSQL takes first (an advisory
/// lock, released at commit or rollback).
pub const WRITE_LOCK: i64 = 0x0061_7465_6c69_6572; // "atelier"

/// The lock the audit log's writers take on PostgreSQL instead of
/// [`WRITE_LOCK`] (see [`begin_append`]).
pub const AUDIT_LOCK: i64 = 0x0061_7564_6974; // "audit"

/// Starts a transaction that will write. Write transactions run one at a
/// time, on every instance, as on SQLite: a check and the write after it see
/// the same data, and events commit in the order of their ids (so a reader
/// catching up by id never skips one committed later with a smaller id).
/// SQLite's `BEGIN IMMEDIATE` takes its write lock up front (waiting out the
/// busy timeout), so a transaction that reads before it writes is never
/// refused at its first write; PostgreSQL takes [`WRITE_LOCK`].
///
/// `BEGIN` runs in a task of its own: sqlx 0.8 can hand a connection back to
/// the pool still inside a transaction (holding the write lock) when `begin`
/// is dropped half-way, as happens when a client hangs up mid-request. Run to
/// its end, the transaction is either returned or rolled back when dropped.
pub async fn begin_write(db: &Db) -> Result<Tx, sqlx::Error> {
    begin_to_the_end(db, Some(WRITE_LOCK)).await
}

/// Starts a transaction that only appends to the audit log. Such
/// transactions run one at a time, on every instance, so records commit in
/// the order of their ids (a reader paging back by id never skips one
/// committed later with a smaller id), but on PostgreSQL beside the other
/// writes: they take [`AUDIT_LOCK`], not [`WRITE_LOCK`], since a record
/// checks nothing and no check reads records. On SQLite, as [`begin_write`]
/// (one writer at a time is all SQLite has).
pub async fn begin_append(db: &Db) -> Result<Tx, sqlx::Error> {
    begin_to_the_end(db, Some(AUDIT_LOCK)).await
}

/// Starts a transaction that only reads (several reads that see one state).
pub async fn begin_read(db: &Db) -> Result<Tx, sqlx::Error> {
    begin_to_the_end(db, None).await
}

/// Begins a transaction in a task of its own (see [`begin_write`]), taking
/// `lock` first when it will write.
async fn begin_to_the_end(db: &Db, lock: Option<i64>) -> Result<Tx, sqlx::Error> {
    let db = db.clone();
    tokio::spawn(async move {
        match (db, lock) {
            (Db::Sqlite(pool, _), Some(_)) => Ok(Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?)),
            (Db::Sqlite(pool, _), None) => Ok(Tx::Sqlite(pool.begin().await?)),
            // The lock is taken in BEGIN's own round trip: one simple query
            // whose lock, taken first in its implicit transaction, BEGIN then
            // makes part of the transaction it opens. Should the lock time
            // out, nothing was begun and the connection goes back to the pool
            // clean (with the lock after BEGIN, it would go back inside a
            // failed transaction).
            (Db::Postgres(pool), Some(lock)) => Ok(Tx::Postgres(
                pool.begin_with(format!("SELECT pg_advisory_xact_lock({lock}); BEGIN")).await?,
            )),
            (Db::Postgres(pool), None) => Ok(Tx::Postgres(pool.begin().await?)),
        }
    })
    .await
    .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
}

/// Runs `$body` with `$pool` bound to the backend's pool and `$d` to its
/// [`Dialect`]: the body compiles once per backend.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, |$pool:ident, $d:ident| $body:expr) => {
        match $db {
            $crate::backend::store::Db::Sqlite($pool, _) => {
                #[allow(unused_variables)]
                let $d = &$crate::backend::store::dialect::SQLITE;
                $body
            }
            $crate::backend::store::Db::Postgres($pool) => {
                #[allow(unused_variables)]
                let $d = &$crate::backend::store::dialect::POSTGRES;
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
            $crate::backend::store::Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                #[allow(unused_variables)]
                let $d = &$crate::backend::store::dialect::SQLITE;
                $body
            }
            $crate::backend::store::Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                #[allow(unused_variables)]
                let $d = &$crate::backend::store::dialect::POSTGRES;
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
