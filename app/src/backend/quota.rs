//! Checking and reporting per-user quotas.

use super::store::{self, Tx, User};
use super::{AppState, Error, QuotaExcess};
use crate::domain::{Quota, QuotaStatus};

/// A user's limits (their overrides, else `defaults`) and what they hold,
/// read through `tx`, which may be a write transaction (so a check and the
/// write after it see the same totals, with no second connection).
pub async fn read(tx: &mut Tx, defaults: Quota, user_id: i64) -> Result<QuotaStatus, Error> {
    let overrides = store::user_quota(tx, user_id).await?;
    let used = store::quota_usage(tx, user_id).await?;
    Ok(QuotaStatus { limits: overrides.over(defaults), used })
}

/// The user's limits and usage.
pub async fn status(state: &AppState, user: &User) -> Result<QuotaStatus, Error> {
    let mut tx = store::begin_read(&state.pool).await?;
    let status = read(&mut tx, state.settings.default_quota, user.id).await?;
    tx.commit().await?;
    Ok(status)
}

/// The limit holding `add` instead of `remove` on top of `used` would pass, if any.
pub fn excess(limits: &Quota, used: Quota, add: Quota, remove: Quota) -> Option<QuotaExcess> {
    let after = used.minus(remove).plus(add);
    // Only a resource the request grows can be the one that passes its limit.
    let grown = Quota {
        cpu_cores: if add.cpu_cores > remove.cpu_cores { after.cpu_cores } else { 0 },
        memory_gb: if add.memory_gb > remove.memory_gb { after.memory_gb } else { 0 },
        gpus: if add.gpus > remove.gpus { after.gpus } else { 0 },
        storage_gb: if add.storage_gb > remove.storage_gb { after.storage_gb } else { 0 },
    };
    let (resource, words, requested, limit) = grown.first_excess(limits)?;
    Some(QuotaExcess {
        resource,
        limit,
        requested,
        detail: format!("this would use {requested} of your {limit} {words} (quota {resource})"),
    })
}
