//! When a running workstation stops by itself, and the words that say why.

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

    /// The warning `left_secs` before: "Stops in 5 minutes if idle".
    pub fn warning(self, left_secs: u64) -> String {
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

/// "30 minutes", "12 hours", "1 minute", "45 seconds", "1 hour 30 minutes".
pub fn span(secs: u64) -> String {
    let unit = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match secs {
        s if s < 60 => unit(s, "second"),
        s if s < 3600 && s % 60 == 0 => unit(s / 60, "minute"),
        s if s < 3600 => format!("{} {}", unit(s / 60, "minute"), unit(s % 60, "second")),
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

    #[test]
    fn words() {
        assert_eq!(StopReason::Idle(1800).stopped(), "Stopped after 30 minutes idle");
        assert_eq!(StopReason::Running(43_200).stopped(), "Stopped: running for 12 hours");
        assert_eq!(StopReason::Idle(1800).warning(300), "Stops in 5 minutes if idle");
        assert_eq!(span(1), "1 second");
        assert_eq!(span(90), "1 minute 30 seconds");
        assert_eq!(span(5400), "1 hour 30 minutes");
        assert_eq!(warn_before(StopReason::Idle(1800), 300), 300);
        assert_eq!(warn_before(StopReason::Idle(10), 300), 2);
    }
}
