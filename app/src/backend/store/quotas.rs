//! The `user_quotas` table (each user's own limits) and the `owner_usage`
//! running totals of what their workstations hold.

use super::{Db, Tx};
use crate::backend::Error;
use crate::{on_pool, on_tx};

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
