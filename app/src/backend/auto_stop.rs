//! Auto-stop: a running workstation with no activity for the idle timeout,
//! or running for the running timeout, is stopped by a normal stop job whose
//! end says why. Before that, its stream says when ("Stops in 5 minutes if
//! idle"). Deadlines come from the database (when it started running, when
//! it was last active), so they hold across restarts; every instance checks,
//! and the write lock with the workstation's version makes one of them stop
//! it, once.

use std::time::Duration;

use super::engine::Engine;
use super::events::EventBus;
use super::store::{self, Db, NewEvent, RunningWorkstation, User};
use super::Error;
use crate::domain::auto_stop::{warn_before, StopReason};
use crate::domain::time::format_utc_millis;
use crate::domain::{AutoStop, AutoStopLimits};
use crate::domain::{EventKind, JobKind, Phase, WorkstationStatus};

/// The server's auto-stop rules: the timeouts new workstations get where
/// their create does not say (seconds; 0 is never), the shortest a
/// workstation may have, and when the warning comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoStopPolicy {
    /// Stop after this long without activity, unless a workstation says otherwise.
    pub idle_secs: u64,
    /// Stop after running this long, active or not, unless a workstation says otherwise.
    pub running_secs: u64,
    /// The shortest timeout a workstation may have, other than 0 (never).
    pub min_secs: u64,
    /// Warn this long before (a fifth of a shorter timeout).
    pub warn_secs: u64,
}

impl AutoStopPolicy {
    /// What a new workstation gets where its create does not say.
    pub fn defaults(&self) -> AutoStop {
        AutoStop { idle_timeout_seconds: self.idle_secs, running_timeout_seconds: self.running_secs }
    }

    /// The rules as the catalog hands them to clients and the form.
    pub fn limits(&self) -> AutoStopLimits {
        AutoStopLimits { min_seconds: self.min_secs, defaults: self.defaults() }
    }

    /// How often deadlines are checked: a tenth of the shortest timeout
    /// allowed, between 200 ms and 5 s.
    pub fn check_every(&self) -> Duration {
        Duration::from_millis(self.min_secs.saturating_mul(100))
            .clamp(Duration::from_millis(200), Duration::from_secs(5))
    }

    /// How often an open terminal counts as activity: a quarter of the
    /// shortest timeout allowed, between 1 s and 30 s.
    pub fn touch_every(&self) -> Duration {
        Duration::from_millis(self.min_secs.saturating_mul(250))
            .clamp(Duration::from_secs(1), Duration::from_secs(30))
    }

    /// When `ws` stops if nothing happens, and why.
    pub fn deadline_of(&self, ws: &RunningWorkstation) -> Option<(i64, StopReason)> {
        ws.auto_stop().deadline_of_run(&ws.running_since, ws.last_activity_at.as_deref())
    }
}

/// Gives the server's defaults to workstations made before they had
/// timeouts of their own (at start, before anything reads them).
pub async fn adopt_defaults(pool: &Db, policy: AutoStopPolicy) -> Result<(), Error> {
    let adopted = store::adopt_auto_stop_defaults(pool, &policy.defaults()).await?;
    if adopted > 0 {
        tracing::info!(workstations = adopted, "gave auto-stop defaults to workstations without their own");
    }
    Ok(())
}

/// Checks deadlines every [`AutoStopPolicy::check_every`] until dropped.
pub async fn enforce_forever(pool: Db, bus: EventBus, engine: Engine, policy: AutoStopPolicy) {
    loop {
        tokio::time::sleep(policy.check_every()).await;
        if let Err(e) = enforce(&pool, &bus, &engine, policy).await {
            tracing::warn!(error = %e, "cannot check auto-stop deadlines");
        }
    }
}

/// Stops (or warns) every running workstation whose deadline is here (or near).
pub async fn enforce(
    pool: &Db,
    bus: &EventBus,
    engine: &Engine,
    policy: AutoStopPolicy,
) -> Result<(), Error> {
    let now = super::usage::now_millis();
    for ws in store::running_workstations(pool).await? {
        let Some((at, reason)) = policy.deadline_of(&ws) else { continue };
        if now >= at {
            if queue_stop(pool, bus, &ws, policy).await? {
                tracing::info!(workstation = %ws.id, reason = reason.as_str(), "auto-stop");
                engine.wake();
            }
        } else {
            let before = i64::try_from(warn_before(reason, policy.warn_secs) * 1000).unwrap_or(i64::MAX);
            let at_text = format_utc_millis(at);
            if now >= at - before && ws.auto_stop_warned_for.as_deref() != Some(at_text.as_str()) {
                let left = u64::try_from((at - now + 999) / 1000).unwrap_or(0);
                warn(pool, bus, &ws, &reason.warning(left), &at_text).await?;
            }
        }
    }
    Ok(())
}

fn event<'a>(
    ws: &'a RunningWorkstation,
    kind: EventKind,
    phase: Option<Phase>,
    message: &'a str,
) -> NewEvent<'a> {
    NewEvent {
        workstation_id: &ws.id,
        owner_id: ws.owner_id,
        kind,
        status: WorkstationStatus::Running,
        phase,
        progress: None,
        message: Some(message),
    }
}

