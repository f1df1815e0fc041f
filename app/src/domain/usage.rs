//! What was used: running hours, core-hours, GPU-hours by type and storage
//! GB-days, summed from the recorded intervals over a period.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::time::{format_utc_millis, parse_utc_millis};

/// One recorded interval, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageInterval {
    pub workstation_id: String,
    pub name: String,
    /// `running` (it ran, holding its CPU, memory and GPU) or `storage` (it existed, holding its storage).
    pub kind: String,
    pub cpu_cores: i64,
    pub memory_gb: i64,
    pub gpu: String,
    pub storage_gb: i64,
    /// RFC 3339 UTC.
    pub started_at: String,
    /// `None` while it lasts.
    pub ended_at: Option<String>,
}

/// Sums for one workstation, or for all.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageTotals {
    /// Hours it ran.
    pub running_hours: f64,
    /// CPU cores × hours running.
    pub cpu_core_hours: f64,
    /// GB of memory × hours running.
    pub memory_gb_hours: f64,
    /// Hours running, per GPU type (one GPU each).
    pub gpu_hours: BTreeMap<String, f64>,
    /// GB of storage × days it existed.
    pub storage_gb_days: f64,
    /// How many times it ran in the period.
    pub running_intervals: u32,
}

/// One workstation's usage (it may have been deleted since).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkstationUsage {
    pub id: String,
    pub name: String,
    #[serde(flatten)]
    pub totals: UsageTotals,
}

/// `GET /v1/usage`: a period's usage, per workstation and in total.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    /// The period's start (RFC 3339, UTC).
    pub from: String,
    /// The period's end: what is still running counts until now when that is earlier.
    pub to: String,
    pub total: UsageTotals,
    /// Workstations that used anything in the period, by name.
    pub workstations: Vec<WorkstationUsage>,
}

const HOUR_MS: f64 = 3_600_000.0;
const DAY_MS: f64 = 86_400_000.0;

impl UsageTotals {
    fn add(&mut self, interval: &UsageInterval, ms: f64) {
        match interval.kind.as_str() {
            "running" => {
                let hours = ms / HOUR_MS;
                self.running_hours += hours;
                self.cpu_core_hours += hours * interval.cpu_cores as f64;
                self.memory_gb_hours += hours * interval.memory_gb as f64;
                *self.gpu_hours.entry(interval.gpu.clone()).or_default() += hours;
                self.running_intervals += 1;
            }
            _ => self.storage_gb_days += ms / DAY_MS * interval.storage_gb as f64,
        }
    }

    fn merge(&mut self, other: &UsageTotals) {
        self.running_hours += other.running_hours;
        self.cpu_core_hours += other.cpu_core_hours;
        self.memory_gb_hours += other.memory_gb_hours;
        for (gpu, hours) in &other.gpu_hours {
            *self.gpu_hours.entry(gpu.clone()).or_default() += hours;
        }
        self.storage_gb_days += other.storage_gb_days;
        self.running_intervals += other.running_intervals;
    }
}

impl UsageReport {
    /// Sums `intervals` over `[from_ms, to_ms)`, counting what lasts until
    /// `now_ms` (intervals outside the period add nothing).
    pub fn sum(intervals: &[UsageInterval], from_ms: i64, to_ms: i64, now_ms: i64) -> Self {
        let end = to_ms.min(now_ms).max(from_ms);
        let mut by_workstation: BTreeMap<String, WorkstationUsage> = BTreeMap::new();
        for interval in intervals {
            let Some(started) = parse_utc_millis(&interval.started_at) else { continue };
            let ended = interval.ended_at.as_deref().and_then(parse_utc_millis).unwrap_or(now_ms);
            let overlap = ended.min(end) - started.max(from_ms);
            if overlap <= 0 && !(interval.kind == "running" && started >= from_ms && started < end) {
                continue;
            }
            let entry =
                by_workstation.entry(interval.workstation_id.clone()).or_insert_with(|| WorkstationUsage {
                    id: interval.workstation_id.clone(),
                    name: interval.name.clone(),
                    totals: UsageTotals::default(),
                });
            entry.totals.add(interval, overlap.max(0) as f64);
        }
        let mut workstations: Vec<WorkstationUsage> = by_workstation.into_values().collect();
        workstations.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        let mut total = UsageTotals::default();
        for w in &workstations {
            total.merge(&w.totals);
        }
        Self { from: format_utc_millis(from_ms), to: format_utc_millis(end), total, workstations }
    }
}

/// The period a month names (`2026-11`): its first millisecond and the next month's.
pub fn month_bounds(month: &str) -> Option<(i64, i64)> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
    if !(1..=12).contains(&m) || !(1970..=9999).contains(&y) || month.len() != 7 {
        return None;
    }
    let start = parse_utc_millis(&format!("{y:04}-{m:02}-01T00:00:00.000Z"))?;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let end = parse_utc_millis(&format!("{ny:04}-{nm:02}-01T00:00:00.000Z"))?;
    Some((start, end))
}

