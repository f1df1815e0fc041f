//! The `jobs` table: queued work, claimed by a worker under a lease,
//! renewed while it runs, taken over when the lease runs out, ended once.

use sqlx::FromRow;

use super::workstations::get_workstation;
use super::{decode_error, json_param, Db, Tx};
use crate::backend::Error;
use crate::domain::job::CANCELLED;
use crate::domain::{JobKind, JobState, Workstation};
use crate::{on_pool, on_tx};

/// Queues the provisioning job of each new workstation, in one statement.
pub(super) async fn insert_provision_jobs(tx: &mut Tx, workstation_ids: &[&str]) -> Result<(), Error> {
    if workstation_ids.is_empty() {
        return Ok(());
    }
    let ids = json_param(workstation_ids)?;
    on_tx!(tx, |conn, d| {
        sqlx::query(&insert_provision_jobs_sql(
            "value",
            &format!("({list}) AS ids", list = d.json_texts("$1")),
        ))
        .bind(&ids)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The `INSERT` of a queued provisioning job for each row of `from` (a FROM
/// clause, in the order the jobs take their ids), its workstation's id read by `workstation_id`.
pub(super) fn insert_provision_jobs_sql(workstation_id: &str, from: &str) -> String {
    format!(
        "INSERT INTO jobs (workstation_id, kind, state) SELECT {workstation_id}, '{provision}', '{queued}' FROM {from}",
        provision = JobKind::Provision.as_str(),
        queued = JobState::Queued.as_str(),
    )
}

/// A job a worker has claimed.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub workstation_id: String,
    pub kind: JobKind,
    /// Starts so far, this one included.
    pub attempts: i64,
    /// Why it was queued, when not at a user's request (its end event says so).
    pub reason: Option<String>,
}

#[derive(FromRow)]
struct ClaimedJobRow {
    id: i64,
    workstation_id: String,
    kind: String,
    attempts: i64,
    reason: Option<String>,
}

impl TryFrom<ClaimedJobRow> for ClaimedJob {
    type Error = Error;

    fn try_from(row: ClaimedJobRow) -> Result<Self, Error> {
        Ok(Self {
            kind: row.kind.parse().map_err(|e| decode_error("jobs.kind", e))?,
            id: row.id,
            workstation_id: row.workstation_id,
            attempts: row.attempts,
            reason: row.reason,
        })
    }
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
    on_pool!(db, |pool, d| sqlx::query_as::<_, ClaimedJobRow>(&format!(
        "UPDATE jobs SET state = '{running}', attempts = attempts + 1, started_at = {now},
                lease_holder = $1, lease_expires_at = {until}
         WHERE id = (SELECT id FROM jobs
                     WHERE state = '{queued}' OR (state = '{running}' AND lease_expires_at < {now})
                     ORDER BY id LIMIT 1 {skip_locked})
         RETURNING id, workstation_id, kind, attempts, reason",
        running = JobState::Running.as_str(),
        queued = JobState::Queued.as_str(),
        now = d.now,
        until = d.now_plus("$2"),
        skip_locked = d.skip_locked
    ))
    .bind(holder)
    .bind(lease_secs)
    .fetch_optional(pool)
    .await)?
    .map(ClaimedJob::try_from)
    .transpose()
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
         WHERE lease_holder = $1 AND state = '{running}'
           AND id IN (SELECT CAST(value AS BIGINT) FROM ({ids}) AS ids)
         RETURNING id, attempts, cancel_requested",
        running = JobState::Running.as_str(),
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
        "UPDATE jobs SET lease_expires_at = {past} WHERE state = '{running}'",
        running = JobState::Running.as_str(),
        past = d.now_plus("-1")
    ))
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?)
}

/// Queues a job of `kind` for a workstation.
pub async fn insert_job(tx: &mut Tx, workstation_id: &str, kind: JobKind) -> Result<(), Error> {
    insert_job_for(tx, workstation_id, kind, None).await
}

