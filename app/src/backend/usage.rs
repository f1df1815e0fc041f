//! Usage reports: what a user's workstations ran and held over a period.

use super::store::{self, User};
use super::{AppState, Error};
use crate::domain::time::format_utc_millis;
use crate::domain::UsageReport;

/// Milliseconds since 1970, now.
pub fn now_millis() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// The owner's usage over `[from_ms, to_ms)`, of one workstation (also a
/// deleted one) or of all.
pub async fn report(
    db: &store::Db,
    owner: &User,
    from_ms: i64,
    to_ms: i64,
    workstation: Option<&str>,
) -> Result<UsageReport, Error> {
    let (from, to) = (format_utc_millis(from_ms), format_utc_millis(to_ms));
    let intervals = store::usage_intervals(db, owner.id, workstation, &from, &to).await?;
    Ok(UsageReport::sum(&intervals, from_ms, to_ms, now_millis()))
}

/// The start of this month (UTC) and of the next, in milliseconds.
pub fn this_month() -> (i64, i64) {
    let now = format_utc_millis(now_millis());
    crate::domain::usage::month_bounds(&now[..7]).unwrap_or((0, now_millis()))
}

/// The owner's usage this month so far, for the pages.
pub async fn this_month_report(
    state: &AppState,
    owner: &User,
    workstation: Option<&str>,
) -> Result<UsageReport, Error> {
    let (from, to) = this_month();
    report(&state.pool, owner, from, to, workstation).await
}
