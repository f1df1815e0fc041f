//! The `events` table: every workstation's history in order, read by the
//! streams and the pages, and applied to the workstation's row as written.

use sqlx::FromRow;

use super::workstations::{FIRST_MESSAGE, FIRST_PHASE};
use super::{decode_error, json_param, Db, Tx};
use crate::backend::events::Published;
use crate::backend::Error;
use crate::domain::{EventKind, Phase, WorkstationEvent, WorkstationStatus};
use crate::{on_pool, on_tx};

/// Records the first event (`provisioning`, queued) of each new workstation
/// `(id, owner)`, in one statement; the events come back in id order.
pub(super) async fn insert_first_events(
    tx: &mut Tx,
    workstations: &[(&str, i64)],
) -> Result<Vec<Published>, Error> {
    if workstations.is_empty() {
        return Ok(Vec::new());
    }
    let input = json_param(workstations)?;
    let rows = on_tx!(tx, |conn, d| {
        sqlx::query_as::<_, OwnedEventRow>(&insert_first_events_sql(
            "value->>0",
            "CAST(value->>1 AS BIGINT)",
            &format!("{rows} ORDER BY key", rows = d.json_rows("$1")),
        ))
        .bind(&input)
        .fetch_all(&mut *conn)
        .await
    })?;
    published(rows)
}

/// The `INSERT` of new workstations' first events from the rows of `from`
/// (a FROM clause, in the order the events take their ids), each
/// workstation's id and owner read by the SQL expressions given; it returns
/// [`OwnedEventRow`]s.
pub(super) fn insert_first_events_sql(workstation_id: &str, owner_id: &str, from: &str) -> String {
    format!(
        "INSERT INTO events (workstation_id, owner_id, seq, kind, status, phase, progress, message)
         SELECT {workstation_id}, {owner_id}, 1, '{status_kind}', '{provisioning}', '{first_phase}', 0,
                '{FIRST_MESSAGE}'
         FROM {from}
         RETURNING owner_id, {EVENT_COLUMNS}",
        status_kind = EventKind::Status.as_str(),
        provisioning = WorkstationStatus::Provisioning.as_str(),
        first_phase = FIRST_PHASE.as_str(),
    )
}

/// Stored events as published, in id order (`RETURNING` gives rows in no promised order).
pub(super) fn published(rows: Vec<OwnedEventRow>) -> Result<Vec<Published>, Error> {
    let mut events = rows
        .into_iter()
        .map(|row| Ok(Published { owner_id: row.owner_id, event: row.event.try_into()? }))
        .collect::<Result<Vec<_>, Error>>()?;
    events.sort_by_key(|p| p.event.id);
    Ok(events)
}

/// An event with its owner, as `RETURNING owner_id, {EVENT_COLUMNS}` gives it
/// (or a JSON object of those columns).
#[derive(FromRow, serde::Deserialize)]
pub(super) struct OwnedEventRow {
    owner_id: i64,
    #[sqlx(flatten)]
    #[serde(flatten)]
    event: EventRow,
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub workstation_id: &'a str,
    pub owner_id: i64,
    pub kind: EventKind,
    pub status: WorkstationStatus,
    pub phase: Option<Phase>,
    pub progress: Option<u8>,
    pub message: Option<&'a str>,
}

#[derive(FromRow, serde::Deserialize)]
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
        let decode = |e: String| decode_error("events", e);
        Ok(WorkstationEvent {
            id: row.id,
            workstation_id: row.workstation_id,
            seq: row.seq,
            kind: row.kind.parse().map_err(decode)?,
            status: row.status.parse().map_err(decode)?,
            phase: row.phase.as_deref().map(str::parse).transpose().map_err(decode)?,
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
    let phase = event.phase.as_ref().map(Phase::as_str);
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
        .bind(phase)
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
                .bind(phase)
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
                .bind(phase)
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
///
/// Planned afresh each time (not a prepared statement): PostgreSQL keeps a
/// prepared statement's generic plan, and one made while `events` was small
/// and not yet analyzed reads the whole table on every call (a sequential
/// scan and a sort), once for every batch of creates its instance is told
/// of. Planned with the id at hand, it reads the primary key from there.
pub async fn events_after(db: &Db, after_id: i64) -> Result<Vec<Published>, Error> {
    on_pool!(db, |pool, d| sqlx::query_as::<_, OwnedEventRow>(&format!(
        "SELECT owner_id, {EVENT_COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT {EVENT_BATCH}"
    ))
    .bind(after_id)
    .persistent(false)
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

/// How many events exist in all (used by tests).
pub async fn count_events(db: &Db) -> Result<i64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM events")
        .fetch_one(pool)
        .await)?)
}
