//! Every SQL statement of the service, one function a query, returning
//! domain types. Nothing outside this module writes SQL. Each function runs
//! on either backend ([`Db`], [`Tx`]); where their SQL differs, the
//! [`Dialect`](super::db::Dialect) of the backend supplies the difference.

use sqlx::FromRow;

pub use super::db::{Db, Tx};
use super::events::Published;
use super::Error;
use crate::domain::{
    pointer, Configuration, EventKind, FieldError, Workstation, WorkstationEvent, WorkstationSpec,
    WorkstationState, WorkstationStatus,
};
use crate::{on_pool, on_tx};

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
    /// `full` or `read`.
    pub scope: String,
    pub expires_at: Option<String>,
    /// Past its expiry now.
    pub expired: bool,
}

/// The lock every write transaction on PostgreSQL takes first (an advisory
/// lock, released at commit or rollback).
pub const WRITE_LOCK: i64 = 0x0061_7465_6c69_6572; // "atelier"

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
    begin_to_the_end(db, true).await
}

/// Starts a transaction that only reads (several reads that see one state).
pub async fn begin_read(db: &Db) -> Result<Tx, sqlx::Error> {
    begin_to_the_end(db, false).await
}

/// Begins a transaction in a task of its own (see [`begin_write`]).
async fn begin_to_the_end(db: &Db, write: bool) -> Result<Tx, sqlx::Error> {
    let db = db.clone();
    tokio::spawn(async move {
        match db {
            Db::Sqlite(pool) if write => Ok(Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?)),
            Db::Sqlite(pool) => Ok(Tx::Sqlite(pool.begin().await?)),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                if write {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(WRITE_LOCK)
                        .execute(&mut *tx)
                        .await?;
                }
                Ok(Tx::Postgres(tx))
            }
        }
    })
    .await
    .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
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

/// Creates a user; a taken name is a conflict.
pub async fn create_user(db: &Db, name: &str) -> Result<User, Error> {
    on_pool!(db, |pool, d| sqlx::query_as::<_, User>(
        "INSERT INTO users (name) VALUES ($1) RETURNING id, name"
    )
    .bind(name)
    .fetch_one(pool)
    .await)
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(FieldError::new("#/name", format!("a user named {name:?} already exists")))
        } else {
            e.into()
        }
    })
}

/// The user with this name.
pub async fn find_user(db: &Db, name: &str) -> Result<Option<User>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, User>("SELECT id, name FROM users WHERE name = $1")
        .bind(name)
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
    Ok(())
}

/// How many users exist.
pub async fn count_users(db: &Db) -> Result<i64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await)?)
}

/// Stores a new token's hash.
#[allow(clippy::too_many_arguments)]
pub async fn insert_token(
    db: &Db,
    user_id: i64,
    token_hash: &str,
    prefix: &str,
    label: Option<&str>,
    scope: &str,
    expires_in_secs: Option<i64>,
) -> Result<(), Error> {
    on_pool!(db, |pool, d| sqlx::query(&format!(
        "INSERT INTO api_tokens (user_id, token_hash, prefix, label, scope, expires_at)
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 IS NULL THEN NULL ELSE {expiry} END)",
        expiry = d.now_plus("$6")
    ))
    .bind(user_id)
    .bind(token_hash)
    .bind(prefix)
    .bind(label)
    .bind(scope)
    .bind(expires_in_secs)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The owner and scope of a live (not revoked, not expired) token, recording
/// its use. The use time is written at most once a minute, so reads do not
/// turn into writes.
pub async fn user_for_token(db: &Db, token_hash: &str) -> Result<Option<(User, String)>, Error> {
    let row = on_pool!(db, |pool, d| sqlx::query_as::<_, (i64, String, i64, bool, String)>(&format!(
        "SELECT u.id, u.name, t.id,
                t.last_used_at IS NULL OR t.last_used_at < {minute_ago},
                t.scope
         FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > {now})",
        minute_ago = d.now_plus("-60"),
        now = d.now
    ))
    .bind(token_hash)
    .fetch_optional(pool)
    .await)?;
    let Some((user_id, name, token_id, stale, scope)) = row else {
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
    Ok(Some((User { id: user_id, name }, scope)))
}

/// Revokes the live tokens whose hash or prefix matches; returns how many.
pub async fn revoke_tokens(db: &Db, token_hash: Option<&str>, prefix: Option<&str>) -> Result<u64, Error> {
    let done = on_pool!(db, |pool, d| sqlx::query(&format!(
        "UPDATE api_tokens SET revoked_at = {now}
         WHERE revoked_at IS NULL AND (token_hash = $1 OR prefix = $2)",
        now = d.now
    ))
    .bind(token_hash)
    .bind(prefix)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done)
}

/// All tokens, or one user's, newest first.
pub async fn list_tokens(db: &Db, user: Option<&str>) -> Result<Vec<TokenInfo>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, TokenInfo>(&format!(
        "SELECT t.id, t.prefix, u.name AS user_name, t.label, t.created_at, t.last_used_at, t.revoked_at,
                t.scope, t.expires_at, COALESCE(t.expires_at <= {now}, FALSE) AS expired
         FROM api_tokens t JOIN users u ON u.id = t.user_id
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
    Ok(())
}

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

/// The user of a session that has not expired.
pub async fn user_for_session(db: &Db, session_hash: &str) -> Result<Option<User>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, User>(&format!(
        "SELECT u.id, u.name FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.session_hash = $1 AND s.expires_at > {now}",
        now = d.now
    ))
    .bind(session_hash)
    .fetch_optional(pool)
    .await)?)
}

