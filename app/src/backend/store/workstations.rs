//! The `workstations` table, and the running totals of what they hold
//! (`owner_usage`, `placement_usage`, kept by triggers).

use std::collections::{HashMap, HashSet};

use sqlx::FromRow;

use super::events::insert_first_events;
use super::jobs::insert_provision_jobs;
use super::{decode_error, json_param, Db, Tx};
use crate::backend::events::Published;
use crate::backend::Error;
use crate::domain::time::format_utc_millis;
use crate::domain::{
    holds_resources, AutoStop, Configuration, Owner, OwnerKind, Phase, Quota, QuotaOverrides, Workstation,
    WorkstationSpec, WorkstationState, WorkstationStatus,
};
use crate::on_pool;
use crate::on_tx;

/// The statuses in which a workstation holds its place and quota, as an SQL list.
pub(super) fn holding_statuses() -> String {
    super::dialect::text_list(
        WorkstationStatus::ALL.into_iter().filter(|s| holds_resources(*s)).map(WorkstationStatus::as_str),
    )
}

#[derive(FromRow, serde::Deserialize)]
struct WorkstationRow {
    /// The position in the owner's list; read by the page query only.
    #[sqlx(default)]
    #[serde(default)]
    seq: i64,
    id: String,
    name: String,
    owner_id: i64,
    owner_kind: String,
    owner_name: String,
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
    auto_stop_idle_secs: Option<i64>,
    auto_stop_running_secs: Option<i64>,
    last_activity_at: Option<String>,
    /// When its current run started, while running; read by [`RUNNING_SINCE`] only.
    #[sqlx(default)]
    #[serde(default)]
    running_since: Option<String>,
}

impl TryFrom<WorkstationRow> for WorkstationState {
    type Error = Error;

    fn try_from(row: WorkstationRow) -> Result<Self, Error> {
        let decode = |field: &str, e: String| decode_error(&format!("workstations.{field}"), e);
        let phase =
            row.phase.as_deref().map(str::parse::<Phase>).transpose().map_err(|e| decode("phase", e))?;
        let count = |field: &str, v: i64| u32::try_from(v).map_err(|e| decode(field, e.to_string()));
        let status = row.status.parse::<WorkstationStatus>().map_err(|e| decode("status", e))?;
        let owner = Owner {
            kind: OwnerKind::parse(&row.owner_kind)
                .ok_or_else(|| decode("owner kind", row.owner_kind.clone()))?,
            id: row.owner_id,
            name: row.owner_name,
        };
        let auto_stop = AutoStop::from_stored(row.auto_stop_idle_secs, row.auto_stop_running_secs);
        // Only while running with no job at work, as auto-stop enforces it.
        let deadline = row
            .running_since
            .as_deref()
            .filter(|_| status == WorkstationStatus::Running && phase.is_none())
            .and_then(|since| auto_stop.deadline_of_run(since, row.last_activity_at.as_deref()));
        let workstation = Workstation {
            status,
            configuration: Configuration {
                cpu_cores: count("cpu_cores", row.cpu_cores)?,
                memory_gb: count("memory_gb", row.memory_gb)?,
                gpu: row.gpu,
                storage_gb: count("storage_gb", row.storage_gb)?,
                region: row.region,
            },
            id: row.id,
            name: row.name,
            owner,
            phase: phase.clone(),
            pending_configuration: row
                .pending_configuration
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok()),
            auto_stop,
            auto_stop_at: deadline.map(|(at, _)| format_utc_millis(at)),
            auto_stop_reason: deadline.map(|(_, why)| why.as_str().to_owned()),
        };
        Ok(WorkstationState {
            workstation,
            phase,
            progress: row.progress.and_then(|p| u8::try_from(p).ok()),
            reason: row.status_reason,
            created_at: row.created_at,
            version: row.version,
        })
    }
}

