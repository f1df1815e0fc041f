//! The one state machine: which actions each status allows.

use serde::{Deserialize, Serialize};

use super::phase::Phase;
use super::quota::Quota;
use super::workstation::{Configuration, WorkstationStatus};

/// Something a user can ask of an existing workstation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// stopped → running
    Launch,
    /// running → stopped
    Stop,
    /// Ends provisioning: → error ("Cancelled").
    Cancel,
    /// error → provisioning again.
    Retry,
    /// Stops it if needed, then removes it (its history stays readable).
    Delete,
    /// Changes its configuration (`PATCH`).
    Reconfigure,
}

impl Action {
    /// Every action, in the order buttons show them.
    pub const ALL: [Action; 6] =
        [Self::Launch, Self::Stop, Self::Cancel, Self::Retry, Self::Reconfigure, Self::Delete];

    /// The action as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Launch => "launch",
            Self::Stop => "stop",
            Self::Cancel => "cancel",
            Self::Retry => "retry",
            Self::Delete => "delete",
            Self::Reconfigure => "reconfigure",
        }
    }

    /// The phase the workstation is in while the action's job runs.
    pub fn phase(self) -> Phase {
        match self {
            Self::Launch => Phase::Starting,
            Self::Stop => Phase::Stopping,
            Self::Cancel => Phase::Cancelling,
            Self::Retry => Phase::Queued,
            Self::Delete => Phase::Deleting,
            Self::Reconfigure => Phase::Reconfiguring,
        }
    }
}

impl std::str::FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| format!("unknown action {s:?}"))
    }
}

/// The actions allowed now. While a job other than provisioning runs (the
/// workstation has a `phase`), nothing else may start.
pub fn allowed_actions(status: WorkstationStatus, phase: Option<&Phase>) -> Vec<Action> {
    match (status, phase) {
        (WorkstationStatus::Provisioning, _) => vec![Action::Cancel],
        (_, Some(_)) => Vec::new(),
        (WorkstationStatus::Stopped, None) => vec![Action::Launch, Action::Reconfigure, Action::Delete],
        (WorkstationStatus::Running, None) => vec![Action::Stop, Action::Reconfigure, Action::Delete],
        (WorkstationStatus::Error, None) => vec![Action::Retry, Action::Reconfigure, Action::Delete],
    }
}

/// Whether a workstation in `status` holds its place (capacity for its GPU
/// type in its region) and counts against its owner's quota. A failed
/// workstation holds nothing; a retry takes both again. The usage triggers
/// (migrations) keep running totals by this rule.
pub fn holds_resources(status: WorkstationStatus) -> bool {
    status != WorkstationStatus::Error
}

/// What a workstation of `configuration` in `status` counts against its owner's quota.
pub fn held(status: WorkstationStatus, configuration: &Configuration) -> Quota {
    if holds_resources(status) {
        Quota::of(configuration)
    } else {
        Quota::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use WorkstationStatus::*;

    #[test]
    fn every_status_has_a_way_out() {
        for status in [Stopped, Running, Provisioning, Error] {
            assert!(!allowed_actions(status, None).is_empty(), "{status} is a dead end");
        }
        assert_eq!(allowed_actions(Stopped, None), [Action::Launch, Action::Reconfigure, Action::Delete]);
        assert_eq!(allowed_actions(Running, None), [Action::Stop, Action::Reconfigure, Action::Delete]);
        assert_eq!(allowed_actions(Error, None), [Action::Retry, Action::Reconfigure, Action::Delete]);
        assert_eq!(allowed_actions(Provisioning, Some(&Phase::Booting)), [Action::Cancel]);
    }

    #[test]
    fn nothing_starts_while_a_job_runs() {
        assert!(allowed_actions(Stopped, Some(&Phase::Starting)).is_empty());
        assert!(allowed_actions(Running, Some(&Phase::Stopping)).is_empty());
        assert!(allowed_actions(Error, Some(&Phase::Deleting)).is_empty());
    }

    #[test]
    fn only_a_failed_workstation_holds_nothing() {
        let c = Configuration {
            cpu_cores: 8,
            memory_gb: 32,
            gpu: "g".into(),
            storage_gb: 100,
            region: "r".into(),
        };
        for status in [Stopped, Running, Provisioning] {
            assert_eq!(held(status, &c), Quota::of(&c));
        }
        assert_eq!(held(Error, &c), Quota::default());
    }

    #[test]
    fn actions_round_trip() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
        }
        assert!("reboot".parse::<Action>().is_err());
    }
}