/// Of these token hashes, the ones still accepted (known, not revoked, not expired).
pub async fn live_token_hashes(db: &Db, hashes: &[&str]) -> Result<std::collections::HashSet<String>, Error> {
    let hashes = json_param(hashes)?;
    let live: Vec<String> = on_pool!(db, |pool, d| sqlx::query_scalar(&format!(
        "SELECT t.token_hash FROM api_tokens t JOIN users u ON u.id = t.user_id
         WHERE {listed} AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > {now})",
        listed = d.in_json_texts("t.token_hash", "$1"),
        now = d.now
    ))
    .bind(&hashes)
    .fetch_all(pool)
    .await)?;
    Ok(live.into_iter().collect())
}

/// Of these session hashes, the ones still open (not ended, not expired).
pub async fn live_session_hashes(
    db: &Db,
    hashes: &[&str],
) -> Result<std::collections::HashSet<String>, Error> {
    let hashes = json_param(hashes)?;
    let live: Vec<String> = on_pool!(db, |pool, d| sqlx::query_scalar(&format!(
        "SELECT s.session_hash FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE {listed} AND s.expires_at > {now}",
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
    Ok(())
}

#[derive(FromRow, serde::Deserialize)]
struct WorkstationRow {
    /// The position in the owner's list; read by the page query only.
    #[sqlx(default)]
    #[serde(default)]
    seq: i64,
    id: String,
    name: String,
    status: String,
    cpu_cores: i64,
    memory_gb: i64,
    gpu: String,
    storage_gb: i64,
    region: String,
    phase: Option<String>,
    progress: Option<i64>,
    status_reason: Option<String>,
    created_at: String,
    version: i64,
    pending_configuration: Option<String>,
}

impl TryFrom<WorkstationRow> for WorkstationState {
    type Error = Error;

    fn try_from(row: WorkstationRow) -> Result<Self, Error> {
        let decode = |field: &str, e: String| {
            Error::Database(sqlx::Error::Decode(format!("workstations.{field}: {e}").into()))
        };
        let count = |field: &str, v: i64| u32::try_from(v).map_err(|e| decode(field, e.to_string()));
        let workstation = Workstation {
            status: row.status.parse::<WorkstationStatus>().map_err(|e| decode("status", e))?,
            configuration: Configuration {
                cpu_cores: count("cpu_cores", row.cpu_cores)?,
                memory_gb: count("memory_gb", row.memory_gb)?,
                gpu: row.gpu,
                storage_gb: count("storage_gb", row.storage_gb)?,
                region: row.region,
            },
            id: row.id,
            name: row.name,
            phase: row.phase.clone(),
            pending_configuration: row
                .pending_configuration
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok()),
        };
        Ok(WorkstationState {
            workstation,
            phase: row.phase,
            progress: row.progress.and_then(|p| u8::try_from(p).ok()),
            reason: row.status_reason,
            created_at: row.created_at,
            version: row.version,
        })
    }
}

const WORKSTATION_COLUMNS: &str =
    "id, name, status, cpu_cores, memory_gb, gpu, storage_gb, region, phase, progress, status_reason, created_at, version, pending_configuration";

/// Stores new workstations `(id, owner, spec)` unchecked, each with its
/// provisioning job and first event, in three statements whatever their
/// number; the workstations in the order given, the events in id order.
pub async fn insert_new_workstations(
    tx: &mut Tx,
    rows: &[(&str, i64, &WorkstationSpec)],
) -> Result<(Vec<Workstation>, Vec<Published>), Error> {
    let stored = insert_workstation_rows(tx, rows).await?;
    let ids: Vec<&str> = rows.iter().map(|(id, _, _)| *id).collect();
    insert_provision_jobs(tx, &ids).await?;
    let firsts: Vec<(&str, i64)> = rows.iter().map(|(id, owner, _)| (*id, *owner)).collect();
    let events = insert_first_events(tx, &firsts).await?;
    Ok((stored, events))
}

/// The conflict of a name the owner already uses.
pub fn name_taken_error(spec: &WorkstationSpec) -> Error {
    Error::Conflict(FieldError::new(
        pointer::NAME,
        format!("you already have a workstation named {:?}", spec.name.as_str()),
    ))
}

/// Which of `names` the owner already uses.
pub async fn taken_names(
    tx: &mut Tx,
    owner_id: i64,
    names: &[&str],
) -> Result<std::collections::HashSet<String>, Error> {
    let names = json_param(names)?;
    let taken: Vec<String> = on_tx!(tx, |conn, d| sqlx::query_scalar(&format!(
        "SELECT name FROM workstations WHERE owner_id = $1 AND {names}",
        names = d.in_json_texts("name", "$2")
    ))
    .bind(owner_id)
    .bind(&names)
    .fetch_all(&mut *conn)
    .await)?;
    Ok(taken.into_iter().collect())
}

/// The phase and message a new workstation starts with.
const FIRST_PHASE: &str = "queued";
const FIRST_MESSAGE: &str = "Queued for provisioning";

/// Inserts new workstations `(id, owner, spec)` as `provisioning`, queued,
/// in one statement and in the order given (their list positions follow it).
/// Returns them in that order.
async fn insert_workstation_rows(
    tx: &mut Tx,
    rows: &[(&str, i64, &WorkstationSpec)],
) -> Result<Vec<Workstation>, Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let input = serde_json::Value::Array(
        rows.iter()
            .map(|(id, owner_id, spec)| {
                let c = &spec.configuration;
                serde_json::json!([
                    id,
                    owner_id,
                    spec.name.as_str(),
                    c.cpu_cores.get(),
                    c.memory_gb.get(),
                    c.gpu.as_str(),
                    c.storage_gb.get(),
                    c.region.as_str()
                ])
            })
            .collect(),
    )
    .to_string();
    let stored = on_tx!(tx, |conn, d| sqlx::query_as::<_, WorkstationRow>(&format!(
        "INSERT INTO workstations
            (id, owner_id, name, cpu_cores, memory_gb, gpu, storage_gb, region, status, phase, progress)
         SELECT value->>0, CAST(value->>1 AS BIGINT), value->>2, CAST(value->>3 AS BIGINT),
                CAST(value->>4 AS BIGINT), value->>5, CAST(value->>6 AS BIGINT), value->>7,
                'provisioning', '{FIRST_PHASE}', 0
         FROM {rows} ORDER BY key
         RETURNING {WORKSTATION_COLUMNS}",
        rows = d.json_rows("$1")
    ))
    .bind(&input)
    .fetch_all(&mut *conn)
    .await)?;
    // RETURNING gives rows in no promised order.
    let mut by_id: std::collections::HashMap<String, Workstation> = stored
        .into_iter()
        .map(|row| {
            let mut ws = WorkstationState::try_from(row)?.workstation;
            // The create response keeps exactly the contract's shape.
            ws.phase = None;
            Ok((ws.id.clone(), ws))
        })
        .collect::<Result<_, Error>>()?;
    rows.iter()
        .map(|(id, _, _)| by_id.remove(*id).ok_or_else(|| Error::Database(sqlx::Error::RowNotFound)))
        .collect()
}

/// Queues the provisioning job of each new workstation, in one statement.
async fn insert_provision_jobs(tx: &mut Tx, workstation_ids: &[&str]) -> Result<(), Error> {
    if workstation_ids.is_empty() {
        return Ok(());
    }
    let ids = json_param(workstation_ids)?;
    on_tx!(tx, |conn, d| sqlx::query(&format!(
        "INSERT INTO jobs (workstation_id, state) SELECT value, 'queued' FROM ({list}) AS ids",
        list = d.json_texts("$1")
    ))
    .bind(&ids)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records the first event (`provisioning`, queued) of each new workstation
/// `(id, owner)`, in one statement; the events come back in id order.
async fn insert_first_events(tx: &mut Tx, workstations: &[(&str, i64)]) -> Result<Vec<Published>, Error> {
    if workstations.is_empty() {
        return Ok(Vec::new());
    }
    let input = json_param(workstations)?;
    let rows = on_tx!(tx, |conn, d| {
        sqlx::query_as::<_, OwnedEventRow>(&format!(
        "INSERT INTO events (workstation_id, owner_id, seq, kind, status, phase, progress, message)
         SELECT value->>0, CAST(value->>1 AS BIGINT), 1, '{status_kind}', '{provisioning}', '{FIRST_PHASE}', 0,
                '{FIRST_MESSAGE}'
         FROM {rows} ORDER BY key
         RETURNING owner_id, {EVENT_COLUMNS}",
        status_kind = EventKind::Status.as_str(),
        provisioning = WorkstationStatus::Provisioning.as_str(),
        rows = d.json_rows("$1")
    ))
    .bind(&input)
    .fetch_all(&mut *conn)
    .await
    })?;
    let mut events = rows
        .into_iter()
        .map(|row| Ok(Published { owner_id: row.owner_id, event: row.event.try_into()? }))
        .collect::<Result<Vec<_>, Error>>()?;
    // RETURNING gives rows in no promised order.
    events.sort_by_key(|p| p.event.id);
    Ok(events)
}

#[derive(FromRow)]
struct OwnedEventRow {
    owner_id: i64,
    #[sqlx(flatten)]
    event: EventRow,
}

/// An event to record.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    pub workstation_id: &'a str,
    pub owner_id: i64,
    pub kind: EventKind,
    pub status: WorkstationStatus,
    pub phase: Option<&'a str>,
    pub progress: Option<u8>,
    pub message: Option<&'a str>,
}

#[derive(FromRow)]
struct EventRow {
    id: i64,
    workstation_id: String,
    seq: i64,
    kind: String,
    status: String,
    phase: Option<String>,
    progress: Option<i64>,
    message: Option<String>,
    created_at: String,
}

impl TryFrom<EventRow> for WorkstationEvent {
    type Error = Error;

    fn try_from(row: EventRow) -> Result<Self, Error> {
        let decode = |e: String| Error::Database(sqlx::Error::Decode(format!("events: {e}").into()));
        Ok(WorkstationEvent {
            id: row.id,
            workstation_id: row.workstation_id,
            seq: row.seq,
            kind: row.kind.parse().map_err(decode)?,
            status: row.status.parse().map_err(decode)?,
            phase: row.phase,
            progress: row.progress.and_then(|p| u8::try_from(p).ok()),
            message: row.message,
            at: row.created_at,
        })
    }
}

const EVENT_COLUMNS: &str = "id, workstation_id, seq, kind, status, phase, progress, message, created_at";

/// Records an event with the workstation's next sequence number, and applies
/// it to the workstation's row (status, phase, progress, reason).
pub async fn append_event(tx: &mut Tx, event: NewEvent<'_>) -> Result<Published, Error> {
    let progress = event.progress.map(i64::from);
    let row = on_tx!(tx, |conn, d| {
        let row = sqlx::query_as::<_, EventRow>(&format!(
            "INSERT INTO events (workstation_id, owner_id, seq, kind, status, phase, progress, message)
             SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6, $7 FROM events WHERE workstation_id = $1
             RETURNING {EVENT_COLUMNS}"
        ))
        .bind(event.workstation_id)
        .bind(event.owner_id)
        .bind(event.kind.as_str())
        .bind(event.status.as_str())
        .bind(event.phase)
        .bind(progress)
        .bind(event.message)
        .fetch_one(&mut *conn)
        .await?;
        match event.kind {
            EventKind::Status => {
                let reason = if event.status == WorkstationStatus::Error { event.message } else { None };
                sqlx::query(&format!(
                    "UPDATE workstations SET status = $1, phase = $2, progress = $3, status_reason = $4,
                            version = version + 1, updated_at = {now}
                     WHERE id = $5",
                    now = d.now
                ))
                .bind(event.status.as_str())
                .bind(event.phase)
                .bind(progress)
                .bind(reason)
                .bind(event.workstation_id)
                .execute(&mut *conn)
                .await?;
            }
            EventKind::Phase => {
                sqlx::query(&format!(
                    "UPDATE workstations SET phase = $1, progress = COALESCE($2, progress),
                            version = version + 1, updated_at = {now}
                     WHERE id = $3",
                    now = d.now
                ))
                .bind(event.phase)
                .bind(progress)
                .bind(event.workstation_id)
                .execute(&mut *conn)
                .await?;
            }
            EventKind::Log => {}
        }
        Ok::<_, sqlx::Error>(row)
    })?;
    Ok(Published { owner_id: event.owner_id, event: row.try_into()? })
}

/// One workstation's events after sequence number `after_seq`, in order.
pub async fn events_after_seq(
    db: &Db,
    workstation_id: &str,
    after_seq: i64,
) -> Result<Vec<WorkstationEvent>, Error> {
    on_pool!(db, |pool, d| sqlx::query_as::<_, EventRow>(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE workstation_id = $1 AND seq > $2 ORDER BY seq"
    ))
    .bind(workstation_id)
    .bind(after_seq)
    .fetch_all(pool)
    .await)?
    .into_iter()
    .map(WorkstationEvent::try_from)
    .collect()
}

/// The most events one read of the store returns; readers loop for more.
pub const EVENT_BATCH: usize = 1000;

/// The next batch (at most [`EVENT_BATCH`]) of an owner's events after event id `after_id`, in order.
pub async fn owner_events_after(
    db: &Db,
    owner_id: i64,
    after_id: i64,
) -> Result<Vec<WorkstationEvent>, Error> {
    on_pool!(db, |pool, d| sqlx::query_as::<_, EventRow>(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE owner_id = $1 AND id > $2 ORDER BY id LIMIT {EVENT_BATCH}"
    ))
    .bind(owner_id)
    .bind(after_id)
    .fetch_all(pool)
    .await)?
    .into_iter()
    .map(WorkstationEvent::try_from)
    .collect()
}

