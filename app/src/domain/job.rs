//! Jobs: what the engine does to a workstation, the states a job goes
//! through, and what each job's end makes of its workstation.

use std::fmt;
use std::str::FromStr;

use super::phase::Phase;
use super::workstation::WorkstationStatus;

/// The reason a cancelled job fails with.
pub const CANCELLED: &str = "Cancelled";

/// What a job does to a workstation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobKind {
    /// Bring it into existence (→ stopped).
    Provision,
    /// Start it (stopped → running).
    Launch,
    /// Stop it (running → stopped).
    Stop,
    /// Stop it if running, release it, and remove the record.
    Delete,
}

impl JobKind {
    /// Every kind.
    pub const ALL: [JobKind; 4] = [Self::Provision, Self::Launch, Self::Stop, Self::Delete];

    /// The kind as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provision => "provision",
            Self::Launch => "launch",
            Self::Stop => "stop",
            Self::Delete => "delete",
        }
    }

    /// The job as a noun in a sentence: "The server running a launch stopped".
    pub fn noun(self) -> &'static str {
        match self {
            Self::Provision => "provisioning",
            Self::Launch => "a launch",
            Self::Stop => "a stop",
            Self::Delete => "a delete",
        }
    }

    /// The job under way, to start a sentence: "Starting took longer than…".
    pub fn doing(self) -> &'static str {
        match self {
            Self::Provision => "Provisioning",
            Self::Launch => "Starting",
            Self::Stop => "Stopping",
            Self::Delete => "Deleting",
        }
    }

    /// The workstation's status while the job runs, from its status when
    /// the job started (a delete keeps it).
    pub fn status_while_running(self, before: WorkstationStatus) -> WorkstationStatus {
        match self {
            Self::Provision => WorkstationStatus::Provisioning,
            Self::Launch => WorkstationStatus::Stopped,
            Self::Stop => WorkstationStatus::Running,
            Self::Delete => before,
        }
    }

    /// What the job's end makes of its workstation (in `before` when the
    /// job started): the status event it records, and whether the record goes.
    pub fn ending(self, before: WorkstationStatus, outcome: Result<(), &str>) -> Ending {
        use WorkstationStatus::{Error as Failed, Running, Stopped};
        let end =
            |status, message: String| Ending { status, phase: None, progress: None, message, removes: false };
        match (self, outcome) {
            (Self::Provision, Ok(())) => Ending {
                progress: Some(100),
                ..end(Stopped, "Ready: the workstation is provisioned and stopped".into())
            },
            (Self::Provision, Err(reason)) => end(Failed, reason.to_owned()),
            (Self::Launch, Ok(())) => end(Running, "Running".into()),
            (Self::Launch, Err(reason)) => end(Stopped, format!("Launch failed: {reason}")),
            (Self::Stop, Ok(())) => end(Stopped, "Stopped".into()),
            (Self::Stop, Err(reason)) => end(Running, format!("Stop failed: {reason}")),
            (Self::Delete, Ok(())) => {
                Ending { phase: Some(Phase::Deleted), removes: true, ..end(before, "Deleted".into()) }
            }
            (Self::Delete, Err(reason)) => end(Failed, format!("Delete failed: {reason}")),
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("unknown job kind {s:?}"))
    }
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// Claimed by a worker under a lease.
    Running,
    /// Ended well.
    Succeeded,
    /// Ended badly, was cancelled, or gave up.
    Failed,
}

impl JobState {
    /// Every state.
    pub const ALL: [JobState; 4] = [Self::Queued, Self::Running, Self::Succeeded, Self::Failed];

    /// The state as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// The state a job ends in.
    pub fn of_outcome<T, E>(outcome: &Result<T, E>) -> Self {
        if outcome.is_ok() {
            Self::Succeeded
        } else {
            Self::Failed
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("unknown job state {s:?}"))
    }
}

/// The status event a finished job records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    pub status: WorkstationStatus,
    pub phase: Option<Phase>,
    pub progress: Option<u8>,
    pub message: String,
    /// The workstation's record is removed (its history stays).
    pub removes: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use WorkstationStatus::*;

    #[test]
    fn kinds_and_states_round_trip_and_unknown_ones_are_errors() {
        for kind in JobKind::ALL {
            assert_eq!(kind.as_str().parse::<JobKind>(), Ok(kind));
        }
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>(), Ok(state));
        }
        assert!("reboot".parse::<JobKind>().is_err());
        assert!("paused".parse::<JobState>().is_err());
    }

    #[test]
    fn each_end_leaves_the_workstation_where_the_table_says() {
        let ok = |kind: JobKind, before| kind.ending(before, Ok(())).status;
        let failed = |kind: JobKind, before| kind.ending(before, Err("disk full")).status;
        assert_eq!(ok(JobKind::Provision, Provisioning), Stopped);
        assert_eq!(failed(JobKind::Provision, Provisioning), Error);
        assert_eq!(ok(JobKind::Launch, Stopped), Running);
        assert_eq!(failed(JobKind::Launch, Stopped), Stopped);
        assert_eq!(ok(JobKind::Stop, Running), Stopped);
        assert_eq!(failed(JobKind::Stop, Running), Running);
        assert_eq!(ok(JobKind::Delete, Running), Running);
        assert_eq!(failed(JobKind::Delete, Running), Error);
        let deleted = JobKind::Delete.ending(Stopped, Ok(()));
        assert!(deleted.removes);
        assert_eq!(deleted.phase, Some(Phase::Deleted));
        assert_eq!(JobKind::Launch.ending(Stopped, Err("no GPU")).message, "Launch failed: no GPU");
    }
}
