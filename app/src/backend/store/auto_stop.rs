//! What auto-stop reads and writes: running workstations with when they
//! started and were last active, and activity.

use sqlx::FromRow;

use super::{Db, Tx};
use crate::backend::Error;
use crate::domain::{AutoStop, WorkstationStatus};
use crate::{on_pool, on_tx};

/// A running workstation no job is working on.
#[derive(Debug, Clone, FromRow)]
pub struct RunningWorkstation {
    pub id: String,
    pub owner_id: i64,
    pub version: i64,
    /// When this run started (its open usage interval).
    pub running_since: String,
    pub last_activity_at: Option<String>,
    /// The deadline it was last warned about.
    pub auto_stop_warned_for: Option<String>,
    pub auto_stop_idle_secs: Option<i64>,
    pub auto_stop_running_secs: Option<i64>,
}

impl RunningWorkstation {
    /// Its timeouts.
    pub fn auto_stop(&self) -> AutoStop {
        AutoStop::from_stored(self.auto_stop_idle_secs, self.auto_stop_running_secs)
    }
}

/// The columns of a [`RunningWorkstation`], of `workstations w` and `usage_intervals u`.
const RUNNING_COLUMNS: &str =
    "w.id, w.owner_id, w.version, u.started_at AS running_since, w.last_activity_at,
    w.auto_stop_warned_for, w.auto_stop_idle_secs, w.auto_stop_running_secs";

/// Every running workstation no job is working on.
pub async fn running_workstations(db: &Db) -> Result<Vec<RunningWorkstation>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, RunningWorkstation>(&format!(
        "SELECT {RUNNING_COLUMNS}
         FROM workstations w
         JOIN usage_intervals u ON u.workstation_id = w.id AND u.kind = 'running' AND u.ended_at IS NULL
         WHERE w.status = '{running}' AND w.phase IS NULL",
        running = WorkstationStatus::Running.as_str()
    ))
    .fetch_all(pool)
    .await)?)
}

/// The running workstation `id` read inside a write transaction (with its
/// activity as of now), if no job works on it.
pub async fn running_workstation_in_tx(tx: &mut Tx, id: &str) -> Result<Option<RunningWorkstation>, Error> {
    Ok(on_tx!(tx, |conn, d| sqlx::query_as::<_, RunningWorkstation>(&format!(
        "SELECT {RUNNING_COLUMNS}
         FROM workstations w
         JOIN usage_intervals u ON u.workstation_id = w.id AND u.kind = 'running' AND u.ended_at IS NULL
         WHERE w.status = '{running}' AND w.phase IS NULL AND w.id = $1",
        running = WorkstationStatus::Running.as_str()
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await)?)
}

/// Records activity on the owner's running workstation now; false when it
/// is not the owner's, not running, or a job works on it (a stop already
/// under way is not held back by it). (Not a change of the workstation:
/// its version stays.)
pub async fn touch_activity(tx: &mut Tx, owner_id: i64, id: &str) -> Result<bool, Error> {
    Ok(on_tx!(tx, |conn, d| {
        sqlx::query(&format!(
        "UPDATE workstations SET last_activity_at = {now} WHERE id = $1 AND owner_id = $2 AND status = '{running}' AND phase IS NULL",
        now = d.now,
        running = WorkstationStatus::Running.as_str()
    ))
    .bind(id)
    .bind(owner_id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected())
    })? == 1)
}

/// Notes that the workstation was warned about `deadline`.
pub async fn mark_warned(tx: &mut Tx, id: &str, deadline: &str) -> Result<(), Error> {
    on_tx!(tx, |conn, d| sqlx::query("UPDATE workstations SET auto_stop_warned_for = $1 WHERE id = $2")
        .bind(deadline)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
