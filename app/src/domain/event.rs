//! A workstation's history: every change of status or phase and every log
//! line of its jobs, in order.

use serde::{Deserialize, Serialize};

use super::phase::Phase;
use super::workstation::{Workstation, WorkstationStatus};

/// What an event records.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The status changed (or was set at creation).
    Status,
    /// A job moved to a new phase.
    Phase,
    /// A line of a job's log.
    Log,
}

impl EventKind {
    /// The kind as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Phase => "phase",
            Self::Log => "log",
        }
    }
}

impl std::str::FromStr for EventKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "status" => Ok(Self::Status),
            "phase" => Ok(Self::Phase),
            "log" => Ok(Self::Log),
            other => Err(format!("unknown event kind {other:?}")),
        }
    }
}

/// One event of one workstation.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkstationEvent {
    /// Position among all events (the `id:` of `/v1/events`).
    pub id: i64,
    pub workstation_id: String,
    /// Position among this workstation's events, from 1 (the `id:` of its own stream).
    pub seq: i64,
    pub kind: EventKind,
    /// The workstation's status after this event.
    pub status: WorkstationStatus,
    /// What is happening inside the status, e.g. `booting`.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub phase: Option<Phase>,
    /// Percent done of the current job.
    pub progress: Option<u8>,
    pub message: Option<String>,
    /// When it happened (RFC 3339, UTC).
    pub at: String,
}

/// A workstation with what the pages show beyond the API shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkstationState {
    pub workstation: Workstation,
    pub phase: Option<Phase>,
    pub progress: Option<u8>,
    /// Why it is in `error`.
    pub reason: Option<String>,
    pub created_at: String,
    /// Changes with every change of status or phase (the API's ETag).
    pub version: i64,
}

impl WorkstationState {
    /// Applies an event of this workstation.
    pub fn apply(&mut self, event: &WorkstationEvent) {
        if event.workstation_id != self.workstation.id {
            return;
        }
        let started = event.status == WorkstationStatus::Running
            && (self.workstation.status != WorkstationStatus::Running || self.phase.is_some())
            && event.kind == EventKind::Status;
        self.workstation.status = event.status;
        if event.status != WorkstationStatus::Running || event.phase.is_some() {
            self.workstation.auto_stop_at = None;
            self.workstation.auto_stop_reason = None;
        } else if started {
            // A run starts now: its deadline as the server counts it.
            let deadline = super::time::parse_utc_millis(&event.at)
                .and_then(|at| self.workstation.auto_stop.deadline(at, None));
            self.workstation.auto_stop_at = deadline.map(|(at, _)| super::time::format_utc_millis(at));
            self.workstation.auto_stop_reason = deadline.map(|(_, why)| why.as_str().to_owned());
        }
        match event.kind {
            EventKind::Status => {
                self.phase = event.phase.clone();
                self.workstation.phase = event.phase.clone();
                self.progress = event.progress;
                self.reason =
                    (event.status == WorkstationStatus::Error).then(|| event.message.clone()).flatten();
            }
            EventKind::Phase => {
                self.phase = event.phase.clone();
                self.workstation.phase = event.phase.clone();
                self.progress = event.progress.or(self.progress);
            }
            EventKind::Log => {}
        }
    }
}

/// What the home page shows: the workstations and where the live stream starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    pub workstations: Vec<WorkstationState>,
    /// The newest event id already reflected in `workstations`.
    pub last_event_id: i64,
    /// The token of the next page, if there is one.
    pub next_page_token: Option<String>,
    /// The project shown, with the caller's role (`None`: their own account).
    #[serde(default)]
    pub project: Option<super::Project>,
}

/// The list filters of the home page, as they appear in its URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    pub status: String,
    pub region: String,
    pub gpu: String,
    /// Name prefix.
    pub q: String,
    /// Page token.
    pub page: String,
    /// The project (its name) whose workstations to show; empty: your own.
    #[serde(default)]
    pub project: String,
}

/// What a workstation's page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkstationDetail {
    pub state: WorkstationState,
    /// The history, oldest first.
    pub events: Vec<WorkstationEvent>,
    /// The newest event id already reflected above.
    pub last_event_id: i64,
    /// Mean seconds past jobs of the same GPU type and region took.
    pub typical_job_seconds: Option<f64>,
    /// When the running job started (RFC 3339), if one is running.
    pub job_started_at: Option<String>,
    /// Whether its provisioner gives running workstations a terminal.
    #[serde(default)]
    pub terminal: bool,
    /// The caller's role when it is a project's (`None`: their own).
    #[serde(default)]
    pub role: Option<super::Role>,
}
