//! The one state machine: which actions each status allows.

use serde::{Deserialize, Serialize};

use super::workstation::WorkstationStatus;

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
    pub fn phase(self) -> &'static str {
        match self {
            Self::Launch => "starting",
            Self::Stop => "stopping",
            Self::Cancel => "cancelling",
            Self::Retry => "queued",
            Self::Delete => "deleting",
            Self::Reconfigure => "reconfiguring",
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
pub fn allowed_actions(status: WorkstationStatus, phase: Option<&str>) -> Vec<Action> {
    match (status, phase) {
        (WorkstationStatus::Provisioning, _) => vec![Action::Cancel],
        (_, Some(_)) => Vec::new(),
        (WorkstationStatus::Stopped, None) => vec![Action::Launch, Action::Reconfigure, Action::Delete],
        (WorkstationStatus::Running, None) => vec![Action::Stop, Action::Reconfigure, Action::Delete],
        (WorkstationStatus::Error, None) => vec![Action::Retry, Action::Reconfigure, Action::Delete],
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
        assert_eq!(allowed_actions(Provisioning, Some("booting")), [Action::Cancel]);
    }

    #[test]
    fn nothing_starts_while_a_job_runs() {
        assert!(allowed_actions(Stopped, Some("starting")).is_empty());
        assert!(allowed_actions(Running, Some("stopping")).is_empty());
        assert!(allowed_actions(Error, Some("deleting")).is_empty());
    }

    #[test]
    fn actions_round_trip() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
        }
        assert!("reboot".parse::<Action>().is_err());
    }
}