/// The next batch (at most [`EVENT_BATCH`]) of everyone's events after event
/// id `after_id`, in order, each with its owner.
pub async fn events_after(db: &Db, after_id: i64) -> Result<Vec<Published>, Error> {
    on_pool!(db, |pool, d| sqlx::query_as::<_, OwnedEventRow>(&format!(
        "SELECT owner_id, {EVENT_COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT {EVENT_BATCH}"
    ))
    .bind(after_id)
    .fetch_all(pool)
    .await)?
    .into_iter()
    .map(|row| Ok(Published { owner_id: row.owner_id, event: row.event.try_into()? }))
    .collect()
}

/// Whether the owner has (or had) a workstation with this id: its history stays readable.
pub async fn owner_has_history(db: &Db, owner_id: i64, workstation_id: &str) -> Result<bool, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM workstations WHERE id = $1 AND owner_id = $2)
             OR EXISTS (SELECT 1 FROM events WHERE workstation_id = $1 AND owner_id = $2)",
    )
    .bind(workstation_id)
    .bind(owner_id)
    .fetch_one(pool)
    .await)?)
}

/// The id of the owner's newest event (0 when none): where a live stream
/// opened after reading the current state should start.
pub async fn last_owner_event_id(db: &Db, owner_id: i64) -> Result<i64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, Option<i64>>(
        "SELECT MAX(id) FROM events WHERE owner_id = $1"
    )
    .bind(owner_id)
    .fetch_one(pool)
    .await)?
    .unwrap_or(0))
}

