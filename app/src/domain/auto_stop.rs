//! When a running workstation stops by itself, and the words that say why;
//! a workstation's own timeouts (`autoStop`) and the rules they are read by.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::request::{escape_pointer, integer, must_be, FieldError};

/// JSON pointer of a request's `autoStop`.
pub const POINTER: &str = "#/autoStop";
/// JSON pointer of `autoStop.idleTimeoutSeconds`.
pub const IDLE_POINTER: &str = "#/autoStop/idleTimeoutSeconds";
/// JSON pointer of `autoStop.runningTimeoutSeconds`.
pub const RUNNING_POINTER: &str = "#/autoStop/runningTimeoutSeconds";
/// The longest timeout: 30 days.
pub const MAX_SECS: u64 = 30 * 24 * 3600;

/// A workstation's auto-stop timeouts in seconds; 0 is never.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoStop {
    /// Stop after this long without activity (an open terminal, its keystrokes,
    /// `POST /v1/workstations/{id}/activity`); 0 is never.
    pub idle_timeout_seconds: u64,
    /// Stop after running this long, active or not; 0 is never.
    pub running_timeout_seconds: u64,
}

impl AutoStop {
    /// As stored: a timeout a workstation has none of yet (made before the
    /// server gave it the defaults) or cannot be read is never.
    pub fn from_stored(idle: Option<i64>, running: Option<i64>) -> Self {
        let secs = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
        Self { idle_timeout_seconds: secs(idle), running_timeout_seconds: secs(running) }
    }

    /// When a workstation with these timeouts, running since `running_since`
    /// (ms) and last active at `last_activity` (ms), stops, and why.
    pub fn deadline(&self, running_since: i64, last_activity: Option<i64>) -> Option<(i64, StopReason)> {
        deadline(
            Some(self.idle_timeout_seconds),
            Some(self.running_timeout_seconds),
            running_since,
            last_activity,
        )
    }

    /// The same from stored timestamps: when this run started, when it was last active.
    pub fn deadline_of_run(
        &self,
        running_since: &str,
        last_activity: Option<&str>,
    ) -> Option<(i64, StopReason)> {
        let since = super::time::parse_utc_millis(running_since)?;
        self.deadline(since, last_activity.and_then(super::time::parse_utc_millis))
    }

    /// "after 30 minutes idle or 12 hours running", "never".
    pub fn describe(&self) -> String {
        match (self.idle_timeout_seconds, self.running_timeout_seconds) {
            (0, 0) => "never".to_owned(),
            (idle, 0) => format!("after {} idle", span(idle)),
            (0, running) => format!("after {} running", span(running)),
            (idle, running) => format!("after {} idle or {} running", span(idle), span(running)),
        }
    }
}

/// What the server allows and gives new workstations; part of the catalog,
/// so the form checks what the server checks.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoStopLimits {
    /// The shortest timeout other than 0 (never), in seconds.
    pub min_seconds: u64,
    /// What a workstation gets where its create does not say.
    pub defaults: AutoStop,
}

impl Default for AutoStopLimits {
    fn default() -> Self {
        Self { min_seconds: 60, defaults: AutoStop::default() }
    }
}

impl AutoStopLimits {
    /// Checks one timeout: 0, or between the minimum and 30 days.
    pub fn check(&self, secs: i64) -> Result<u64, String> {
        match u64::try_from(secs) {
            Ok(0) => Ok(0),
            Ok(s) if (self.min_seconds.max(1)..=MAX_SECS).contains(&s) => Ok(s),
            _ => Err(format!(
                "must be 0 (never) or from {} to {} ({}–{} seconds)",
                span(self.min_seconds.max(1)),
                span(MAX_SECS),
                self.min_seconds.max(1),
                MAX_SECS
            )),
        }
    }
}

/// The timeouts a request names; `None` where it does not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AutoStopChoice {
    pub idle: Option<u64>,
    pub running: Option<u64>,
}

impl AutoStopChoice {
    /// These timeouts, and `base`'s where none is named.
    pub fn over(self, base: AutoStop) -> AutoStop {
        AutoStop {
            idle_timeout_seconds: self.idle.unwrap_or(base.idle_timeout_seconds),
            running_timeout_seconds: self.running.unwrap_or(base.running_timeout_seconds),
        }
    }
}