impl WorkstationRow {
    /// The row from its columns, read by position in the order of
    /// [`PAGE_ROW_COLUMNS`] (SQLite, on the calling thread).
    fn from_columns(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            seq: row.get(0)?,
            id: row.get(1)?,
            name: row.get(2)?,
            owner_id: row.get(3)?,
            owner_kind: row.get(4)?,
            owner_name: row.get(5)?,
            status: row.get(6)?,
            cpu_cores: row.get(7)?,
            memory_gb: row.get(8)?,
            gpu: row.get(9)?,
            storage_gb: row.get(10)?,
            region: row.get(11)?,
            phase: row.get(12)?,
            progress: row.get(13)?,
            status_reason: row.get(14)?,
            created_at: row.get(15)?,
            version: row.get(16)?,
            pending_configuration: row.get(17)?,
            auto_stop_idle_secs: row.get(18)?,
            auto_stop_running_secs: row.get(19)?,
            last_activity_at: row.get(20)?,
            running_since: row.get(21)?,
        })
    }
}

/// The columns a [`WorkstationRow`] reads, its owner's kind and name among
/// them, the owner's id being the SQL `$owner`.
macro_rules! workstation_columns {
    ($owner:literal) => {
        concat!(
            "id, name, owner_id,
    (SELECT o.kind FROM users o WHERE o.id = ",
            $owner,
            ") AS owner_kind,
    (SELECT o.name FROM users o WHERE o.id = ",
            $owner,
            ") AS owner_name,
    status, cpu_cores, memory_gb, gpu, storage_gb, region, phase, progress,
    status_reason, created_at, version, pending_configuration, auto_stop_idle_secs, auto_stop_running_secs,
    last_activity_at"
        )
    };
}

/// The columns a [`WorkstationRow`] reads, each row's owner read for it.
const WORKSTATION_COLUMNS: &str = workstation_columns!("workstations.owner_id");

/// [`WORKSTATION_COLUMNS`] for rows of one owner, whose id is the
/// statement's `$1`: the owner's kind and name are then read once a statement
/// (a subquery on a parameter, which both backends run once), not once a row.
const ONE_OWNERS_COLUMNS: &str = workstation_columns!("$1");

/// When a running workstation's run started (its open usage interval), as
/// a column of a statement on `workstations`.
const RUNNING_SINCE: &str = "CASE WHEN status = 'running' THEN (SELECT u.started_at FROM usage_intervals u
    WHERE u.workstation_id = workstations.id AND u.kind = 'running' AND u.ended_at IS NULL) END AS running_since";

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

/// The phase and message a new workstation starts with.
pub(super) const FIRST_PHASE: Phase = Phase::Queued;

pub(super) const FIRST_MESSAGE: &str = "Queued for provisioning";

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
    let input = new_rows_param(rows)?;
    let stored = on_tx!(tx, |conn, d| sqlx::query_as::<_, WorkstationRow>(&format!(
        "{insert} RETURNING {WORKSTATION_COLUMNS}",
        insert = insert_workstations_sql(d, "$1")
    ))
    .bind(&input)
    .fetch_all(&mut *conn)
    .await)?;
    in_given_order(stored, rows)
}

/// New workstations `(id, owner, spec)` as one JSON parameter, an array
/// of `[id, owner, name, cpu, memory, gpu, storage, region, idle, running]`.
fn new_rows_param(rows: &[(&str, i64, &WorkstationSpec)]) -> Result<String, Error> {
    let rows: Vec<_> = rows
        .iter()
        .map(|(id, owner_id, spec)| {
            let c = &spec.configuration;
            (
                id,
                owner_id,
                spec.name.as_str(),
                c.cpu_cores.get(),
                c.memory_gb.get(),
                c.gpu.as_str(),
                c.storage_gb.get(),
                c.region.as_str(),
                spec.auto_stop.idle_timeout_seconds,
                spec.auto_stop.running_timeout_seconds,
            )
        })
        .collect();
    json_param(&rows)
}