/// Queues the stop if, read again under the write lock, the workstation is
/// still as read and still due (activity may have come since); whether it did.
async fn queue_stop(
    pool: &Db,
    bus: &EventBus,
    ws: &RunningWorkstation,
    policy: AutoStopPolicy,
) -> Result<bool, Error> {
    bus.record(|| async {
        let mut tx = store::begin_write(pool).await?;
        let Some(now_ws) = store::running_workstation_in_tx(&mut tx, &ws.id).await? else {
            return Ok((false, Vec::new()));
        };
        let due = policy.deadline_of(&now_ws).filter(|(at, _)| super::usage::now_millis() >= *at);
        let Some((_, reason)) = due.filter(|_| now_ws.version == ws.version) else {
            return Ok((false, Vec::new()));
        };
        let (stopped, stopping) = (reason.stopped(), reason.stopping());
        store::insert_job_for(&mut tx, &ws.id, JobKind::Stop, Some(&stopped)).await?;
        let published =
            store::append_event(&mut tx, event(ws, EventKind::Phase, Some(Phase::Stopping), &stopping))
                .await?;
        tx.commit().await?;
        Ok((true, vec![published]))
    })
    .await
}

/// Says when it stops, once per deadline: read again under the write lock,
/// so that of several instances that saw it due only the first warns.
async fn warn(pool: &Db, bus: &EventBus, ws: &RunningWorkstation, line: &str, at: &str) -> Result<(), Error> {
    bus.record(|| async {
        let mut tx = store::begin_write(pool).await?;
        let now_ws = store::running_workstation_in_tx(&mut tx, &ws.id).await?;
        let due = now_ws.filter(|w| w.version == ws.version && w.auto_stop_warned_for.as_deref() != Some(at));
        if due.is_none() {
            return Ok(((), Vec::new()));
        }
        let published = store::append_event(&mut tx, event(ws, EventKind::Log, None, line)).await?;
        store::mark_warned(&mut tx, &ws.id, at).await?;
        tx.commit().await?;
        Ok(((), vec![published]))
    })
    .await
}

/// What recording activity found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// Recorded; when it now stops if nothing else happens, and why.
    Recorded(Option<(String, StopReason)>),
    /// The owner has no such workstation.
    NotFound,
    /// It is not running, or a job works on it (its phase).
    NotRunning { status: WorkstationStatus, phase: Option<crate::domain::Phase> },
}

/// Records activity on the owner's workstation `id`.
pub async fn activity(pool: &Db, policy: AutoStopPolicy, owner: &User, id: &str) -> Result<Activity, Error> {
    // The activity and the deadline it gives in one write, so a sweep that
    // stops the workstation comes wholly before or after them.
    let mut tx = store::begin_write(pool).await?;
    if !store::touch_activity(&mut tx, owner.id, id).await? {
        drop(tx);
        return Ok(match store::get_workstation(pool, owner.id, id).await? {
            None => Activity::NotFound,
            Some(ws) => Activity::NotRunning { status: ws.status, phase: ws.phase },
        });
    }
    let running = store::running_workstation_in_tx(&mut tx, id).await?;
    tx.commit().await?;
    let next =
        running.as_ref().and_then(|ws| policy.deadline_of(ws)).map(|(at, why)| (format_utc_millis(at), why));
    Ok(Activity::Recorded(next))
}

/// A user's "Keep running": activity, and an event that says until when
/// (so the page's warning goes away on every page that shows it).
pub async fn keep_running(
    pool: &Db,
    bus: &EventBus,
    policy: AutoStopPolicy,
    owner: &User,
    id: &str,
) -> Result<Activity, Error> {
    use crate::domain::auto_stop::KEPT_PREFIX;
    use crate::domain::time::clock;
    let found = activity(pool, policy, owner, id).await?;
    if let Activity::Recorded(next) = &found {
        let line = match next {
            Some((at, StopReason::Idle(_))) => {
                format!("{KEPT_PREFIX}: it stops at {} UTC if idle", clock(at))
            }
            Some((at, StopReason::Running(secs))) => format!(
                "{KEPT_PREFIX}, until {} UTC (it stops after running for {})",
                clock(at),
                crate::domain::auto_stop::span(*secs)
            ),
            None => KEPT_PREFIX.to_owned(),
        };
        let event = NewEvent {
            workstation_id: id,
            owner_id: owner.id,
            kind: EventKind::Log,
            status: WorkstationStatus::Running,
            phase: None,
            progress: None,
            message: Some(&line),
        };
        super::engine::record_one(pool, bus, event).await?;
    }
    Ok(found)
}

/// Records activity of a terminal on workstation `id` of `owner_id`.
pub async fn terminal_activity(pool: &Db, owner_id: i64, id: &str) {
    let touched = async {
        let mut tx = store::begin_write(pool).await?;
        store::touch_activity(&mut tx, owner_id, id).await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    };
    if let Err(e) = touched.await {
        tracing::debug!(error = %e, "cannot record a terminal's activity");
    }
}
