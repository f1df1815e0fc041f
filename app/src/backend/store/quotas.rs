//! The `user_quotas` table (each user's own limits) and the `owner_usage`
//! running totals of what their workstations hold.

use super::{Db, Tx};
use crate::backend::Error;
use crate::domain::QuotaOverrides;
use crate::{on_pool, on_tx};

/// A user's own limits (`None`: the default; a stored value below zero too).
pub async fn user_quota(tx: &mut Tx, user_id: i64) -> Result<QuotaOverrides, Error> {
    let row =
        on_tx!(tx, |conn, d| sqlx::query_as::<_, (Option<i64>, Option<i64>, Option<i64>, Option<i64>)>(
            "SELECT cpu_cores, memory_gb, gpus, storage_gb FROM user_quotas WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await)?;
    Ok(row.map(overrides_from).unwrap_or_default())
}

/// A user's own limits from their stored columns `(cpu_cores, memory_gb,
/// gpus, storage_gb)` of `user_quotas`: a missing or negative one is the default.
pub(super) fn overrides_from(
    (cpu_cores, memory_gb, gpus, storage_gb): (Option<i64>, Option<i64>, Option<i64>, Option<i64>),
) -> QuotaOverrides {
    let limit = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
    QuotaOverrides {
        cpu_cores: limit(cpu_cores),
        memory_gb: limit(memory_gb),
        gpus: limit(gpus),
        storage_gb: limit(storage_gb),
    }
}

/// Sets some of a user's own limits, keeping the others.
pub async fn set_user_quota(db: &Db, user_id: i64, overrides: QuotaOverrides) -> Result<(), Error> {
    let value = |v: Option<u64>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
    on_pool!(db, |pool, d| sqlx::query(
        "INSERT INTO user_quotas AS q (user_id, cpu_cores, memory_gb, gpus, storage_gb)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET
            cpu_cores = COALESCE($2, q.cpu_cores), memory_gb = COALESCE($3, q.memory_gb),
            gpus = COALESCE($4, q.gpus), storage_gb = COALESCE($5, q.storage_gb)",
    )
    .bind(user_id)
    .bind(value(overrides.cpu_cores))
    .bind(value(overrides.memory_gb))
    .bind(value(overrides.gpus))
    .bind(value(overrides.storage_gb))
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sets all of a user's own limits at once: `None` is the server's default.
pub async fn replace_user_quota(db: &Db, user_id: i64, limits: QuotaOverrides) -> Result<(), Error> {
    let value = |v: Option<u64>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
    on_pool!(db, |pool, d| sqlx::query(
        "INSERT INTO user_quotas AS q (user_id, cpu_cores, memory_gb, gpus, storage_gb)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET
            cpu_cores = $2, memory_gb = $3, gpus = $4, storage_gb = $5",
    )
    .bind(user_id)
    .bind(value(limits.cpu_cores))
    .bind(value(limits.memory_gb))
    .bind(value(limits.gpus))
    .bind(value(limits.storage_gb))
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// What a user's workstations hold (those in `error` hold nothing).
pub async fn quota_usage(tx: &mut Tx, owner_id: i64) -> Result<crate::domain::Quota, Error> {
    // Running totals kept by triggers (migration 0007).
    let row =
        on_tx!(tx, |conn, d| sqlx::query_as::<_, (Option<i64>, Option<i64>, Option<i64>, Option<i64>)>(
            "SELECT cpu_cores, memory_gb, gpus, storage_gb FROM owner_usage WHERE owner_id = $1",
        )
        .bind(owner_id)
        .fetch_optional(&mut *conn)
        .await)?;
    Ok(row.map(usage_from).unwrap_or_default())
}

/// What an owner's workstations hold from their `owner_usage` columns
/// `(cpu_cores, memory_gb, gpus, storage_gb)`: none stored is nothing held.
pub(super) fn usage_from(
    (cpu, mem, count, disk): (Option<i64>, Option<i64>, Option<i64>, Option<i64>),
) -> crate::domain::Quota {
    let n = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
    crate::domain::Quota { cpu_cores: n(cpu), memory_gb: n(mem), gpus: n(count), storage_gb: n(disk) }
}