/// Queues a job that something other than a user asked for, saying why.
pub async fn insert_job_for(
    tx: &mut Tx,
    workstation_id: &str,
    kind: JobKind,
    reason: Option<&str>,
) -> Result<(), Error> {
    on_tx!(tx, |conn, d| sqlx::query(
        "INSERT INTO jobs (workstation_id, kind, state, reason) VALUES ($1, $2, $3, $4)"
    )
    .bind(workstation_id)
    .bind(kind.as_str())
    .bind(JobState::Queued.as_str())
    .bind(reason)
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
            "UPDATE jobs SET state = '{failed}', error = $2, finished_at = {now}
             WHERE workstation_id = $1 AND state = '{queued}'",
            failed = JobState::Failed.as_str(),
            queued = JobState::Queued.as_str(),
            now = d.now
        ))
        .bind(workstation_id)
        .bind(CANCELLED)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() > 0 {
            return Ok(Cancelling::Queued);
        }
        let running: Option<i64> = sqlx::query_scalar(&format!(
            "UPDATE jobs SET cancel_requested = TRUE WHERE workstation_id = $1 AND state = '{running}' RETURNING id",
            running = JobState::Running.as_str()
        ))
        .bind(workstation_id)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(running.map_or(Cancelling::Nothing, Cancelling::Running))
    })
}

/// Ends the start `attempts` of a job `holder` runs. Returns false, changing
/// nothing, when that start is no longer current: its lease ran out and the
/// job was taken over (by another instance, or a later start here), so the
/// end is the later start's to record.
pub async fn finish_job(
    tx: &mut Tx,
    job: &ClaimedJob,
    holder: &str,
    error: Option<&str>,
) -> Result<bool, Error> {
    let state = if error.is_none() { JobState::Succeeded } else { JobState::Failed };
    let ended = on_tx!(tx, |conn, d| sqlx::query(&format!(
        "UPDATE jobs SET state = $1, error = $2, finished_at = {now}, lease_holder = NULL,
                lease_expires_at = NULL
         WHERE id = $3 AND state = '{running}' AND lease_holder = $4 AND attempts = $5",
        running = JobState::Running.as_str(),
        now = d.now
    ))
    .bind(state.as_str())
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
         WHERE lease_holder = $1 AND state = '{running}'",
        running = JobState::Running.as_str(),
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

/// The mean duration in seconds of finished provisioning jobs for this GPU
/// type and region, if any finished.
pub async fn mean_job_seconds(db: &Db, gpu: &str, region: &str) -> Result<Option<f64>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, Option<f64>>(&format!(
        "SELECT CAST(AVG({seconds}) AS DOUBLE PRECISION)
         FROM jobs j JOIN workstations w ON w.id = j.workstation_id
         WHERE j.state = '{succeeded}' AND w.gpu = $1 AND w.region = $2",
        seconds = d.seconds_between("j.started_at", "j.finished_at"),
        succeeded = JobState::Succeeded.as_str()
    ))
    .bind(gpu)
    .bind(region)
    .fetch_one(pool)
    .await)?)
}

/// When the workstation's running job started, if one is running.
pub async fn running_job_started_at(db: &Db, workstation_id: &str) -> Result<Option<String>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_scalar::<_, Option<String>>(&format!(
        "SELECT started_at FROM jobs WHERE workstation_id = $1 AND state = '{running}' ORDER BY id DESC LIMIT 1",
        running = JobState::Running.as_str()
    ))
    .bind(workstation_id)
    .fetch_optional(pool)
    .await)?
    .flatten())
}

/// How many jobs are in each state.
pub async fn job_counts(db: &Db) -> Result<Vec<(JobState, i64)>, Error> {
    let rows: Vec<(String, i64)> = on_pool!(db, |pool, d| sqlx::query_as(
        "SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state"
    )
    .fetch_all(pool)
    .await)?;
    rows.into_iter()
        .map(|(state, count)| Ok((state.parse().map_err(|e| decode_error("jobs.state", e))?, count)))
        .collect()
}
