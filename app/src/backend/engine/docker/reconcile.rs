//! Keeps each workstation's status true to what its engine reports: a
//! container that stopped or died by itself, or was removed or started
//! outside Atelier, moves its workstation (an event says why). Containers
//! labelled as Atelier's with no workstation are reported, never removed.
//!
//! The engines are read every `reconcile_every`, and at once when an
//! engine's event stream reports one of Atelier's containers changing
//! (Docker and Podman both have one). Workstations a job is working on are
//! left to the job. Each change is
//! written only if the workstation is still as it was read (its version),
//! so a job that began meanwhile, or another instance that saw the same,
//! wins, and nothing is reported twice.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};
use bollard::query_parameters::{EventsOptions, InspectContainerOptions, ListContainersOptions};
use futures_util::StreamExt;
use tokio::sync::Notify;

use super::host::{first_line, Host};
use super::spec::{last_logs, WORKSTATION_LABEL};
use super::DockerProvisioner;
use crate::backend::events::EventBus;
use crate::backend::store::{self, Assigned, NewEvent};
use crate::backend::Error;
use crate::domain::{EventKind, WorkstationStatus};

impl DockerProvisioner {
    /// Reads the engines now, then every `reconcile_every` and whenever an
    /// engine reports a change to one of Atelier's containers, until the
    /// task is dropped.
    pub async fn reconcile_forever(self: Arc<Self>, bus: EventBus) {
        let wake = Arc::new(Notify::new());
        let _watchers = AbortOnDrop(
            (0..self.hosts.len()).map(|n| tokio::spawn(self.clone().watch_events(n, wake.clone()))).collect(),
        );
        let mut tick = tokio::time::interval(self.options.reconcile_every.max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = wake.notified() => {}
            }
            if let Err(e) = self.reconcile(&bus).await {
                tracing::warn!(error = %e, "cannot compare the workstations with their engines");
            }
        }
    }

    /// Follows host `n`'s event stream, waking the reconciler at each event
    /// of a labelled container; subscribes again when the stream ends.
    async fn watch_events(self: Arc<Self>, n: usize, wake: Arc<Notify>) {
        let host = &self.hosts[n];
        loop {
            if let Ok(docker) = host.client().await {
                let filters = HashMap::from([
                    ("type".to_owned(), vec!["container".to_owned()]),
                    ("label".to_owned(), vec![WORKSTATION_LABEL.to_owned()]),
                ]);
                let options = EventsOptions { filters: Some(filters), ..Default::default() };
                let mut events = docker.events(Some(options));
                while let Some(Ok(event)) = events.next().await {
                    let action = event.action.as_deref().unwrap_or_default();
                    if ["die", "kill", "oom", "stop", "destroy", "remove", "start"].contains(&action) {
                        wake.notify_one();
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    /// Compares every engine's containers with the workstations on it once.
    pub async fn reconcile(&self, bus: &EventBus) -> Result<(), Error> {
        let assigned = store::assigned_workstations(&self.pool).await?;
        let known: BTreeSet<&str> = assigned.iter().map(|w| w.id.as_str()).collect();
        for host in &self.hosts {
            let Some(containers) = list(host).await else { continue };
            let mut orphans: Vec<String> = containers
                .keys()
                .filter(|id| !known.contains(id.as_str()))
                .map(|id| super::spec::container_name(id))
                .collect();
            orphans.sort();
            self.note_orphans(host, orphans);
            for ws in assigned.iter().filter(|w| w.host == host.spec.name && !w.busy()) {
                let Some(status) = ws.status() else { continue };
                let container = containers.get(&ws.id);
                let running =
                    container.is_some_and(|c| matches!(c.state, Some(ContainerSummaryStateEnum::RUNNING)));
                if status == WorkstationStatus::Error && running {
                    // Left running by a job that was cancelled or timed out:
                    // a failed workstation holds nothing, its GPU included.
                    self.stop_left_running(bus, host, ws).await?;
                    continue;
                }
                if let Some((next, reason)) = compare(host, status, container).await {
                    self.report(bus, ws, next, &reason).await?;
                }
            }
        }
        Ok(())
    }

    fn note_orphans(&self, host: &Host, orphans: Vec<String>) {
        let mut all = self.orphans.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = all.get(&host.spec.name).cloned().unwrap_or_default();
        for name in orphans.iter().filter(|n| !before.contains(n)) {
            tracing::warn!(
                engine = %host.spec.name,
                container = %name,
                "a container labelled as Atelier's has no workstation; it is left as it is"
            );
        }
        all.insert(host.spec.name.clone(), orphans);
    }

    /// Stops the container of a failed workstation, and says so in its history.
    async fn stop_left_running(&self, bus: &EventBus, host: &Host, ws: &Assigned) -> Result<(), Error> {
        let Ok(docker) = host.client().await else { return Ok(()) };
        let timeout = i32::try_from(self.options.stop_timeout.as_secs()).unwrap_or(i32::MAX);
        let options =
            bollard::query_parameters::StopContainerOptions { t: Some(timeout), ..Default::default() };
        let stopped = docker.stop_container(&super::spec::container_name(&ws.id), Some(options)).await;
        host.saw(&stopped).await;
        if stopped.is_err() {
            return Ok(());
        }
        tracing::info!(workstation = %ws.id, "stopped the container a failed workstation left running");
        let event = NewEvent {
            workstation_id: &ws.id,
            owner_id: ws.owner_id,
            kind: EventKind::Log,
            status: WorkstationStatus::Error,
            phase: None,
            progress: None,
            message: Some("Stopped its container, left running by a job that did not finish"),
        };
        crate::backend::engine::record_one(&self.pool, bus, event).await
    }

    /// Moves `ws` to `status` with `reason`, if it is still as it was read.
    async fn report(
        &self,
        bus: &EventBus,
        ws: &Assigned,
        status: WorkstationStatus,
        reason: &str,
    ) -> Result<(), Error> {
        let pool = &self.pool;
        let changed = bus
            .record(|| async {
                let mut tx = store::begin_write(pool).await?;
                let Some(now) = store::workstation_in_tx(&mut tx, ws.owner_id, &ws.id).await? else {
                    return Ok((false, Vec::new()));
                };
                if now.version != ws.version || now.phase.is_some() {
                    return Ok((false, Vec::new()));
                }
                let event = NewEvent {
                    workstation_id: &ws.id,
                    owner_id: ws.owner_id,
                    kind: EventKind::Status,
                    status,
                    phase: None,
                    progress: None,
                    message: Some(reason),
                };
                let published = store::append_event(&mut tx, event).await?;
                tx.commit().await?;
                Ok((true, vec![published]))
            })
            .await?;
        if changed {
            tracing::info!(workstation = %ws.id, status = %status, %reason, "status taken from the engine");
        }
        Ok(())
    }
}

/// Aborts the tasks when dropped.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

/// The engine's containers of Atelier's, by workstation id; `None` when
/// the engine cannot be read now.
async fn list(host: &Host) -> Option<HashMap<String, ContainerSummary>> {
    let docker = host.client().await.ok()?;
    let filters = HashMap::from([("label".to_owned(), vec![WORKSTATION_LABEL.to_owned()])]);
    let options = ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
    let listed = docker.list_containers(Some(options)).await;
    host.saw(&listed).await;
    let containers = listed.ok()?;
    Some(
        containers
            .into_iter()
            .filter_map(|c| Some((c.labels.as_ref()?.get(WORKSTATION_LABEL)?.clone(), c)))
            .collect(),
    )
}

/// What a workstation in `status` with this container should be now, and why.
async fn compare(
    host: &Host,
    status: WorkstationStatus,
    container: Option<&ContainerSummary>,
) -> Option<(WorkstationStatus, String)> {
    use WorkstationStatus::{Error as Failed, Running, Stopped};
    let Some(container) = container else {
        return matches!(status, Running | Stopped)
            .then(|| (Failed, "Its container was removed outside Atelier".to_owned()));
    };
    let running = matches!(container.state, Some(ContainerSummaryStateEnum::RUNNING));
    match status {
        Running if !running => Some(ended(host, container).await),
        Stopped if running => Some((Running, "Started outside Atelier: its container is running".to_owned())),
        _ => None,
    }
}

/// Why a container that should run is not running, and the status that gives.
async fn ended(host: &Host, container: &ContainerSummary) -> (WorkstationStatus, String) {
    let name = container.id.clone().unwrap_or_default();
    let Ok(docker) = host.client().await else {
        return (WorkstationStatus::Error, "Its container stopped by itself".to_owned());
    };
    let state = docker
        .inspect_container(&name, None::<InspectContainerOptions>)
        .await
        .ok()
        .and_then(|c| c.state)
        .unwrap_or_default();
    let code = state.exit_code.unwrap_or_default();
    let oom = state.oom_killed == Some(true);
    let logs = last_logs(&docker, &name).await;
    let lines: Vec<&str> = logs.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let tail = if lines.is_empty() {
        String::new()
    } else {
        format!(". Last output: {}", first_line(&lines[lines.len().saturating_sub(5)..].join(" | ")))
    };
    if code == 0 && !oom {
        (WorkstationStatus::Stopped, format!("Stopped by itself: its container exited with status 0{tail}"))
    } else if oom {
        (
            WorkstationStatus::Error,
            format!("Its container ran out of memory and was killed (exit status {code}){tail}"),
        )
    } else {
        (WorkstationStatus::Error, format!("Its container exited with status {code}{tail}"))
    }
}
