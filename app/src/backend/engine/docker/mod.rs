//! A provisioner that makes each workstation a container on a Docker Engine
//! API (Docker itself, or Podman's compatible service), through bollard.
//!
//! A workstation `ws-…` is a volume `atelier-ws-…-home` mounted at the home
//! directory, and a container `atelier-ws-…` with the asked CPU and memory
//! limits, its GPU device, and labels naming it. Every step first looks for
//! what exists by name, so a job run again (taken over after a crash, or
//! retried) never makes a second container or volume. A container whose
//! limits no longer match the workstation's configuration (it was
//! reconfigured) is made again on the same volume when it next starts: the
//! compatible API of Podman has no update call.
//!
//! - [`settings`]: hosts per region, devices, images (the catalog's `[docker]`);
//! - [`host`]: one engine's client and its errors in words;
//! - [`spec`]: the container a workstation is;
//! - [`reconcile`]: keeps statuses true to what the engines report.

mod host;
mod reconcile;
pub mod settings;
mod shell;
mod spec;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use bollard::query_parameters::{
    InspectContainerOptions, RemoveContainerOptions, RemoveVolumeOptions, StartContainerOptions,
    StopContainerOptions,
};
use bollard::Docker;

use super::{BoxFuture, Failure, Progress, Provisioner, Shell, ShellRefusal, ShellRequest};
use crate::backend::store::{self, Db};
use crate::domain::{JobKind, Phase, Workstation};
use host::{first_line, is_not_found, is_not_modified, Host};
pub use settings::{DockerOptions, Placement};
use spec::{container_name, volume_name, Desired};

/// What an engine reported, for `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineState {
    pub name: String,
    /// `Ok(version)` or why it cannot be reached.
    pub state: Result<String, String>,
}

/// Runs workstations as containers.
pub struct DockerProvisioner {
    pool: Db,
    options: DockerOptions,
    placement: Placement,
    hosts: Vec<Host>,
    /// Containers with Atelier's label and no workstation, per engine.
    orphans: Mutex<BTreeMap<String, Vec<String>>>,
}

impl DockerProvisioner {
    pub fn new(pool: Db, options: DockerOptions, placement: Placement) -> Self {
        let hosts = placement.hosts.iter().cloned().map(Host::new).collect();
        Self { pool, options, placement, hosts, orphans: Mutex::default() }
    }

    fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.spec.name == name)
    }

    /// Each engine's state, asked now.
    pub async fn engines(&self) -> Vec<EngineState> {
        let mut states = Vec::with_capacity(self.hosts.len());
        for host in &self.hosts {
            let state = tokio::time::timeout(Duration::from_secs(3), host.check())
                .await
                .unwrap_or_else(|_| Err("it did not answer within 3 s".to_owned()));
            states.push(EngineState { name: host.spec.name.clone(), state });
        }
        states
    }

    /// Prometheus lines: containers with Atelier's label and no workstation.
    pub fn write_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        out.push_str(
            "# HELP atelier_orphan_containers Containers labelled as Atelier's with no workstation, per engine.\n\
             # TYPE atelier_orphan_containers gauge\n",
        );
        let orphans = self.orphans.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for host in &self.hosts {
            let count = orphans.get(&host.spec.name).map_or(0, Vec::len);
            let _ = writeln!(
                out,
                "atelier_orphan_containers{{engine=\"{}\"}} {count}",
                crate::backend::metrics::label(&host.spec.name)
            );
        }
    }

    /// The engine `ws` lives on and the device it holds, assigning both
    /// when it has none yet (or its device was taken while it held none).
    async fn place(&self, ws: &Workstation) -> Result<(&Host, Option<String>), Failure> {
        let c = &ws.configuration;
        let candidates = self.placement.hosts_for(&c.region);
        let existing = store::assignment(&self.pool, &ws.id).await?;
        let hosts: Vec<&settings::HostSpec> = match &existing {
            Some(a) => {
                let Some(host) = candidates.iter().find(|h| h.name == a.host) else {
                    let reason = match self.host(&a.host) {
                        Some(_) => format!(
                            "Its home volume is on the engine {}, which does not serve {}: \
                             a workstation cannot move between regions on containers",
                            a.host, c.region
                        ),
                        None => format!("Its engine {} is no longer configured", a.host),
                    };
                    return Err(Failure(reason));
                };
                let wanted = host.devices.get(&c.gpu);
                match (&a.device, wanted) {
                    (Some(device), Some(ids)) if a.gpu == c.gpu && ids.contains(device) => {
                        let host = self.host(&a.host).ok_or_else(|| Failure("no such engine".into()))?;
                        // Still ours unless a failed stretch let another take it.
                        if self.device_is_ours(host, &c.gpu, device, &ws.id).await? {
                            return Ok((host, Some(device.clone())));
                        }
                    }
                    (None, None) if a.gpu == c.gpu => {
                        let host = self.host(&a.host).ok_or_else(|| Failure("no such engine".into()))?;
                        return Ok((host, None));
                    }
                    _ => {}
                }
                vec![*host]
            }
            None => {
                let with_devices: Vec<_> =
                    candidates.iter().copied().filter(|h| h.devices.contains_key(&c.gpu)).collect();
                if with_devices.is_empty() {
                    candidates
                } else {
                    with_devices
                }
            }
        };
        for _ in 0..5 {
            if let Some(placed) = self.try_place(ws, &hosts).await? {
                return Ok(placed);
            }
        }
        Err(Failure(format!("Another workstation kept taking the free {} device; try again", c.gpu)))
    }

    async fn device_is_ours(&self, host: &Host, gpu: &str, device: &str, id: &str) -> Result<bool, Failure> {
        let mut tx = store::begin_read(&self.pool).await.map_err(crate::backend::Error::from)?;
        let held = store::devices_held(&mut tx, &host.spec.name, gpu, id).await?;
        tx.rollback().await.map_err(crate::backend::Error::from)?;
        Ok(!held.iter().any(|d| d == device))
    }

    /// One try at placing `ws` on one of `hosts`: `None` when a device was
    /// taken by another workstation in the meantime.
    async fn try_place(
        &self,
        ws: &Workstation,
        hosts: &[&settings::HostSpec],
    ) -> Result<Option<(&Host, Option<String>)>, Failure> {
        use crate::backend::Error;
        let gpu = &ws.configuration.gpu;
        let mut tx = store::begin_write(&self.pool).await.map_err(Error::from)?;
        let mut best: Option<(&settings::HostSpec, Option<String>, i64)> = None;
        for spec in hosts {
            let load = store::host_load(&mut tx, &spec.name).await?;
            let device = match spec.devices.get(gpu) {
                Some(ids) => {
                    let held = store::devices_held(&mut tx, &spec.name, gpu, &ws.id).await?;
                    match ids.iter().find(|id| !held.contains(id)) {
                        Some(free) => Some(free.clone()),
                        None => continue,
                    }
                }
                None => None,
            };
            if best.as_ref().is_none_or(|(_, _, l)| load < *l) {
                best = Some((spec, device, load));
            }
        }
        let Some((spec, device, _)) = best else {
            let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
            return Err(Failure(format!(
                "No free {gpu} device on {}: every one is held by another workstation",
                names.join(", ")
            )));
        };
        if !store::assign(&mut tx, &ws.id, &spec.name, gpu, device.as_deref()).await? {
            tx.rollback().await.map_err(Error::from)?;
            return Ok(None);
        }
        tx.commit().await.map_err(Error::from)?;
        let host = self.host(&spec.name).ok_or_else(|| Failure("no such engine".into()))?;
        Ok(Some((host, device)))
    }

    /// What the container of `ws` should be.
    async fn desired(
        &self,
        ws: &Workstation,
        owner_id: i64,
        host: &Host,
        device: Option<String>,
    ) -> Result<Desired, Failure> {
        let owner = store::user_name(&self.pool, owner_id).await?.unwrap_or_default();
        Ok(Desired {
            workstation: ws.clone(),
            owner,
            image: self.placement.image_for(&ws.configuration.gpu, &self.options).to_owned(),
            home: self.options.home.clone(),
            device,
            request: host.spec.gpu_request,
        })
    }

    async fn check_image(&self, host: &Host, docker: &Docker, image: &str) -> Result<(), Failure> {
        let found = docker.inspect_image(image).await;
        host.saw(&found).await;
        match found {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Err(Failure(format!(
                "The image {image} is not on {}: pull or import it there first",
                host.describe()
            ))),
            Err(e) => Err(host.failure("Checking the image", &e)),
        }
    }

    /// Makes the home volume unless it exists. `may_create` is false once
    /// the workstation was provisioned: a volume gone then is data lost,
    /// which an empty new one must not hide.
    async fn ensure_volume(
        &self,
        host: &Host,
        docker: &Docker,
        desired: &Desired,
        may_create: bool,
    ) -> Result<(), Failure> {
        let name = volume_name(&desired.workstation.id);
        let found = docker.inspect_volume(&name).await;
        host.saw(&found).await;
        match found {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(host.failure("Looking for the home volume", &e)),
        }
        if !may_create {
            return Err(Failure(format!(
                "Its home volume {name} is gone from {}: it was removed outside Atelier",
                host.describe()
            )));
        }
        let request = desired.volume(self.placement.volume_size_option.as_deref());
        let made = docker.create_volume(request).await;
        host.saw(&made).await;
        made.map(|_| ()).map_err(|e| host.failure("Creating the home volume", &e))
    }

    /// Makes the container unless one with the desired limits exists; one
    /// with others is removed first (its home volume stays). Returns whether
    /// it made one.
    async fn ensure_container(
        &self,
        host: &Host,
        docker: &Docker,
        desired: &Desired,
    ) -> Result<bool, Failure> {
        let name = container_name(&desired.workstation.id);
        let found = docker.inspect_container(&name, None::<InspectContainerOptions>).await;
        host.saw(&found).await;
        match found {
            Ok(existing) => {
                let labels = existing.config.and_then(|c| c.labels).unwrap_or_default();
                if labels.get(spec::SPEC_LABEL) == Some(&desired.fingerprint()) {
                    return Ok(false);
                }
                let options = RemoveContainerOptions { force: true, ..Default::default() };
                let removed = docker.remove_container(&name, Some(options)).await;
                host.saw(&removed).await;
                match removed {
                    Ok(()) => {}
                    Err(e) if is_not_found(&e) => {}
                    Err(e) => return Err(host.failure("Removing the old container", &e)),
                }
            }
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(host.failure("Looking for the container", &e)),
        }
        let options = bollard::query_parameters::CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        let made = docker.create_container(Some(options), desired.container()).await;
        host.saw(&made).await;
        match made {
            Ok(_) => Ok(true),
            // The name is taken: made by another run of this job since the
            // look above, or the old one is still there. Only one with the
            // desired limits will do.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, message }) => {
                let found = docker.inspect_container(&name, None::<InspectContainerOptions>).await;
                let labels = found.ok().and_then(|c| c.config).and_then(|c| c.labels).unwrap_or_default();
                if labels.get(spec::SPEC_LABEL) == Some(&desired.fingerprint()) {
                    Ok(false)
                } else {
                    Err(Failure(format!(
                        "Creating the container failed on {}: the name {name} is taken ({})",
                        host.describe(),
                        first_line(&message)
                    )))
                }
            }
            Err(e) => Err(host.failure("Creating the container", &e)),
        }
    }

    async fn start(&self, host: &Host, docker: &Docker, id: &str) -> Result<(), Failure> {
        let started = docker.start_container(&container_name(id), None::<StartContainerOptions>).await;
        host.saw(&started).await;
        match started {
            Ok(()) => Ok(()),
            Err(e) if is_not_modified(&e) => Ok(()),
            Err(e) => Err(host.failure("Starting the container", &e)),
        }
    }

    /// Runs the probe inside the container until it succeeds.
    async fn probe(
        &self,
        host: &Host,
        docker: &Docker,
        id: &str,
        progress: &Progress,
    ) -> Result<(), Failure> {
        if self.options.probe.is_empty() {
            return Ok(());
        }
        let name = container_name(id);
        let deadline = tokio::time::Instant::now() + self.options.probe_timeout;
        let command = self.options.probe.join(" ");
        loop {
            let last = match spec::exec(docker, &name, &self.options.probe).await {
                Ok((0, _)) => return Ok(()),
                Ok((code, output)) => format!("exit status {code}{}", tail_words(&output)),
                Err(e) if host::is_unreachable(&e) => return Err(host.failure("Probing", &e)),
                Err(e) => host::engine_words(&e),
            };
            // A container that exited will not come up by waiting.
            let state = docker.inspect_container(&name, None::<InspectContainerOptions>).await;
            if let Ok(state) = state {
                let s = state.state.unwrap_or_default();
                if s.running == Some(false) {
                    let logs = spec::last_logs(docker, &name).await;
                    return Err(Failure(format!(
                        "The container exited with status {} before it was ready{}",
                        s.exit_code.unwrap_or_default(),
                        tail_words(&logs)
                    )));
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Failure(format!(
                    "The probe `{command}` did not succeed within {} s ({last})",
                    self.options.probe_timeout.as_secs()
                )));
            }
            progress.log(&format!("Not ready yet: `{command}` gave {last}")).await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn stop(&self, host: &Host, docker: &Docker, id: &str) -> Result<(), Failure> {
        let timeout = i32::try_from(self.options.stop_timeout.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptions { t: Some(timeout), ..Default::default() };
        let stopped = docker.stop_container(&container_name(id), Some(options)).await;
        host.saw(&stopped).await;
        match stopped {
            Ok(()) => Ok(()),
            Err(e) if is_not_modified(&e) || is_not_found(&e) => Ok(()),
            Err(e) => Err(host.failure("Stopping the container", &e)),
        }
    }

    async fn provision(&self, ws: &Workstation, progress: &Progress) -> Result<(), Failure> {
        let c = &ws.configuration;
        progress.phase(Phase::Allocating, 5, Some("Choosing an engine and a GPU")).await?;
        let (host, device) = self.place(ws).await?;
        progress.log(&placed_words(host, &c.gpu, device.as_deref())).await?;
        let docker = host.client().await?;
        let desired = self.desired(ws, progress.owner_id, host, device).await?;
        progress.phase(reported("checking-image"), 10, Some("Checking the image")).await?;
        self.check_image(host, &docker, &desired.image).await?;
        progress.log(&format!("Image {}", desired.image)).await?;
        progress.phase(reported("creating-volume"), 25, Some("Creating the home volume")).await?;
        self.ensure_volume(host, &docker, &desired, true).await?;
        progress.log(&format!("Volume {} ({} GB)", volume_name(&ws.id), c.storage_gb)).await?;
        progress.phase(reported("creating-container"), 45, Some("Creating the container")).await?;
        self.ensure_container(host, &docker, &desired).await?;
        progress
            .log(&format!(
                "Container {} with {} CPU cores and {} GB memory",
                container_name(&ws.id),
                c.cpu_cores,
                c.memory_gb
            ))
            .await?;
        progress.phase(Phase::Starting, 65, Some("Starting it once to check it")).await?;
        self.start(host, &docker, &ws.id).await?;
        progress.phase(reported("probing"), 80, Some("Waiting until it is ready")).await?;
        if let Err(failed) = self.probe(host, &docker, &ws.id, progress).await {
            // Nothing keeps running for a workstation that failed.
            let _ = self.stop(host, &docker, &ws.id).await;
            return Err(failed);
        }
        progress.phase(Phase::Stopping, 92, Some("Stopping it until it is launched")).await?;
        self.stop(host, &docker, &ws.id).await
    }

    async fn launch(&self, ws: &Workstation, progress: &Progress) -> Result<(), Failure> {
        progress.phase(Phase::Starting, 10, Some("Checking the container")).await?;
        let (host, device) = self.place(ws).await?;
        let docker = host.client().await?;
        let desired = self.desired(ws, progress.owner_id, host, device).await?;
        self.ensure_volume(host, &docker, &desired, false).await?;
        self.check_image(host, &docker, &desired.image).await?;
        if self.ensure_container(host, &docker, &desired).await? {
            let c = &ws.configuration;
            progress
                .log(&format!(
                    "Made the container again with {} CPU cores, {} GB memory{}",
                    c.cpu_cores,
                    c.memory_gb,
                    desired
                        .device
                        .as_deref()
                        .map(|d| format!(" and {} device {d}", c.gpu))
                        .unwrap_or_default()
                ))
                .await?;
        }
        progress.phase(Phase::Starting, 40, Some("Starting the container")).await?;
        self.start(host, &docker, &ws.id).await?;
        progress.phase(reported("probing"), 70, Some("Waiting until it is ready")).await?;
        let ready = self.probe(host, &docker, &ws.id, progress).await;
        if ready.is_err() {
            // A failed launch leaves the workstation stopped, and its container too.
            let _ = self.stop(host, &docker, &ws.id).await;
        }
        ready
    }

    async fn halt(&self, ws: &Workstation, progress: &Progress) -> Result<(), Failure> {
        progress.phase(Phase::Stopping, 40, Some("Stopping the container")).await?;
        let Some(a) = store::assignment(&self.pool, &ws.id).await? else { return Ok(()) };
        let host = self
            .host(&a.host)
            .ok_or_else(|| Failure(format!("Its engine {} is no longer configured", a.host)))?;
        let docker = host.client().await?;
        progress
            .log(&format!("Waiting up to {} s for its processes to end", self.options.stop_timeout.as_secs()))
            .await?;
        self.stop(host, &docker, &ws.id).await
    }

    async fn destroy(&self, ws: &Workstation, progress: &Progress) -> Result<(), Failure> {
        progress.phase(Phase::Deleting, 30, Some("Removing the container")).await?;
        let Some(a) = store::assignment(&self.pool, &ws.id).await? else { return Ok(()) };
        let Some(host) = self.host(&a.host) else {
            return Err(Failure(format!("Its engine {} is no longer configured", a.host)));
        };
        let docker = host.client().await?;
        let options = RemoveContainerOptions { force: true, v: false, ..Default::default() };
        let removed = docker.remove_container(&container_name(&ws.id), Some(options)).await;
        host.saw(&removed).await;
        match removed {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(host.failure("Removing the container", &e)),
        }
        progress.phase(Phase::Deleting, 70, Some("Removing the home volume")).await?;
        let removed =
            docker.remove_volume(&volume_name(&ws.id), Some(RemoveVolumeOptions { force: true })).await;
        host.saw(&removed).await;
        match removed {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(host.failure("Removing the home volume", &e)),
        }
        store::unassign(&self.pool, &ws.id).await?;
        Ok(())
    }
}

fn reported(name: &str) -> Phase {
    Phase::Reported(name.to_owned())
}

fn placed_words(host: &Host, gpu: &str, device: Option<&str>) -> String {
    match device {
        Some(device) => format!("On the engine {} with {gpu} device {device}", host.spec.name),
        None if host.spec.devices.is_empty() => {
            format!("On the engine {} ({gpu} assigned; this host has no GPU devices to pass)", host.spec.name)
        }
        None => format!("On the engine {} ({gpu} assigned without a device)", host.spec.name),
    }
}

/// The last lines of some output, for a reason.
fn tail_words(output: &str) -> String {
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(5)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!(": {}", first_line(&tail.join(" | ")))
    }
}

impl Provisioner for DockerProvisioner {
    fn run<'a>(
        &'a self,
        kind: JobKind,
        ws: &'a Workstation,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            match kind {
                JobKind::Provision => self.provision(ws, progress).await,
                JobKind::Launch => self.launch(ws, progress).await,
                JobKind::Stop => self.halt(ws, progress).await,
                JobKind::Delete => self.destroy(ws, progress).await,
            }
        })
    }

    fn engines(&self) -> BoxFuture<'_, Vec<EngineState>> {
        Box::pin(DockerProvisioner::engines(self))
    }

    fn write_metrics(&self, out: &mut String) {
        DockerProvisioner::write_metrics(self, out);
    }

    fn open_shell<'a>(
        &'a self,
        ws: &'a Workstation,
        request: &'a ShellRequest,
    ) -> BoxFuture<'a, Result<Shell, ShellRefusal>> {
        Box::pin(self.open(ws, request))
    }

    fn kind(&self) -> &'static str {
        "container"
    }

    fn has_terminal(&self) -> bool {
        true
    }
}
