//! The audit log: every change asked of the service, recorded by the edge
//! that answered it (the REST API, the pages, the CLI) once its outcome is
//! known, and read by the people it concerns.

use super::auth::{Principal, SHOWN_PREFIX_LEN};
use super::store::{self, AuditFilter, AuditScope, Db, NewAuditRecord};
use super::Error;
use crate::domain::AuditRecord;
use tokio::sync::{mpsc, oneshot};

/// The most records one page of a listing holds.
pub const MAX_PAGE: i64 = 200;

/// How a record names an API token: its first characters, never the secret.
pub fn token_credential(token: &str) -> String {
    format!("token {}", token.chars().take(SHOWN_PREFIX_LEN).collect::<String>())
}

/// The credential of a browser session.
pub const SESSION_CREDENTIAL: &str = "session";
/// The credential of an operator's command on the server (`atelier …`).
pub const CLI_CREDENTIAL: &str = "cli";
/// No credential, or one that was not accepted.
pub const NO_CREDENTIAL: &str = "none";

/// The audit log's writer: edges hand it records, and a task of its own
/// writes them in batches (one write transaction for all that arrived
/// together), so a change's answer never waits for its record, and a record
/// never fails the change it records (which is done, or refused, by then).
/// `flush` waits until everything handed over before it is written, which a
/// reader on this instance does first; a graceful shutdown does it last.
#[derive(Debug, Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<Message>,
}

#[derive(Debug)]
enum Message {
    Record(Box<NewAuditRecord>),
    Flush(oneshot::Sender<()>),
}

/// Records handed over and not yet written, at most; beyond it, edges wait.
const QUEUE: usize = 16 * 1024;
/// Records one transaction writes, at most.
const BATCH: usize = 512;
/// How long the writer gathers records before writing them, unless a
/// reader waits for them (`flush`) or a batch is full. The writer shares the
/// database's one write lock (and, on SQLite, each commit's fsync) with the
/// changes it records: a transaction every 50 ms under load instead of one
/// per handful of records leaves that lock to the changes.
const GATHER: std::time::Duration = std::time::Duration::from_millis(50);
/// Tries of a batch the database refuses (busy, unreachable) before it is dropped.
const TRIES: u32 = 8;

impl AuditLog {
    /// Starts the writer on `db`.
    pub fn start(db: Db) -> Self {
        let (queue, incoming) = mpsc::channel(QUEUE);
        tokio::spawn(write_forever(db, incoming));
        Self { queue }
    }

    /// Hands a record over to be written, stamped with the time now.
    pub async fn record(&self, mut record: NewAuditRecord) {
        record.at.get_or_insert_with(now);
        if self.queue.send(Message::Record(Box::new(record))).await.is_err() {
            tracing::error!("the audit log's writer has stopped: a record is lost");
        }
    }

    /// Waits until every record handed over before this call is written.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

/// The time now, as a record stores it.
pub fn now() -> String {
    crate::domain::time::format_utc_millis(super::usage::now_millis())
}

async fn write_forever(db: Db, mut incoming: mpsc::Receiver<Message>) {
    let mut batch = Vec::new();
    let mut flushed = Vec::new();
    while let Some(first) = incoming.recv().await {
        // Gather what comes within GATHER, unless a reader waits or the batch is full.
        let until = tokio::time::Instant::now() + GATHER;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Record(record) => batch.push(*record),
                Message::Flush(done) => flushed.push(done),
            }
            if batch.len() < BATCH && flushed.is_empty() {
                next = tokio::time::timeout_at(until, incoming.recv()).await.ok().flatten();
            }
        }
        if !batch.is_empty() {
            write_batch(&db, &batch).await;
            batch.clear();
        }
        for done in flushed.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Writes a batch in one transaction, trying again while the database
/// cannot take it; what it never takes is logged, record by record.
async fn write_batch(db: &Db, batch: &[NewAuditRecord]) {
    let mut wait = std::time::Duration::from_millis(100);
    for attempt in 1..=TRIES {
        match try_write(db, batch).await {
            Ok(()) => return,
            Err(e) if attempt < TRIES => {
                tracing::warn!(error = %e, records = batch.len(), attempt, "audit records not written yet");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(5));
            }
            Err(e) => {
                for record in batch {
                    tracing::error!(error = %e, ?record, "an audit record is lost");
                }
            }
        }
    }
}

async fn try_write(db: &Db, batch: &[NewAuditRecord]) -> Result<(), Error> {
    let mut tx = store::begin_append(db).await?;
    store::insert_audit_records(&mut tx, batch).await?;
    tx.commit().await?;
    Ok(())
}

/// Writes one record at once, for a command that ends right after (the CLI).
pub async fn record_now(db: &Db, mut record: NewAuditRecord) {
    record.at.get_or_insert_with(now);
    write_batch(db, std::slice::from_ref(&record)).await;
}

/// Whose records the caller reads: an instance admin everyone's; anyone else
/// their own and their projects' where they are an admin or owner; a
/// project-limited token only within its project.
pub async fn scope(db: &Db, caller: &Principal) -> Result<AuditScope, Error> {
    if let Some(project_id) = caller.project {
        return Ok(AuditScope::Project { user_id: caller.user.id, project_id });
    }
    if store::is_admin(db, caller.user.id).await? {
        return Ok(AuditScope::All);
    }
    Ok(AuditScope::Reader { user_id: caller.user.id })
}

/// A page of the records the caller may read, newest first, and the id to
/// page on from when there are more.
pub async fn list(
    db: &Db,
    caller: &Principal,
    filter: &AuditFilter,
    limit: i64,
) -> Result<(Vec<AuditRecord>, Option<i64>), Error> {
    let scope = scope(db, caller).await?;
    let limit = limit.clamp(1, MAX_PAGE);
    let mut records = store::list_audit(db, scope, filter, limit + 1).await?;
    let next = if records.len() as i64 > limit {
        records.truncate(limit as usize);
        records.last().map(|r| r.id)
    } else {
        None
    };
    Ok((records, next))
}

/// The account holding workstation `id` (a deleted one's too), for a
/// record, and whether it is a project's.
pub async fn workstation_account(db: &Db, id: &str) -> Result<Option<(i64, bool)>, Error> {
    store::workstation_account_id(db, id).await
}

/// The id of the project `reference` names, for a record or a filter.
pub async fn project_id(db: &Db, reference: &crate::domain::ProjectRef) -> Result<Option<i64>, Error> {
    store::project_id_of(db, reference).await
}

/// Trims records older than `days` (0: keeps them all) now and every hour.
pub async fn trim_forever(db: Db, days: u32) {
    if days == 0 {
        return;
    }
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        match store::trim_audit(&db, days).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, days, "trimmed the audit log"),
            Err(e) => tracing::warn!(error = %e, "could not trim the audit log"),
        }
    }
}