/// The `INSERT` (without `RETURNING`) of the new workstations in the
/// parameter `param` (see [`new_rows_param`]), as `provisioning`, queued, in its order.
fn insert_workstations_sql(d: &super::Dialect, param: &str) -> String {
    format!(
        "INSERT INTO workstations
            (id, owner_id, name, cpu_cores, memory_gb, gpu, storage_gb, region,
             auto_stop_idle_secs, auto_stop_running_secs, status, phase, progress)
         SELECT value->>0, CAST(value->>1 AS BIGINT), value->>2, CAST(value->>3 AS BIGINT),
                CAST(value->>4 AS BIGINT), value->>5, CAST(value->>6 AS BIGINT), value->>7,
                CAST(value->>8 AS BIGINT), CAST(value->>9 AS BIGINT),
                '{provisioning}', '{first_phase}', 0
         FROM {rows} ORDER BY key",
        provisioning = WorkstationStatus::Provisioning.as_str(),
        first_phase = FIRST_PHASE.as_str(),
        rows = d.json_rows(param)
    )
}

/// Stored rows as the new workstations of `rows`, in their order.
fn in_given_order(
    stored: Vec<WorkstationRow>,
    rows: &[(&str, i64, &WorkstationSpec)],
) -> Result<Vec<Workstation>, Error> {
    // RETURNING gives rows in no promised order.
    let mut by_id: HashMap<String, Workstation> = stored
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

/// What the owners and places a batch of creates asks for held before it:
/// each owner's own limits and what their workstations hold, which of the
/// batch's names each owner already uses, and the workstations holding each
/// place (region, GPU type) asked for.
#[derive(Debug, Default)]
pub struct HeldBefore {
    pub owners: HashMap<i64, (QuotaOverrides, Quota)>,
    /// Per owner, the names taken.
    taken: HashMap<i64, HashSet<String>>,
    /// Per region, per GPU type, the workstations holding that place.
    placed: HashMap<String, HashMap<String, i64>>,
}

impl HeldBefore {
    /// Notes that `owner` already uses `name`.
    pub fn take(&mut self, owner: i64, name: String) {
        self.taken.entry(owner).or_default().insert(name);
    }

    /// Notes that `count` workstations hold the place `(region, gpu)`.
    pub fn place(&mut self, region: String, gpu: String, count: i64) {
        self.placed.entry(region).or_default().insert(gpu, count);
    }

    /// Whether `owner` already uses `name`.
    pub fn is_taken(&self, owner: i64, name: &str) -> bool {
        self.taken.get(&owner).is_some_and(|names| names.contains(name))
    }

    /// Workstations holding the place `(region, gpu)`.
    pub fn placed(&self, region: &str, gpu: &str) -> i64 {
        self.placed.get(region).and_then(|gpus| gpus.get(gpu)).copied().unwrap_or(0)
    }
}

/// Where [`held_before_sql`] finds an owner, a name, a region and a GPU
/// type in each element of its JSON parameter. Without a name, the names
/// taken are not read.
struct AskedAt {
    owner: u8,
    name: Option<u8>,
    region: u8,
    gpu: u8,
}

/// In the new rows of [`new_rows_param`], inserted by the same statement:
/// its `ON CONFLICT DO NOTHING` skips a row whose name is taken, which is
/// how the caller learns of it (looking the names up as well cost as much
/// as the rest of the statement: a lookup per name, planned on the owner's
/// rows while the table's statistics are young).
const IN_NEW_ROWS: AskedAt = AskedAt { owner: 1, name: None, region: 7, gpu: 5 };
/// In the asks of [`asks_param`].
const IN_ASKS: AskedAt = AskedAt { owner: 0, name: Some(1), region: 2, gpu: 3 };

/// What requests ask to hold, as [`held_before`] reads it: the owner, a
/// new name (`None`: no name is taken) and a place `(region, gpu)` newly
/// taken (`None`: none).
pub type Asked<'a> = (i64, Option<&'a str>, Option<(&'a str, &'a str)>);

