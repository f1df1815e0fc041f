//! SQLite reads on the thread that asks.
//!
//! sqlx's SQLite driver runs each connection on a thread of its own, and
//! hands every statement to that thread and its result back: two thread
//! switches a statement, which on a busy two-core machine were the largest
//! single part of a list request's time (the scheduler, about a sixth of
//! its profile). A short read, such as a page of a list taken in index
//! order, costs less than those switches, so it runs where it is asked for,
//! on one of a few connections kept for it ([`Readers`]).
//!
//! Such a read must stay short: it holds the async runtime's thread while it
//! runs. SQLite's progress handler stops one that has run longer than its
//! budget ([`READ_BUDGET`]), and a read that is stopped, finds the database
//! busy or fails in any way is not answered here: the caller runs it again
//! through the pool, on a connection thread, where a long read holds up
//! nobody and a failure is reported as every other statement's is.
//!
//! The connections only read (`query_only`), in WAL mode, so they never wait
//! for the writer, and each statement sees every write committed before it
//! began.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, Params, Row};

/// How long a read may hold the calling thread before it is stopped and run
/// through the pool instead. A page of a list takes well under a tenth of it.
pub const READ_BUDGET: Duration = Duration::from_millis(2);

/// How often (in SQLite VM steps) a running read checks its budget.
const STEPS_BETWEEN_CHECKS: i32 = 1_000;

/// The most connections kept idle. More than one is in use only while reads
/// run on several threads at once; none of them waits.
const MOST_IDLE: usize = 8;

/// Read-only connections to one SQLite database file, for reads on the
/// calling thread. Cloning shares them.
#[derive(Clone, Debug)]
pub struct Readers {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The database file; `None` for a database that is not a file (an
    /// in-memory one), whose reads all go through the pool.
    path: Option<PathBuf>,
    budget: Duration,
    idle: Mutex<Vec<Connection>>,
    /// Reads answered here, and reads left to the pool.
    answered: AtomicU64,
    passed: AtomicU64,
}

impl Readers {
    /// Readers of the database file at `path`, if it is one on disk.
    pub fn new(path: &Path) -> Self {
        Self::with_budget(path, READ_BUDGET)
    }

    /// Readers whose reads are stopped after `budget`.
    fn with_budget(path: &Path, budget: Duration) -> Self {
        Self::of(path.is_file().then(|| path.to_owned()), budget)
    }

    /// Readers that leave every read to the pool.
    pub fn none() -> Self {
        Self::of(None, READ_BUDGET)
    }

    fn of(path: Option<PathBuf>, budget: Duration) -> Self {
        let inner = Inner {
            path,
            budget,
            idle: Mutex::new(Vec::new()),
            answered: AtomicU64::new(0),
            passed: AtomicU64::new(0),
        };
        Self { inner: Arc::new(inner) }
    }

    /// How many reads were answered here, and how many were left to the pool.
    pub fn counts(&self) -> (u64, u64) {
        (self.inner.answered.load(Ordering::Relaxed), self.inner.passed.load(Ordering::Relaxed))
    }

    /// The rows of `sql` with `params`, each made by `row`, read on this
    /// thread; `None` when the read has to go through the pool instead (it
    /// ran past its budget, the database was busy, or anything failed).
    pub fn read<T>(
        &self,
        sql: &str,
        params: impl Params,
        row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Vec<T>> {
        let rows = self.try_read(sql, params, row);
        let counter = if rows.is_some() { &self.inner.answered } else { &self.inner.passed };
        counter.fetch_add(1, Ordering::Relaxed);
        rows
    }

    fn try_read<T>(
        &self,
        sql: &str,
        params: impl Params,
        row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Vec<T>> {
        let path = self.inner.path.as_deref()?;
        let idle = self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => match open(path) {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "a read connection could not be opened; reads go through the pool");
                    return None;
                }
            },
        };
        let started = Instant::now();
        let budget = self.inner.budget;
        conn.progress_handler(STEPS_BETWEEN_CHECKS, Some(move || started.elapsed() > budget));
        let rows = read_rows(&conn, sql, params, row);
        conn.progress_handler(0, None::<fn() -> bool>);
        match rows {
            Ok(rows) => {
                let mut idle = self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner);
                if idle.len() < MOST_IDLE {
                    idle.push(conn);
                }
                Some(rows)
            }
            Err(e) => {
                // Stopped or busy is expected now and then; anything else is
                // worth a look, and the connection is not kept.
                let expected = matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::OperationInterrupted | rusqlite::ErrorCode::DatabaseBusy)
                );
                if expected {
                    self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner).push(conn);
                } else {
                    tracing::warn!(error = %e, "a read on the calling thread failed; it runs through the pool");
                }
                None
            }
        }
    }

    /// Closes the idle connections (the server is stopping).
    pub fn close(&self) {
        self.inner.idle.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA temp_store = MEMORY;")?;
    Ok(conn)
}

fn read_rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    mut row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(row(r)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(rows: i64) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE t (n INTEGER PRIMARY KEY);
             WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000)
             INSERT INTO t SELECT n FROM c;",
        )
        .unwrap();
        conn.execute("DELETE FROM t WHERE n > ?1", [rows]).unwrap();
        (dir, path)
    }

    #[test]
    fn a_short_read_is_answered_here_and_sees_later_writes() {
        let (_dir, path) = database(10);
        let readers = Readers::new(&path);
        let read = || readers.read("SELECT n FROM t ORDER BY n DESC LIMIT 3", [], |r| r.get::<_, i64>(0));
        assert_eq!(read(), Some(vec![10, 9, 8]));
        Connection::open(&path).unwrap().execute("INSERT INTO t VALUES (11)", []).unwrap();
        assert_eq!(read(), Some(vec![11, 10, 9]), "the kept connection sees the new commit");
        assert_eq!(readers.counts(), (2, 0));
    }

    #[test]
    fn a_read_past_its_budget_is_left_to_the_pool() {
        let (_dir, path) = database(1_000_000);
        let sum = "SELECT sum(n * n % 7) FROM t";
        let hasty = Readers::with_budget(&path, Duration::ZERO);
        assert_eq!(hasty.read(sum, [], |r| r.get::<_, i64>(0)), None);
        assert_eq!(hasty.counts(), (0, 1));
        // With room, the same read is answered.
        let readers = Readers::with_budget(&path, Duration::from_secs(60));
        assert!(readers.read(sum, [], |r| r.get::<_, i64>(0)).is_some());
    }

    #[test]
    fn a_failing_read_or_no_file_is_left_to_the_pool() {
        let (_dir, path) = database(1);
        let readers = Readers::new(&path);
        assert_eq!(readers.read("SELECT nothing FROM t", [], |r| r.get::<_, i64>(0)), None);
        assert_eq!(
            readers.read("INSERT INTO t VALUES (2) RETURNING n", [], |r| r.get::<_, i64>(0)),
            None,
            "only reads"
        );
        assert_eq!(readers.read("SELECT n FROM t", [], |r| r.get::<_, i64>(0)), Some(vec![1]));
        assert_eq!(readers.counts(), (1, 2));
        let in_memory = Readers::new(Path::new("file:sqlx-in-memory-1"));
        assert_eq!(in_memory.read("SELECT 1", [], |r| r.get::<_, i64>(0)), None);
        assert_eq!(Readers::none().read("SELECT 1", [], |r| r.get::<_, i64>(0)), None);
    }
}
