//! The `assignments` table: the engine (host) each container workstation
//! lives on and the GPU device it holds.

use sqlx::FromRow;

use super::workstations::holding_statuses;
use super::{is_unique_violation, Db, Tx};
use crate::backend::Error;
use crate::domain::WorkstationStatus;
use crate::{on_pool, on_tx};

/// Where a workstation lives and the device it holds.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Assignment {
    pub host: String,
    pub gpu: String,
    pub device: Option<String>,
}

/// A workstation's assignment, if it has one.
pub async fn assignment(db: &Db, workstation_id: &str) -> Result<Option<Assignment>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, Assignment>(
        "SELECT host, gpu, device FROM assignments WHERE workstation_id = $1"
    )
    .bind(workstation_id)
    .fetch_optional(pool)
    .await)?)
}

/// The devices of `gpu` held on `host` by workstations other than `except`
/// that hold capacity (a failed workstation's device may be taken).
pub async fn devices_held(tx: &mut Tx, host: &str, gpu: &str, except: &str) -> Result<Vec<String>, Error> {
    Ok(on_tx!(tx, |conn, d| sqlx::query_scalar::<_, String>(&format!(
        "SELECT a.device FROM assignments a JOIN workstations w ON w.id = a.workstation_id
         WHERE a.host = $1 AND a.gpu = $2 AND a.device IS NOT NULL AND a.workstation_id != $3
           AND w.status IN ({holding})",
        holding = holding_statuses()
    ))
    .bind(host)
    .bind(gpu)
    .bind(except)
    .fetch_all(&mut *conn)
    .await)?)
}

/// How many workstations live on `host`.
pub async fn host_load(tx: &mut Tx, host: &str) -> Result<i64, Error> {
    Ok(on_tx!(tx, |conn, d| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM assignments WHERE host = $1"
    )
    .bind(host)
    .fetch_one(&mut *conn)
    .await)?)
}

/// Records that `workstation_id` lives on `host` and holds `device` of
/// `gpu`, taking the device from a failed workstation that still has it.
/// `Ok(false)` when another workstation took the device first.
pub async fn assign(
    tx: &mut Tx,
    workstation_id: &str,
    host: &str,
    gpu: &str,
    device: Option<&str>,
) -> Result<bool, Error> {
    if let Some(device) = device {
        on_tx!(tx, |conn, d| sqlx::query(
            "UPDATE assignments SET device = NULL
             WHERE host = $1 AND gpu = $2 AND device = $3 AND workstation_id != $4"
        )
        .bind(host)
        .bind(gpu)
        .bind(device)
        .bind(workstation_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    }
    let written = on_tx!(tx, |conn, d| sqlx::query(
        "INSERT INTO assignments (workstation_id, host, gpu, device) VALUES ($1, $2, $3, $4)
         ON CONFLICT (workstation_id) DO UPDATE SET host = excluded.host, gpu = excluded.gpu,
                                                    device = excluded.device"
    )
    .bind(workstation_id)
    .bind(host)
    .bind(gpu)
    .bind(device)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()));
    match written {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Forgets a deleted workstation's assignment.
pub async fn unassign(db: &Db, workstation_id: &str) -> Result<(), Error> {
    on_pool!(db, |pool, d| sqlx::query("DELETE FROM assignments WHERE workstation_id = $1")
        .bind(workstation_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A workstation with an assignment, as the reconciler compares it with
/// what its engine reports.
#[derive(Debug, Clone, FromRow)]
pub struct Assigned {
    pub id: String,
    pub owner_id: i64,
    pub host: String,
    pub status: String,
    /// Set while a job works on it.
    pub phase: Option<String>,
    pub version: i64,
}

impl Assigned {
    /// Its status, when it reads as one.
    pub fn status(&self) -> Option<WorkstationStatus> {
        self.status.parse().ok()
    }

    /// Whether a job is working on it now (it has a phase).
    pub fn busy(&self) -> bool {
        self.phase.is_some()
    }
}

/// Every workstation with an assignment.
pub async fn assigned_workstations(db: &Db) -> Result<Vec<Assigned>, Error> {
    Ok(on_pool!(db, |pool, d| sqlx::query_as::<_, Assigned>(
        "SELECT w.id, w.owner_id, a.host, w.status, w.phase, w.version
         FROM assignments a JOIN workstations w ON w.id = a.workstation_id"
    )
    .fetch_all(pool)
    .await)?)
}