/// The id of the newest event of anyone (0 when none).
pub async fn last_event_id(db: &Db) -> Result<i64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM events")
        .fetch_one(pool)
        .await)?
    .unwrap_or(0))
}

/// A job a worker has claimed.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedJob {
    pub id: i64,
    pub workstation_id: String,
    pub kind: String,
    /// Starts so far, this one included.
    pub attempts: i64,
}

impl ClaimedJob {
    /// Whether the job was started before: its holder stopped (crashed, or
    /// was killed) before finishing it, and its lease ran out. A job is
    /// started again only so.
    pub fn taken_over(&self) -> bool {
        self.attempts > 1
    }
}

/// Claims the oldest job that is queued, or running under a lease that ran
/// out, leasing it to `holder` for `lease_secs`. A cancel asked for before a
/// takeover stays asked for. On PostgreSQL, instances
/// claiming at once skip each other's rows (`FOR UPDATE SKIP LOCKED`);
/// SQLite's single UPDATE is atomic by itself.
pub async fn claim_job(db: &Db, holder: &str, lease_secs: i64) -> Result<Option<ClaimedJob>, Error> {
    let skip_locked = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => "FOR UPDATE SKIP LOCKED",
    };
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, ClaimedJob>(&format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = {now},
                lease_holder = $1, lease_expires_at = {until}
         WHERE id = (SELECT id FROM jobs
                     WHERE state = 'queued' OR (state = 'running' AND lease_expires_at < {now})
                     ORDER BY id LIMIT 1 {skip_locked})
         RETURNING id, workstation_id, kind, attempts",
        now = d.now,
        until = d.now_plus("$2")
    ))
    .bind(holder)
    .bind(lease_secs)
    .fetch_optional(pool)
    .await)?)
}