fn asks_param(asks: &[Asked<'_>]) -> Result<String, Error> {
    let rows: Vec<_> = asks
        .iter()
        .map(|(owner, name, place)| (owner, name, place.map(|p| p.0), place.map(|p| p.1)))
        .collect();
    json_param(&rows)
}

/// The three JSON texts of a [`HeldBefore`] (`owners`, `taken`, `placed`)
/// for the requests in the parameter `param`, whose fields are found `at`.
/// A null name or place reads as nothing taken or held.
fn held_before_sql(d: &super::Dialect, param: &str, at: &AskedAt) -> String {
    let rows = d.json_rows(param);
    // Each a lookup by primary key: a join may be planned as a scan of every
    // user's row, the planner taking the batch for a hundred owners.
    let columns_of = |table: &str, key: &str| {
        ["cpu_cores", "memory_gb", "gpus", "storage_gb"]
            .map(|c| format!("(SELECT {c} FROM {table} WHERE {key} = o.id)"))
            .join(", ")
    };
    let AskedAt { owner, name, region, gpu } = at;
    let taken = match name {
        // A lookup per name in the (owner, name) index, as a subquery the
        // planner keeps: a join may be planned as a scan of the whole table.
        Some(name) => format!(
            "(SELECT {list} FROM (SELECT DISTINCT CAST(value->>{owner} AS BIGINT) AS owner_id, value->>{name} AS name
                                  FROM {rows}) AS n
                WHERE (SELECT w.name FROM workstations w WHERE w.owner_id = n.owner_id AND w.name = n.name) IS NOT NULL)",
            list = d.json_list("n.owner_id, n.name"),
        ),
        None => "'[]'".to_owned(),
    };
    format!(
        "SELECT
            (SELECT {owners} FROM (SELECT DISTINCT CAST(value->>{owner} AS BIGINT) AS id FROM {rows}) AS o) AS owners,
            {taken} AS taken,
            (SELECT {placed} FROM (SELECT DISTINCT value->>{region} AS region, value->>{gpu} AS gpu FROM {rows}) AS r
                JOIN placement_usage p ON p.region = r.region AND p.gpu = r.gpu) AS placed",
        owners = d.json_list(&format!(
            "o.id, {own}, {used}",
            own = columns_of("user_quotas", "user_id"),
            used = columns_of("owner_usage", "owner_id")
        )),
        placed = d.json_list("p.region, p.gpu, p.count"),
    )
}

/// The JSON texts of [`held_before_sql`] read back.
#[derive(FromRow)]
struct HeldBeforeRow {
    owners: String,
    taken: String,
    placed: String,
}

type Columns4 = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);

impl TryFrom<HeldBeforeRow> for HeldBefore {
    type Error = Error;

    fn try_from(row: HeldBeforeRow) -> Result<Self, Error> {
        let decode = |what: &str, e: serde_json::Error| decode_error(what, e);
        #[allow(clippy::type_complexity)]
        let owners: Vec<(
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        )> = serde_json::from_str(&row.owners).map_err(|e| decode("owners held", e))?;
        let taken: Vec<(i64, String)> =
            serde_json::from_str(&row.taken).map_err(|e| decode("names taken", e))?;
        let placed: Vec<(String, String, i64)> =
            serde_json::from_str(&row.placed).map_err(|e| decode("places held", e))?;
        let mut held = HeldBefore {
            owners: owners
                .into_iter()
                .map(|(id, q1, q2, q3, q4, u1, u2, u3, u4)| {
                    let own: Columns4 = (q1, q2, q3, q4);
                    let used: Columns4 = (u1, u2, u3, u4);
                    (id, (super::quotas::overrides_from(own), super::quotas::usage_from(used)))
                })
                .collect(),
            ..HeldBefore::default()
        };
        for (owner, name) in taken {
            held.take(owner, name);
        }
        for (region, gpu, count) in placed {
            held.place(region, gpu, count);
        }
        Ok(held)
    }
}

