//! Launch, stop, cancel, retry and delete: checked against the state machine
//! and started atomically, so of two concurrent requests one wins.

use super::admission::{self, Ask};
use super::store::{self, NewEvent, User};
use super::{AppState, Error};
use crate::domain::job::CANCELLED;
use crate::domain::{
    allowed_actions, Action, Apply, Configuration, EventKind, FieldError, JobKind, Phase, ReconfigureRequest,
    WorkstationState, WorkstationStatus,
};

/// Why an action could not start.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No such workstation for this owner.
    #[error("not found")]
    NotFound,
    /// `If-Match` named another version.
    #[error("the workstation has changed (now version {current})")]
    PreconditionFailed { current: i64 },
    /// The state machine does not allow the action now.
    #[error("cannot {} a workstation that is {status}", action.as_str())]
    NotAllowed { action: Action, status: WorkstationStatus, phase: Option<Phase>, allowed: Vec<Action> },
    #[error(transparent)]
    Backend(#[from] Error),
}

/// The versions of a workstation a request may change (the REST API's
/// `If-Match`): any, or one of these. `None` where given means no condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    Any,
    OneOf(Vec<i64>),
}

impl Expected {
    /// Whether the workstation at `version` may be changed.
    pub fn admits(&self, version: i64) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(versions) => versions.contains(&version),
        }
    }
}

/// Starts `action` on the owner's workstation and returns its new state.
#[tracing::instrument(skip_all, fields(user = %owner.name, workstation = id, action = action.as_str()))]
pub async fn perform(
    state: &AppState,
    owner: &User,
    id: &str,
    action: Action,
    expected: Option<&Expected>,
) -> Result<WorkstationState, ActionError> {
    let pool = &state.pool;
    let mut cancel_running = None;
    let result = state
        .bus
        .record(|| async {
            let mut tx = store::begin_write(pool).await.map_err(Error::from)?;
            let Some(ws) = store::workstation_in_tx(&mut tx, owner.id, id).await? else {
                return Ok((Err(ActionError::NotFound), Vec::new()));
            };
            if let Some(expected) = expected {
                if !expected.admits(ws.version) {
                    return Ok((Err(ActionError::PreconditionFailed { current: ws.version }), Vec::new()));
                }
            }
            let status = ws.workstation.status;
            let allowed = allowed_actions(status, ws.phase.as_ref());
            if !allowed.contains(&action) {
                return Ok((
                    Err(ActionError::NotAllowed { action, status, phase: ws.phase.clone(), allowed }),
                    Vec::new(),
                ));
            }
            let mut events = Vec::new();
            let event = |kind, status, phase: Phase, message: &'static str| NewEvent {
                workstation_id: id,
                owner_id: owner.id,
                kind,
                status,
                phase: Some(phase),
                progress: Some(0),
                message: Some(message),
            };
            match action {
                Action::Reconfigure => {
                    // Reconfiguring has its own entry point, `reconfigure`.
                    return Ok((
                        Err(ActionError::NotAllowed { action, status, phase: ws.phase.clone(), allowed }),
                        Vec::new(),
                    ));
                }
                Action::Launch => {
                    if let Some(pending) = &ws.workstation.pending_configuration {
                        // Checked again now that it applies: others may have
                        // taken the room or the quota since it was recorded.
                        let ask = Ask::change(Some(&ws.workstation.configuration), pending);
                        admit(&mut tx, state, owner, &ask).await?;
                        store::update_configuration(&mut tx, id, pending).await?;
                        let line = format!(
                            "Applying the configuration recorded while running: {}",
                            describe(pending)
                        );
                        events.push(
                            store::append_event(
                                &mut tx,
                                NewEvent {
                                    message: Some(&line),
                                    progress: None,
                                    ..event(EventKind::Log, status, action.phase(), "")
                                },
                            )
                            .await?,
                        );
                    }
                    store::insert_job(&mut tx, id, JobKind::Launch).await?;
                    events.push(
                        store::append_event(
                            &mut tx,
                            event(EventKind::Phase, status, action.phase(), "Launch requested"),
                        )
                        .await?,
                    );
                }
                Action::Stop | Action::Delete => {
                    let (kind, message) = match action {
                        Action::Stop => (JobKind::Stop, "Stop requested"),
                        _ => (JobKind::Delete, "Delete requested"),
                    };
                    store::insert_job(&mut tx, id, kind).await?;
                    events.push(
                        store::append_event(
                            &mut tx,
                            event(EventKind::Phase, status, action.phase(), message),
                        )
                        .await?,
                    );
                }
                Action::Retry => {
                    // A failed workstation holds nothing; provisioning it again takes
                    // capacity and counts against the quota.
                    let c = &ws.workstation.configuration;
                    admit(&mut tx, state, owner, &Ask::change(None, c)).await?;
                    store::insert_job(&mut tx, id, JobKind::Provision).await?;
                    events.push(
                        store::append_event(
                            &mut tx,
                            event(
                                EventKind::Status,
                                WorkstationStatus::Provisioning,
                                Action::Retry.phase(),
                                "Retrying provisioning",
                            ),
                        )
                        .await?,
                    );
                }
                Action::Cancel => {
                    let cancelling = store::cancel_job(&mut tx, id).await?;
                    if cancelling == store::Cancelling::Queued {
                        let cancelled = NewEvent {
                            phase: None,
                            progress: None,
                            ..event(EventKind::Status, WorkstationStatus::Error, action.phase(), CANCELLED)
                        };
                        events.push(store::append_event(&mut tx, cancelled).await?);
                    } else {
                        if let store::Cancelling::Running(job) = cancelling {
                            cancel_running = Some(job);
                        }
                        events.push(
                            store::append_event(
                                &mut tx,
                                NewEvent {
                                    progress: ws.progress,
                                    ..event(EventKind::Log, status, action.phase(), "Cancel requested")
                                },
                            )
                            .await?,
                        );
                    }
                }
            }
            let after = store::workstation_in_tx(&mut tx, owner.id, id).await?;
            tx.commit().await.map_err(Error::from)?;
            Ok((after.ok_or(ActionError::NotFound), events))
        })
        .await?;
    if let Some(job) = cancel_running {
        state.engine.cancel(job);
    }
    if result.is_ok() {
        state.engine.wake();
    }
    result
}