/// A lease extended by [`renew_leases`].
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Renewed {
    pub id: i64,
    /// The start the lease is for: a later one than the caller's means the
    /// job was taken over since.
    pub attempts: i64,
    /// Someone asked (through any instance) to cancel the job.
    pub cancel_requested: bool,
}

/// Extends the leases of the jobs `holder` runs among `jobs` (those it is
/// really running: a job it gave up on is left to run out and be taken
/// over). A job missing from the answer is no longer `holder`'s.
pub async fn renew_leases(
    db: &Db,
    holder: &str,
    jobs: &[i64],
    lease_secs: i64,
) -> Result<Vec<Renewed>, Error> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let ids = json_param(jobs)?;
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, Renewed>(&format!(
        "UPDATE jobs SET lease_expires_at = {until}
         WHERE lease_holder = $1 AND state = 'running'
           AND id IN (SELECT CAST(value AS BIGINT) FROM ({ids}) AS ids)
         RETURNING id, attempts, cancel_requested",
        until = d.now_plus("$2"),
        ids = d.json_texts("$3")
    ))
    .bind(holder)
    .bind(lease_secs)
    .bind(&ids)
    .fetch_all(pool)
    .await)?)
}

/// Whether someone asked (through any instance) to cancel the job.
pub async fn cancel_requested(db: &Db, job_id: i64) -> Result<bool, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, bool>(
        "SELECT cancel_requested FROM jobs WHERE id = $1"
    )
    .bind(job_id)
    .fetch_optional(pool)
    .await)?
    .unwrap_or(false))
}

/// Ends the leases of every running job at once, so they are taken over
/// now: on SQLite, one instance owns the database, so a job still running
/// when it starts was left by a process that is gone.
pub async fn expire_leases(db: &Db) -> Result<u64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query(&format!(
        "UPDATE jobs SET lease_expires_at = {past} WHERE state = 'running'",
        past = d.now_plus("-1")
    ))
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?)
}