/// What the owners, names and places that requests ask for hold, in one statement.
pub async fn held_before(tx: &mut Tx, asks: &[Asked<'_>]) -> Result<HeldBefore, Error> {
    let input = asks_param(asks)?;
    on_tx!(tx, |conn, d| sqlx::query_as::<_, HeldBeforeRow>(&held_before_sql(d, "$1", &IN_ASKS))
        .bind(&input)
        .fetch_one(&mut *conn)
        .await)?
    .try_into()
}

/// Where the backend can do it in one statement ([`Dialect::writes_in_with`](super::Dialect)):
/// reads what the owners and places held before, and stores the new
/// workstations with their jobs and first events as
/// [`insert_new_workstations`] does; a name already taken skips its row
/// instead of failing the statement (names taken are not read: a missing
/// row tells). The caller checks the batch against what was held and rolls
/// back unless every row was stored and should be. The
/// first events are read back only when `with_events` (else none are returned).
/// `None` where the backend cannot (nothing was done).
#[allow(clippy::type_complexity)]
pub async fn insert_new_workstations_reading_held(
    tx: &mut Tx,
    rows: &[(&str, i64, &WorkstationSpec)],
    with_events: bool,
) -> Result<Option<(Vec<Workstation>, Vec<Published>, HeldBefore)>, Error> {
    let input = new_rows_param(rows)?;
    let row = on_tx!(tx, |conn, d| if d.writes_in_with {
        sqlx::query_as::<_, StoredAndHeldRow>(&format!(
            "WITH stored AS ({insert} ON CONFLICT DO NOTHING RETURNING seq, {WORKSTATION_COLUMNS}),
                  jobs AS ({jobs}),
                  firsts AS ({firsts})
             SELECT (SELECT CAST(COALESCE(json_agg(stored), '[]') AS TEXT) FROM stored) AS stored,
                    {events} AS events,
                    held.owners, held.taken, held.placed
             FROM ({held}) AS held",
            insert = insert_workstations_sql(d, "$1"),
            jobs = super::jobs::insert_provision_jobs_sql("id", "stored ORDER BY seq"),
            firsts = super::events::insert_first_events_sql("id", "owner_id", "stored ORDER BY seq"),
            held = held_before_sql(d, "$1", &IN_NEW_ROWS),
            // Stored either way: a data-modifying WITH runs whether or not it is read.
            events = if with_events {
                "(SELECT CAST(COALESCE(json_agg(firsts), '[]') AS TEXT) FROM firsts)"
            } else {
                "'[]'"
            },
        ))
        .bind(&input)
        .fetch_one(&mut *conn)
        .await
        .map(Some)
    } else {
        Ok(None)
    })?;
    let Some(row) = row else { return Ok(None) };
    let stored: Vec<WorkstationRow> =
        serde_json::from_str(&row.stored).map_err(|e| decode_error("workstations stored", e))?;
    let events: Vec<super::events::OwnedEventRow> =
        serde_json::from_str(&row.events).map_err(|e| decode_error("events stored", e))?;
    let held =
        HeldBefore::try_from(HeldBeforeRow { owners: row.owners, taken: row.taken, placed: row.placed })?;
    // Rows skipped for a taken name are missing: the caller, given fewer
    // than it asked for, stores the batch the general way, which reads names.
    let stored_ids: HashSet<&str> = stored.iter().map(|r| r.id.as_str()).collect();
    let present: Vec<_> = rows.iter().filter(|(id, _, _)| stored_ids.contains(id)).copied().collect();
    let workstations = in_given_order(stored, &present)?;
    Ok(Some((workstations, super::events::published(events)?, held)))
}

#[derive(FromRow)]
struct StoredAndHeldRow {
    stored: String,
    events: String,
    owners: String,
    taken: String,
    placed: String,
}

/// The owner's workstation, read inside a transaction that will change it.
pub async fn workstation_in_tx(
    tx: &mut Tx,
    owner_id: i64,
    id: &str,
) -> Result<Option<WorkstationState>, Error> {
    on_tx!(tx, |conn, d| sqlx::query_as::<_, WorkstationRow>(&format!(
        "SELECT {WORKSTATION_COLUMNS}, {RUNNING_SINCE} FROM workstations WHERE owner_id = $1 AND id = $2"
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

/// Sets the auto-stop timeouts.
pub async fn update_auto_stop(tx: &mut Tx, id: &str, a: &AutoStop) -> Result<(), Error> {
    on_tx!(tx, |conn, d| sqlx::query(&format!(
        "UPDATE workstations SET auto_stop_idle_secs = $1, auto_stop_running_secs = $2,
                version = version + 1, updated_at = {now}
         WHERE id = $3",
        now = d.now
    ))
    .bind(i64::try_from(a.idle_timeout_seconds).unwrap_or(i64::MAX))
    .bind(i64::try_from(a.running_timeout_seconds).unwrap_or(i64::MAX))
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Gives `defaults` to workstations without timeouts of their own (made
/// before migration 0014); how many there were.
pub async fn adopt_auto_stop_defaults(db: &Db, defaults: &AutoStop) -> Result<u64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query(&format!(
        "UPDATE workstations SET auto_stop_idle_secs = COALESCE(auto_stop_idle_secs, $1),
                auto_stop_running_secs = COALESCE(auto_stop_running_secs, $2),
                version = version + 1, updated_at = {now}
         WHERE auto_stop_idle_secs IS NULL OR auto_stop_running_secs IS NULL",
        now = d.now
    ))
    .bind(i64::try_from(defaults.idle_timeout_seconds).unwrap_or(i64::MAX))
    .bind(i64::try_from(defaults.running_timeout_seconds).unwrap_or(i64::MAX))
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?)
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

/// How many workstations with this GPU in this region hold capacity, not
/// counting `except` and anything created after it.
pub async fn capacity_in_use(db: &Db, region: &str, gpu: &str, except: &str) -> Result<i64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, i64>(&format!(
        "SELECT COUNT(*) FROM workstations
         WHERE region = $1 AND gpu = $2 AND status IN ({holding}) AND id != $3
           AND seq < (SELECT seq FROM workstations WHERE id = $3)",
        holding = holding_statuses()
    ))
    .bind(region)
    .bind(gpu)
    .bind(except)
    .fetch_one(pool)
    .await)?)
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
        "SELECT {WORKSTATION_COLUMNS}, {RUNNING_SINCE} FROM workstations WHERE owner_id = $1 AND id = $2"
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

/// The columns of a workstation row with its position, in the order of
/// [`WorkstationRow`]'s fields: [`WorkstationRow::from_columns`] reads them
/// by position, and when SQLite's page goes through the pool it sends each
/// row as a JSON array of them (no keys to write, send and match), which
/// serde reads into the struct by position. A test holds the orders together.
const PAGE_ROW_COLUMNS: [&str; 22] = [
    "seq",
    "id",
    "name",
    "owner_id",
    "owner_kind",
    "owner_name",
    "status",
    "cpu_cores",
    "memory_gb",
    "gpu",
    "storage_gb",
    "region",
    "phase",
    "progress",
    "status_reason",
    "created_at",
    "version",
    "pending_configuration",
    "auto_stop_idle_secs",
    "auto_stop_running_secs",
    "last_activity_at",
    "running_since",
];

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
    // On SQLite the page is read on this thread (`Db::read_here`); when
    // that read is left to the pool, the page comes back as one JSON array
    // (of arrays) in one row: sqlx's driver hands rows over between threads
    // one at a time, and a page is many rows. PostgreSQL's rows come over one
    // connection as they are.
    // The name prefix matches in any case, as SQLite's LIKE does.
    // Only the filters given are in the statement: a condition such as
    // `$2 IS NULL OR status = $2` would have PostgreSQL plan for any value
    // (a scan of all the owner's rows and a sort) instead of reading the
    // (owner, position) index newest first.
    enum Param<'a> {
        Text(&'a str),
        Int(i64),
    }
    let dialect = db.dialect();
    let like_prefix = format!("name {}", dialect.like_any_case);
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
    let page = |columns: &str| {
        format!(
            "SELECT {columns} FROM (
             SELECT seq, {ONE_OWNERS_COLUMNS}, {RUNNING_SINCE} FROM workstations
             WHERE owner_id = $1{conditions}
             ORDER BY seq DESC
             LIMIT ${limit_param}) AS page"
        )
    };
    let columns = PAGE_ROW_COLUMNS.join(", ");
    let plain = page(&columns);
    let limit = limit + 1;
    // SQLite: read on this thread, row by row, unless the read runs long.
    let here = {
        let mut here_params: Vec<&dyn rusqlite::ToSql> = vec![&owner_id];
        here_params.extend(params.iter().map(|param| match param {
            Param::Text(text) => text as &dyn rusqlite::ToSql,
            Param::Int(n) => n,
        }));
        here_params.push(&limit);
        db.read_here(&plain, rusqlite::params_from_iter(here_params), WorkstationRow::from_columns)
    };
    let rows = match here {
        Some(rows) => rows,
        None => {
            let sql = dialect.json_page.map_or(plain, |aggregate| page(&aggregate(&columns)));
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
                    query.bind(limit)
                }};
            }
            let mut rows: Vec<WorkstationRow> = on_pool!(db, |pool, d| if d.json_page.is_some() {
                let page: String = bound!(sqlx::query_scalar(&sql)).fetch_one(pool).await?;
                serde_json::from_str(&page).map_err(|e| decode_error("workstation page", e))?
            } else {
                bound!(sqlx::query_as::<_, WorkstationRow>(&sql)).fetch_all(pool).await?
            });
            // Newest first, whatever order the aggregate kept.
            rows.sort_unstable_by_key(|r| std::cmp::Reverse(r.seq));
            rows
        }
    };
    rows.into_iter().map(|r| Ok((r.seq, WorkstationState::try_from(r)?))).collect()
}

