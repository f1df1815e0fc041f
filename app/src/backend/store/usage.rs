//! The `usage_intervals` table: what each workstation ran and held, kept by
//! triggers (migration 0012), read for usage reports.

use sqlx::FromRow;

use super::Db;
use crate::backend::Error;
use crate::domain::UsageInterval;
use crate::on_pool;

#[derive(FromRow)]
struct Row {
    workstation_id: String,
    name: String,
    kind: String,
    cpu_cores: i64,
    memory_gb: i64,
    gpu: String,
    storage_gb: i64,
    started_at: String,
    ended_at: Option<String>,
}

/// The owner's intervals that overlap `[from, to)` (RFC 3339 text), of one
/// workstation or of all.
pub async fn usage_intervals(
    db: &Db,
    owner_id: i64,
    workstation: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<UsageInterval>, Error> {
    let rows = on_pool!(db, |pool, d| sqlx::query_as::<_, Row>(
        "SELECT workstation_id, name, kind, cpu_cores, memory_gb, gpu, storage_gb, started_at, ended_at
         FROM usage_intervals
         WHERE owner_id = $1 AND started_at < $2 AND (ended_at IS NULL OR ended_at > $3)
           AND ($4 IS NULL OR workstation_id = $4)
         ORDER BY started_at"
    )
    .bind(owner_id)
    .bind(to)
    .bind(from)
    .bind(workstation)
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|r| UsageInterval {
            workstation_id: r.workstation_id,
            name: r.name,
            kind: r.kind,
            cpu_cores: r.cpu_cores,
            memory_gb: r.memory_gb,
            gpu: r.gpu,
            storage_gb: r.storage_gb,
            started_at: r.started_at,
            ended_at: r.ended_at,
        })
        .collect())
}