/// Queues a job of `kind` for a workstation.
pub async fn insert_job(tx: &mut Tx, workstation_id: &str, kind: &str) -> Result<(), Error> {
    on_tx!(tx, |conn, d| sqlx::query(
        "INSERT INTO jobs (workstation_id, kind, state) VALUES ($1, $2, 'queued')"
    )
    .bind(workstation_id)
    .bind(kind)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// What cancelling a workstation's job found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelling {
    /// The job was queued and is now failed as "Cancelled".
    Queued,
    /// The job with this id is running; it is marked, and its worker (on
    /// whichever instance) has to stop it.
    Running(i64),
    /// No job is queued or running.
    Nothing,
}

/// Fails the workstation's job if it is still queued, or marks the running
/// one to be cancelled and names it.
pub async fn cancel_job(tx: &mut Tx, workstation_id: &str) -> Result<Cancelling, Error> {
    on_tx!(tx, |conn, d| {
        let done = sqlx::query(&format!(
            "UPDATE jobs SET state = 'failed', error = 'Cancelled', finished_at = {now}
             WHERE workstation_id = $1 AND state = 'queued'",
            now = d.now
        ))
        .bind(workstation_id)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() > 0 {
            return Ok(Cancelling::Queued);
        }
        let running: Option<i64> = sqlx::query_scalar(
            "UPDATE jobs SET cancel_requested = TRUE WHERE workstation_id = $1 AND state = 'running' RETURNING id",
        )
        .bind(workstation_id)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(running.map_or(Cancelling::Nothing, Cancelling::Running))
    })
}

/// The owner's workstation, read inside a transaction that will change it.
pub async fn workstation_in_tx(
    tx: &mut Tx,
    owner_id: i64,
    id: &str,
) -> Result<Option<WorkstationState>, Error> {
    on_tx!(tx, |conn, d| sqlx::query_as::<_, WorkstationRow>(&format!(
        "SELECT {WORKSTATION_COLUMNS} FROM workstations WHERE owner_id = $1 AND id = $2"
    ))
    .bind(owner_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await)?
    .map(WorkstationState::try_from)
    .transpose()
}

/// Sets the configuration columns, and clears any pending configuration.
pub async fn update_configuration(tx: &mut Tx, id: &str, c: &Configuration) -> Result<(), Error> {
    on_tx!(tx, |conn, d| sqlx::query(&format!(
        "UPDATE workstations SET cpu_cores = $1, memory_gb = $2, gpu = $3, storage_gb = $4, region = $5,
                pending_configuration = NULL, version = version + 1, updated_at = {now}
         WHERE id = $6",
        now = d.now
    ))
    .bind(i64::from(c.cpu_cores))
    .bind(i64::from(c.memory_gb))
    .bind(&c.gpu)
    .bind(i64::from(c.storage_gb))
    .bind(&c.region)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Records a configuration to apply at the next launch.
pub async fn set_pending_configuration(tx: &mut Tx, id: &str, c: &Configuration) -> Result<(), Error> {
    let json = json_param(c)?;
    on_tx!(tx, |conn, d| sqlx::query(&format!(
        "UPDATE workstations SET pending_configuration = $1, version = version + 1, updated_at = {now}
         WHERE id = $2",
        now = d.now
    ))
    .bind(&json)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Removes a workstation (its events stay).
pub async fn delete_workstation(tx: &mut Tx, id: &str) -> Result<(), Error> {
    on_tx!(tx, |conn, d| sqlx::query("DELETE FROM workstations WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Ends the start `attempts` of a job `holder` runs. Returns false, changing
/// nothing, when that start is no longer current: its lease ran out and the
/// job was taken over (by another instance, or a later start here), so the
/// end is the later start's to record.
pub async fn finish_job(
    tx: &mut Tx,
    job: &ClaimedJob,
    holder: &str,
    succeeded: bool,
    error: Option<&str>,
) -> Result<bool, Error> {
    let ended = on_tx!(tx, |conn, d| sqlx::query(&format!(
        "UPDATE jobs SET state = $1, error = $2, finished_at = {now}, lease_holder = NULL,
                lease_expires_at = NULL
         WHERE id = $3 AND state = 'running' AND lease_holder = $4 AND attempts = $5",
        now = d.now
    ))
    .bind(if succeeded { "succeeded" } else { "failed" })
    .bind(error)
    .bind(job.id)
    .bind(holder)
    .bind(job.attempts)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(ended > 0)
}

/// Ends the leases of the jobs `holder` runs now, so another instance takes
/// them over at once (this one is stopping without finishing them). They are
/// no longer `holder`'s: a renewal of its still on its way matches nothing.
pub async fn release_leases(db: &Db, holder: &str) -> Result<u64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query(&format!(
        "UPDATE jobs SET lease_expires_at = {past}, lease_holder = NULL
         WHERE lease_holder = $1 AND state = 'running'",
        past = d.now_plus("-1")
    ))
    .bind(holder)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?)
}

/// A workstation as a job sees it, with its owner.
pub async fn job_target(db: &Db, workstation_id: &str) -> Result<Option<(i64, Workstation)>, Error> {
    let row = on_pool!(db, |pool, d| sqlx::query_scalar::<_, i64>(
        "SELECT owner_id FROM workstations WHERE id = $1"
    )
    .bind(workstation_id)
    .fetch_optional(pool)
    .await)?;
    let Some(owner_id) = row else { return Ok(None) };
    Ok(get_workstation(db, owner_id, workstation_id).await?.map(|w| (owner_id, w)))
}

/// How many workstations with this GPU in this region hold capacity, not
/// counting `except` and anything created after it.
pub async fn capacity_in_use(db: &Db, region: &str, gpu: &str, except: &str) -> Result<i64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM workstations
         WHERE region = $1 AND gpu = $2 AND status != 'error' AND id != $3
           AND seq < (SELECT seq FROM workstations WHERE id = $3)",
    )
    .bind(region)
    .bind(gpu)
    .bind(except)
    .fetch_one(pool)
    .await)?)
}

/// How many workstations hold capacity in one region for one GPU type
/// (a running total, migration 0007).
pub async fn placement_in_use(tx: &mut Tx, region: &str, gpu: &str) -> Result<i64, Error> {
    Ok(on_tx!(tx, |conn, d| sqlx::query_scalar::<_, i64>(
        "SELECT count FROM placement_usage WHERE region = $1 AND gpu = $2"
    )
    .bind(region)
    .bind(gpu)
    .fetch_optional(&mut *conn)
    .await)?
    .unwrap_or(0))
}

/// How many workstations hold capacity, per region and GPU type (all users;
/// a workstation in `error` holds none).
pub async fn capacity_usage(tx: &mut Tx) -> Result<Vec<(String, String, i64)>, Error> {
    // Running totals kept by triggers (migration 0007).
    Ok(on_tx!(tx, |conn, d| sqlx::query_as::<_, (String, String, i64)>(
        "SELECT region, gpu, count FROM placement_usage WHERE count > 0",
    )
    .fetch_all(&mut *conn)
    .await)?)
}

/// The mean duration in seconds of finished provisioning jobs for this GPU
/// type and region, if any finished.
pub async fn mean_job_seconds(db: &Db, gpu: &str, region: &str) -> Result<Option<f64>, Error> {
    let seconds = match db {
        Db::Sqlite(_) => "(julianday(j.finished_at) - julianday(j.started_at)) * 86400.0",
        Db::Postgres(_) => "EXTRACT(EPOCH FROM (j.finished_at::timestamptz - j.started_at::timestamptz))",
    };
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, Option<f64>>(&format!(
        "SELECT CAST(AVG({seconds}) AS DOUBLE PRECISION)
         FROM jobs j JOIN workstations w ON w.id = j.workstation_id
         WHERE j.state = 'succeeded' AND w.gpu = $1 AND w.region = $2"
    ))
    .bind(gpu)
    .bind(region)
    .fetch_one(pool)
    .await)?)
}

/// When the workstation's running job started, if one is running.
pub async fn running_job_started_at(db: &Db, workstation_id: &str) -> Result<Option<String>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, Option<String>>(
        "SELECT started_at FROM jobs WHERE workstation_id = $1 AND state = 'running' ORDER BY id DESC LIMIT 1",
    )
    .bind(workstation_id)
    .fetch_optional(pool)
    .await)?
    .flatten())
}