/// Reads a request's `autoStop` object; a field missing or `null` is not named.
pub(crate) fn parse_auto_stop(
    value: &Value,
    limits: &AutoStopLimits,
    errors: &mut Vec<FieldError>,
) -> Option<AutoStopChoice> {
    let Value::Object(map) = value else {
        errors.push(FieldError::new(POINTER, must_be("an object", value)));
        return None;
    };
    const KNOWN: [&str; 2] = ["idleTimeoutSeconds", "runningTimeoutSeconds"];
    for key in map.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
        errors.push(FieldError::new(
            format!("{POINTER}/{}", escape_pointer(key)),
            "is not a field of autoStop",
        ));
    }
    let before = errors.len();
    let timeout = |key: &str, at: &str, errors: &mut Vec<FieldError>| -> Option<u64> {
        let value = field(map, key)?;
        let secs = integer(Some(value), at, errors)?;
        limits.check(secs).map_err(|detail| errors.push(FieldError::new(at, detail))).ok()
    };
    let choice = AutoStopChoice {
        idle: timeout("idleTimeoutSeconds", IDLE_POINTER, errors),
        running: timeout("runningTimeoutSeconds", RUNNING_POINTER, errors),
    };
    (errors.len() == before).then_some(choice)
}

fn field(map: &Map<String, Value>, key: &str) -> Option<Value> {
    map.get(key).cloned().filter(|v| !v.is_null())
}

/// How a warning event's message begins ("Stops in 5 minutes if idle").
pub const WARNING_PREFIX: &str = "Stops in ";
/// How the event of a user's "Keep running" begins.
pub const KEPT_PREFIX: &str = "Kept running";

/// Whether an event's message is an auto-stop warning.
pub fn is_warning(message: &str) -> bool {
    message.starts_with(WARNING_PREFIX)
}

/// Why a workstation would stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// No activity for this many seconds.
    Idle(u64),
    /// Running for this many seconds.
    Running(u64),
}

impl StopReason {
    /// As the API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle(_) => "idle",
            Self::Running(_) => "running",
        }
    }

    /// The stop job's end: "Stopped after 30 minutes idle".
    pub fn stopped(self) -> String {
        match self {
            Self::Idle(secs) => format!("Stopped after {} idle", span(secs)),
            Self::Running(secs) => format!("Stopped: running for {}", span(secs)),
        }
    }

    /// Said when the stop is queued.
    pub fn stopping(self) -> String {
        match self {
            Self::Idle(secs) => format!("Auto-stop: idle for {}; stopping", span(secs)),
            Self::Running(secs) => format!("Auto-stop: running for {}; stopping", span(secs)),
        }
    }

    /// The warning `left_secs` before: "Stops in 5 minutes if idle". A
    /// minute or more is said in whole minutes: the check that warns runs
    /// every few seconds, so 296 seconds left is "5 minutes".
    pub fn warning(self, left_secs: u64) -> String {
        let left_secs = if left_secs >= 60 { (left_secs + 30) / 60 * 60 } else { left_secs };
        match self {
            Self::Idle(_) => format!("{WARNING_PREFIX}{} if idle", span(left_secs)),
            Self::Running(secs) => format!("{WARNING_PREFIX}{}: running for {}", span(left_secs), span(secs)),
        }
    }
}

/// When a workstation running since `running_since` (ms), last active at
/// `last_activity` (ms, if ever), stops with these timeouts (seconds; `None`
/// or 0 is never): the earlier deadline and its reason. Activity moves the
/// idle deadline, never past the running one.
pub fn deadline(
    idle_secs: Option<u64>,
    running_secs: Option<u64>,
    running_since: i64,
    last_activity: Option<i64>,
) -> Option<(i64, StopReason)> {
    let ms = |secs: u64| i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let idle = idle_secs.filter(|s| *s > 0).map(|secs| {
        let since = last_activity.map_or(running_since, |a| a.max(running_since));
        (since.saturating_add(ms(secs)), StopReason::Idle(secs))
    });
    let running = running_secs
        .filter(|s| *s > 0)
        .map(|secs| (running_since.saturating_add(ms(secs)), StopReason::Running(secs)));
    match (idle, running) {
        (Some(i), Some(r)) => Some(if r.0 <= i.0 { r } else { i }),
        (one, other) => one.or(other),
    }
}

/// How long before a deadline the warning comes: `warn_secs`, or a fifth
/// of a short timeout.
pub fn warn_before(reason: StopReason, warn_secs: u64) -> u64 {
    let timeout = match reason {
        StopReason::Idle(s) | StopReason::Running(s) => s,
    };
    warn_secs.min(timeout / 5)
}