/// A period's bound as a client writes it: RFC 3339 UTC (`2026-11-29T10:00:00Z`)
/// or a date (`2026-11-29`, its midnight UTC).
pub fn parse_bound(text: &str) -> Option<i64> {
    let full = if text.len() == 10 { format!("{text}T00:00:00.000Z") } else { text.to_owned() };
    // Years 1970–9999 with real calendar days: what the stored text compares right with.
    let (date, _) = full.split_once('T')?;
    let mut parts = date.split('-');
    let (y, m, d): (i64, i64, i64) =
        (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    if date.len() != 10
        || !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || d < 1
        || d > days_in_month(y, m)
    {
        return None;
    }
    parse_utc_millis(&full)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(kind: &str, start: &str, end: Option<&str>) -> UsageInterval {
        UsageInterval {
            workstation_id: "ws-1".into(),
            name: "box".into(),
            kind: kind.into(),
            cpu_cores: 8,
            memory_gb: 32,
            gpu: "NVIDIA L4".into(),
            storage_gb: 100,
            started_at: start.into(),
            ended_at: end.map(str::to_owned),
        }
    }

    #[test]
    fn intervals_are_clipped_to_the_period_and_summed() {
        let (from, to) = month_bounds("2026-11").unwrap();
        let intervals = [
            // Began in October: only November's 2 hours count.
            interval("running", "2026-10-31T23:00:00.000Z", Some("2026-11-01T02:00:00.000Z")),
            interval("running", "2026-11-10T10:00:00.000Z", Some("2026-11-10T10:30:00.000Z")),
            // Storage all month (30 days) and beyond.
            interval("storage", "2026-10-01T00:00:00.000Z", None),
            // Outside.
            interval("running", "2026-12-01T00:00:00.000Z", None),
        ];
        let now = parse_utc_millis("2026-12-05T00:00:00.000Z").unwrap();
        let report = UsageReport::sum(&intervals, from, to, now);
        let t = &report.total;
        assert!((t.running_hours - 2.5).abs() < 1e-9, "{t:?}");
        assert!((t.cpu_core_hours - 20.0).abs() < 1e-9);
        assert!((t.memory_gb_hours - 80.0).abs() < 1e-9);
        assert!((t.gpu_hours["NVIDIA L4"] - 2.5).abs() < 1e-9);
        assert!((t.storage_gb_days - 3000.0).abs() < 1e-9);
        assert_eq!(t.running_intervals, 2);
        assert_eq!(report.from, "2026-11-01T00:00:00.000Z");
        assert_eq!(report.to, "2026-12-01T00:00:00.000Z");
        assert_eq!(report.workstations.len(), 1);
    }

    #[test]
    fn what_still_runs_counts_until_now() {
        let (from, to) = month_bounds("2026-11").unwrap();
        let now = parse_utc_millis("2026-11-02T00:00:00.000Z").unwrap();
        let report =
            UsageReport::sum(&[interval("running", "2026-11-01T23:00:00.000Z", None)], from, to, now);
        assert!((report.total.running_hours - 1.0).abs() < 1e-9);
        assert_eq!(report.to, "2026-11-02T00:00:00.000Z");
    }

    #[test]
    fn bounds() {
        assert_eq!(
            month_bounds("2026-12").map(|(a, b)| (format_utc_millis(a), format_utc_millis(b))),
            Some(("2026-12-01T00:00:00.000Z".into(), "2027-01-01T00:00:00.000Z".into()))
        );
        assert_eq!(month_bounds("2026-13"), None);
        assert_eq!(month_bounds("26-1"), None);
        assert_eq!(parse_bound("2026-11-29"), parse_utc_millis("2026-11-29T00:00:00.000Z"));
        assert_eq!(parse_bound("2026-11-29T10:00:00Z"), parse_utc_millis("2026-11-29T10:00:00.000Z"));
        assert_eq!(parse_bound("yesterday"), None);
        assert_eq!(parse_bound("2026-02-31"), None);
        assert_eq!(parse_bound("2024-02-29"), parse_utc_millis("2024-02-29T00:00:00.000Z"));
        assert_eq!(parse_bound("10000-01-01"), None);
        assert_eq!(parse_bound("99999999999999-01-01"), None);
        assert_eq!(parse_bound("1969-12-31"), None);
        for text in ["2024-02-29T23:59:59.999Z", "1999-12-31T00:00:00.000Z", "2026-11-29T15:25:03.120Z"] {
            assert_eq!(format_utc_millis(parse_utc_millis(text).unwrap()), text);
        }
    }
}