/// One of the owner's workstations.
pub async fn get_workstation(db: &Db, owner_id: i64, id: &str) -> Result<Option<Workstation>, Error> {
    Ok(get_workstation_state(db, owner_id, id).await?.map(|s| s.workstation))
}

/// One of the owner's workstations, with phase, progress and reason.
pub async fn get_workstation_state(
    db: &Db,
    owner_id: i64,
    id: &str,
) -> Result<Option<WorkstationState>, Error> {
    on_pool!(db, |pool, d| sqlx::query_as::<_, WorkstationRow>(&format!(
        "SELECT {WORKSTATION_COLUMNS} FROM workstations WHERE owner_id = $1 AND id = $2"
    ))
    .bind(owner_id)
    .bind(id)
    .fetch_optional(pool)
    .await)?
    .map(WorkstationState::try_from)
    .transpose()
}

/// Which of an owner's workstations a page lists.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<WorkstationStatus>,
    pub region: Option<String>,
    pub gpu: Option<String>,
    pub name_prefix: Option<String>,
    /// Only workstations older than this position (keyset pagination).
    pub before_seq: Option<i64>,
}

/// The keys and columns of a workstation row with its position, keyed like [`WorkstationRow`].
const PAGE_ROW_FIELDS: &str = "'seq', seq, 'id', id, 'name', name, 'status', status,
    'cpu_cores', cpu_cores, 'memory_gb', memory_gb, 'gpu', gpu, 'storage_gb', storage_gb,
    'region', region, 'phase', phase, 'progress', progress, 'status_reason', status_reason,
    'created_at', created_at, 'version', version, 'pending_configuration', pending_configuration";

/// One page of the owner's workstations, newest first, with each one's
/// position; `limit + 1` rows are read so the caller knows if more follow.
pub async fn list_workstation_page(
    db: &Db,
    owner_id: i64,
    filter: &ListFilter,
    limit: i64,
) -> Result<Vec<(i64, WorkstationState)>, Error> {
    let prefix = filter.name_prefix.as_ref().map(|p| {
        let escaped = p.replace('!', "!!").replace('%', "!%").replace('_', "!_");
        format!("{escaped}%")
    });
    // On SQLite the page comes back as one JSON array in one row: its driver
    // hands rows over between threads one at a time, and a page is many
    // rows. PostgreSQL's rows come over one connection as they are.
    // The name prefix matches in any case, as SQLite's LIKE does.
    let (columns, like) = match db {
        Db::Sqlite(_) => (format!("json_group_array(json_object({PAGE_ROW_FIELDS}))"), "LIKE"),
        Db::Postgres(_) => ("*".to_owned(), "ILIKE"),
    };
    // Only the filters given are in the statement: a condition such as
    // `$2 IS NULL OR status = $2` would have PostgreSQL plan for any value
    // (a scan of all the owner's rows and a sort) instead of reading the
    // (owner, position) index newest first.
    enum Param<'a> {
        Text(&'a str),
        Int(i64),
    }
    let like_prefix = format!("name {like}");
    // (condition, its parameter, what follows the parameter)
    let filters: Vec<(&str, Param, &str)> = [
        filter.status.map(|s| ("status =", Param::Text(s.as_str()), "")),
        filter.region.as_deref().map(|r| ("region =", Param::Text(r), "")),
        filter.gpu.as_deref().map(|g| ("gpu =", Param::Text(g), "")),
        prefix.as_deref().map(|p| (like_prefix.as_str(), Param::Text(p), " ESCAPE '!'")),
        filter.before_seq.map(|before| ("seq <", Param::Int(before), "")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let conditions: String = filters
        .iter()
        .enumerate()
        .map(|(i, (condition, _, after))| format!(" AND {condition} ${}{after}", i + 2))
        .collect();
    let limit_param = filters.len() + 2;
    let params: Vec<Param> = filters.into_iter().map(|(_, param, _)| param).collect();
    let sql = format!(
        "SELECT {columns} FROM (
         SELECT seq, {WORKSTATION_COLUMNS} FROM workstations
         WHERE owner_id = $1{conditions}
         ORDER BY seq DESC
         LIMIT ${limit_param}) AS page"
    );
    // The statement's parameters, in order, on either backend's query.
    macro_rules! bound {
        ($query:expr) => {{
            let mut query = $query.bind(owner_id);
            for param in &params {
                query = match param {
                    Param::Text(text) => query.bind(*text),
                    Param::Int(n) => query.bind(*n),
                };
            }
            query.bind(limit + 1)
        }};
    }
    let mut rows: Vec<WorkstationRow> = match db {
        Db::Sqlite(pool) => {
            let page: String = bound!(sqlx::query_scalar(&sql)).fetch_one(pool).await?;
            serde_json::from_str(&page)
                .map_err(|e| Error::Database(sqlx::Error::Decode(format!("workstation page: {e}").into())))?
        }
        Db::Postgres(pool) => bound!(sqlx::query_as::<_, WorkstationRow>(&sql)).fetch_all(pool).await?,
    };
    // Newest first, whatever order the aggregate kept.
    rows.sort_unstable_by_key(|r| std::cmp::Reverse(r.seq));
    rows.into_iter().map(|r| Ok((r.seq, WorkstationState::try_from(r)?))).collect()
}

/// Whether the owner has a workstation named `name`.
pub async fn name_taken(db: &Db, owner_id: i64, name: &str) -> Result<bool, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM workstations WHERE owner_id = $1 AND name = $2)",
    )
    .bind(owner_id)
    .bind(name)
    .fetch_one(pool)
    .await)?)
}