/// How many workstations exist in all (used by tests to prove nothing was stored).
pub async fn count_workstations(db: &Db) -> Result<i64, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM workstations")
        .fetch_one(pool)
        .await)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::{self, Deserialize, Deserializer, Visitor};

    /// A deserializer that only learns the field names serde gives a struct.
    struct FieldNames<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for FieldNames<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("only a struct's field names are read"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("the field names are read"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    /// A page reads its owner's kind and name once, not for each row.
    #[test]
    fn a_page_reads_its_owner_once() {
        assert_eq!(ONE_OWNERS_COLUMNS.matches("WHERE o.id = $1").count(), 2, "{ONE_OWNERS_COLUMNS}");
        assert!(!ONE_OWNERS_COLUMNS.contains("workstations.owner_id"), "{ONE_OWNERS_COLUMNS}");
        assert_eq!(WORKSTATION_COLUMNS.matches("WHERE o.id = workstations.owner_id").count(), 2);
    }

    /// SQLite's page rows are arrays read by position: the columns must be
    /// in the order of the row's fields.
    #[test]
    fn a_page_rows_columns_are_in_the_order_of_its_fields() {
        let mut fields: &'static [&'static str] = &[];
        assert!(WorkstationRow::deserialize(FieldNames(&mut fields)).is_err());
        assert_eq!(fields, PAGE_ROW_COLUMNS);
    }
}