/// The admission checks (name, quota, capacity: [`admission`]) for a change
/// of the owner's workstation, read through `tx`.
async fn admit(tx: &mut store::Tx, state: &AppState, owner: &User, ask: &Ask<'_>) -> Result<(), Error> {
    admission::admit(tx, &state.catalog, state.settings.default_quota, owner.id, ask).await
}

/// "16 vCPUs, 64 GB memory, NVIDIA L4, 1024 GB storage"
fn describe(c: &Configuration) -> String {
    format!("{} vCPUs, {} GB memory, {}, {} GB storage", c.cpu_cores, c.memory_gb, c.gpu, c.storage_gb)
}

/// Why a reconfiguration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReconfigureError {
    /// The request broke a rule.
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    /// Running, and the change was asked for now.
    #[error("the workstation is running")]
    MustStop,
    #[error(transparent)]
    Action(#[from] ActionError),
}

impl From<Error> for ReconfigureError {
    fn from(e: Error) -> Self {
        Self::Action(ActionError::Backend(e))
    }
}

/// Changes the owner's workstation's configuration: now when it is stopped
/// (or in error), at the next launch when it is running and that was asked.
#[tracing::instrument(skip_all, fields(user = %owner.name, workstation = id))]
pub async fn reconfigure(
    state: &AppState,
    owner: &User,
    id: &str,
    request: &ReconfigureRequest,
    expected: Option<&Expected>,
) -> Result<WorkstationState, ReconfigureError> {
    let pool = &state.pool;
    state
        .bus
        .record(|| async {
            let mut tx = store::begin_write(pool).await.map_err(Error::from)?;
            let Some(ws) = store::workstation_in_tx(&mut tx, owner.id, id).await? else {
                return Ok((Err(ActionError::NotFound.into()), Vec::new()));
            };
            if let Some(expected) = expected {
                if !expected.admits(ws.version) {
                    return Ok((
                        Err(ActionError::PreconditionFailed { current: ws.version }.into()),
                        Vec::new(),
                    ));
                }
            }
            let status = ws.workstation.status;
            let change = match request.parse(&ws.workstation.configuration, &state.catalog) {
                Ok(change) => change,
                Err(errors) => return Ok((Err(ReconfigureError::Invalid(errors)), Vec::new())),
            };
            let mut lines = Vec::new();
            if let Some((spec, apply)) = change.configuration {
                let allowed = allowed_actions(status, ws.phase.as_ref());
                if !allowed.contains(&Action::Reconfigure) {
                    let refused = ActionError::NotAllowed {
                        action: Action::Reconfigure,
                        status,
                        phase: ws.phase,
                        allowed,
                    };
                    return Ok((Err(refused.into()), Vec::new()));
                }
                let next = Configuration::from(&spec);
                if status == WorkstationStatus::Running && apply != Apply::NextStart {
                    return Ok((Err(ReconfigureError::MustStop), Vec::new()));
                }
                // Moving to another GPU type or region needs room there, and
                // growing needs quota (a failed workstation holds nothing, and
                // takes both again when retried).
                if status != WorkstationStatus::Error {
                    admit(&mut tx, state, owner, &Ask::change(Some(&ws.workstation.configuration), &next))
                        .await?;
                }
                // Running: recorded for the next launch (a log line); otherwise applied now.
                lines.push(if status == WorkstationStatus::Running {
                    store::set_pending_configuration(&mut tx, id, &next).await?;
                    (EventKind::Log, format!("Recorded for the next launch: {}", describe(&next)))
                } else {
                    store::update_configuration(&mut tx, id, &next).await?;
                    (EventKind::Status, format!("Reconfigured: {}", describe(&next)))
                });
            }
            // Auto-stop timeouts change at once, in any status: a running
            // workstation's deadline moves with them.
            if let Some(choice) = change.auto_stop {
                let next = choice.over(ws.workstation.auto_stop);
                if next != ws.workstation.auto_stop {
                    store::update_auto_stop(&mut tx, id, &next).await?;
                    lines.push((EventKind::Log, format!("Auto-stop settings: {}", next.describe())));
                }
            }
            let mut events = Vec::with_capacity(lines.len());
            for (kind, line) in &lines {
                let event = NewEvent {
                    workstation_id: id,
                    owner_id: owner.id,
                    kind: *kind,
                    status,
                    phase: None,
                    progress: None,
                    message: Some(line),
                };
                events.push(store::append_event(&mut tx, event).await?);
            }
            let after = store::workstation_in_tx(&mut tx, owner.id, id).await?;
            tx.commit().await.map_err(Error::from)?;
            Ok((after.ok_or(ActionError::NotFound.into()), events))
        })
        .await?
}