/// How many workstations exist in all (used by tests to prove nothing was stored).
pub async fn count_workstations(db: &Db) -> Result<i64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM workstations")
        .fetch_one(pool)
        .await)?)
}

/// How many events exist in all (used by tests).
pub async fn count_events(db: &Db) -> Result<i64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM events")
        .fetch_one(pool)
        .await)?)
}

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

/// Counts one request of `credential` at `now_ms` (Unix milliseconds) in
/// its rate-limit window of `window_ms`, which starts at its first request
/// after the last window ended. Kept in the database, so every instance counts
/// against the same limit. Returns when the window started, and its count.
pub async fn count_request(
    db: &Db,
    credential: &str,
    now_ms: i64,
    window_ms: i64,
) -> Result<(i64, i64), Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, (i64, i64)>(
        "INSERT INTO rate_limits AS r (credential, window_start, count) VALUES ($1, $2, 1)
         ON CONFLICT (credential) DO UPDATE SET
             count = CASE WHEN r.window_start > $2 - $3 THEN r.count + 1 ELSE 1 END,
             window_start = CASE WHEN r.window_start > $2 - $3 THEN r.window_start ELSE $2 END
         RETURNING window_start, count",
    )
    .bind(credential)
    .bind(now_ms)
    .bind(window_ms)
    .fetch_one(pool)
    .await)?)
}

/// Forgets the counts of windows that ended by `now_ms`.
pub async fn forget_request_counts(db: &Db, now_ms: i64, window_ms: i64) -> Result<u64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query("DELETE FROM rate_limits WHERE window_start <= $1 - $2")
        .bind(now_ms)
        .bind(window_ms)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}

/// A user's quota overrides (`None` = the default).
pub async fn user_quota(tx: &mut Tx, user_id: i64) -> Result<[Option<i64>; 4], Error> {
    let row =
        on_tx!(tx, |conn, d| sqlx::query_as::<_, (Option<i64>, Option<i64>, Option<i64>, Option<i64>)>(
            "SELECT cpu_cores, memory_gb, gpus, storage_gb FROM user_quotas WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await)?;
    Ok(row.map_or([None; 4], |(a, b, c, d)| [a, b, c, d]))
}

/// Sets some of a user's quota overrides, keeping the others.
pub async fn set_user_quota(db: &Db, user_id: i64, values: [Option<i64>; 4]) -> Result<(), Error> {
    on_pool!(db, |pool, d| sqlx::query(
        "INSERT INTO user_quotas AS q (user_id, cpu_cores, memory_gb, gpus, storage_gb)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET
            cpu_cores = COALESCE($2, q.cpu_cores), memory_gb = COALESCE($3, q.memory_gb),
            gpus = COALESCE($4, q.gpus), storage_gb = COALESCE($5, q.storage_gb)",
    )
    .bind(user_id)
    .bind(values[0])
    .bind(values[1])
    .bind(values[2])
    .bind(values[3])
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// What a user's workstations hold (those in `error` hold nothing).
pub async fn quota_usage(tx: &mut Tx, owner_id: i64) -> Result<crate::domain::Quota, Error> {
    // Running totals kept by triggers (migration 0007).
    let (cpu, mem, count, disk) = on_tx!(tx, |conn, d| sqlx::query_as::<_, (i64, i64, i64, i64)>(
        "SELECT cpu_cores, memory_gb, gpus, storage_gb FROM owner_usage WHERE owner_id = $1",
    )
    .bind(owner_id)
    .fetch_optional(&mut *conn)
    .await)?
    .unwrap_or_default();
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(crate::domain::Quota { cpu_cores: n(cpu), memory_gb: n(mem), gpus: n(count), storage_gb: n(disk) })
}

/// How many jobs are in each state (`queued`, `running`, `succeeded`, `failed`).
pub async fn job_counts(db: &Db) -> Result<Vec<(String, i64)>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as(
        "SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state"
    )
    .fetch_all(pool)
    .await)?)
}

/// The versions of the migrations applied to the database.
pub async fn applied_migrations(db: &Db) -> Result<Vec<i64>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar(
        "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version"
    )
    .fetch_all(pool)
    .await)?)
}