/// "30 minutes", "12 hours", "1 minute", "45 seconds", "1 hour 30 minutes", "30 days".
pub fn span(secs: u64) -> String {
    let unit = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match secs {
        s if s < 60 => unit(s, "second"),
        s if s < 3600 && s % 60 == 0 => unit(s / 60, "minute"),
        s if s < 3600 => format!("{} {}", unit(s / 60, "minute"), unit(s % 60, "second")),
        s if s % 86_400 == 0 => unit(s / 86_400, "day"),
        s if s % 3600 == 0 => unit(s / 3600, "hour"),
        s => format!("{} {}", unit(s / 3600, "hour"), unit(s % 3600 / 60, "minute")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earlier_deadline_wins_and_activity_moves_only_idle() {
        // Idle 10 s, running 60 s, since 0.
        assert_eq!(deadline(Some(10), Some(60), 0, None), Some((10_000, StopReason::Idle(10))));
        assert_eq!(deadline(Some(10), Some(60), 0, Some(20_000)), Some((30_000, StopReason::Idle(10))));
        // Activity never pushes past the running timeout.
        assert_eq!(deadline(Some(10), Some(60), 0, Some(55_000)), Some((60_000, StopReason::Running(60))));
        // Activity before this run does not count.
        assert_eq!(deadline(Some(10), None, 100_000, Some(5_000)), Some((110_000, StopReason::Idle(10))));
        assert_eq!(deadline(Some(0), None, 0, None), None);
        assert_eq!(deadline(None, None, 0, None), None);
    }

    fn limits() -> AutoStopLimits {
        AutoStopLimits {
            min_seconds: 60,
            defaults: AutoStop { idle_timeout_seconds: 1800, running_timeout_seconds: 0 },
        }
    }

    fn parse(value: Value) -> Result<AutoStopChoice, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let choice = parse_auto_stop(&value, &limits(), &mut errors);
        choice
            .filter(|_| errors.is_empty())
            .ok_or_else(|| errors.into_iter().map(|e| (e.pointer, e.detail)).collect())
    }

    #[test]
    fn timeouts_are_0_or_between_the_minimum_and_30_days() {
        use serde_json::json;
        assert_eq!(
            parse(json!({"idleTimeoutSeconds": 600})).unwrap().over(limits().defaults),
            AutoStop { idle_timeout_seconds: 600, running_timeout_seconds: 0 }
        );
        assert_eq!(
            parse(json!({"runningTimeoutSeconds": 0, "idleTimeoutSeconds": null}))
                .unwrap()
                .over(limits().defaults),
            AutoStop { idle_timeout_seconds: 1800, running_timeout_seconds: 0 }
        );
        assert_eq!(parse(json!({})).unwrap(), AutoStopChoice::default());
        let range = "must be 0 (never) or from 1 minute to 30 days (60–2592000 seconds)".to_owned();
        assert_eq!(
            parse(json!({"idleTimeoutSeconds": 59, "runningTimeoutSeconds": -1})).unwrap_err(),
            [(IDLE_POINTER.to_owned(), range.clone()), (RUNNING_POINTER.to_owned(), range.clone())]
        );
        assert_eq!(
            parse(json!({"idleTimeoutSeconds": 2_592_001})).unwrap_err(),
            [(IDLE_POINTER.to_owned(), range)]
        );
        assert_eq!(
            parse(json!({"idleTimeoutSeconds": "10m", "idle": 1})).unwrap_err(),
            [
                ("#/autoStop/idle".to_owned(), "is not a field of autoStop".to_owned()),
                (IDLE_POINTER.to_owned(), "must be a whole number, not a string".to_owned()),
            ]
        );
        assert_eq!(
            parse(json!(5)).unwrap_err(),
            [(POINTER.to_owned(), "must be an object, not a number".to_owned())]
        );
    }

    #[test]
    fn settings_in_words() {
        let at = |idle, running| AutoStop { idle_timeout_seconds: idle, running_timeout_seconds: running };
        assert_eq!(at(0, 0).describe(), "never");
        assert_eq!(at(1800, 0).describe(), "after 30 minutes idle");
        assert_eq!(at(0, 43_200).describe(), "after 12 hours running");
        assert_eq!(at(1800, 43_200).describe(), "after 30 minutes idle or 12 hours running");
        assert_eq!(at(1800, 43_200).deadline(0, None), Some((1_800_000, StopReason::Idle(1800))));
    }

    #[test]
    fn words() {
        assert_eq!(StopReason::Idle(1800).stopped(), "Stopped after 30 minutes idle");
        assert_eq!(StopReason::Running(43_200).stopped(), "Stopped: running for 12 hours");
        assert_eq!(StopReason::Idle(1800).warning(300), "Stops in 5 minutes if idle");
        assert_eq!(StopReason::Idle(1800).warning(296), "Stops in 5 minutes if idle");
        assert_eq!(StopReason::Idle(10).warning(2), "Stops in 2 seconds if idle");
        assert_eq!(span(1), "1 second");
        assert_eq!(span(90), "1 minute 30 seconds");
        assert_eq!(span(5400), "1 hour 30 minutes");
        assert_eq!(warn_before(StopReason::Idle(1800), 300), 300);
        assert_eq!(warn_before(StopReason::Idle(10), 300), 2);
    }
}
