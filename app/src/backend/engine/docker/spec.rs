//! The container and volume a workstation is, and running a command in it.

use std::collections::HashMap;

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, DeviceRequest, ExecConfig, HostConfig, VolumeCreateRequest};
use bollard::query_parameters::LogsOptions;
use bollard::Docker;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::settings::GpuRequest;
use crate::domain::Workstation;

/// The label every container and volume of Atelier's carries: its workstation's id.
pub const WORKSTATION_LABEL: &str = "atelier.workstation";
/// The label with the fingerprint of the limits a container was made with.
pub const SPEC_LABEL: &str = "atelier.spec";

/// The container of workstation `id`.
pub fn container_name(id: &str) -> String {
    format!("atelier-{id}")
}

/// The home volume of workstation `id`.
pub fn volume_name(id: &str) -> String {
    format!("atelier-{id}-home")
}

/// Everything a workstation's container is made from.
pub struct Desired {
    pub workstation: Workstation,
    /// The owner's user name (a label).
    pub owner: String,
    pub image: String,
    pub home: String,
    /// The assigned GPU device, passed unless the host has none.
    pub device: Option<String>,
    pub request: GpuRequest,
}

impl Desired {
    /// A short hash of what makes the container: equal fingerprints, same container.
    pub fn fingerprint(&self) -> String {
        let c = &self.workstation.configuration;
        let text = format!(
            "{}|{}|{}|{}|{}|{:?}|{:?}|{}",
            self.image, c.cpu_cores, c.memory_gb, c.gpu, c.storage_gb, self.device, self.request, self.home
        );
        hex::encode(&Sha256::digest(text.as_bytes())[..8])
    }

    fn labels(&self) -> HashMap<String, String> {
        let ws = &self.workstation;
        let c = &ws.configuration;
        let mut labels = HashMap::from([
            (WORKSTATION_LABEL.to_owned(), ws.id.clone()),
            ("atelier.owner".to_owned(), self.owner.clone()),
            ("atelier.name".to_owned(), ws.name.clone()),
            ("atelier.region".to_owned(), c.region.clone()),
            ("atelier.gpu".to_owned(), c.gpu.clone()),
            ("atelier.storage-gb".to_owned(), c.storage_gb.to_string()),
        ]);
        if let Some(device) = &self.device {
            labels.insert("atelier.gpu-device".to_owned(), device.clone());
        }
        labels
    }

    /// The home volume's request; `size_option` names the driver option
    /// that takes its size, for drivers that have one.
    pub fn volume(&self, size_option: Option<&str>) -> VolumeCreateRequest {
        let ws = &self.workstation;
        VolumeCreateRequest {
            name: Some(volume_name(&ws.id)),
            labels: Some(self.labels()),
            driver_opts: size_option.map(|option| {
                HashMap::from([(option.to_owned(), format!("{}G", ws.configuration.storage_gb))])
            }),
            ..Default::default()
        }
    }

    /// The container's request.
    pub fn container(&self) -> ContainerCreateBody {
        let ws = &self.workstation;
        let c = &ws.configuration;
        let mut labels = self.labels();
        labels.insert(SPEC_LABEL.to_owned(), self.fingerprint());
        let device_requests = self.device.as_ref().and_then(|device| match self.request {
            GpuRequest::Nvidia => Some(vec![DeviceRequest {
                driver: Some("nvidia".to_owned()),
                device_ids: Some(vec![device.clone()]),
                capabilities: Some(vec![vec!["gpu".to_owned()]]),
                ..Default::default()
            }]),
            GpuRequest::Cdi => Some(vec![DeviceRequest {
                driver: Some("cdi".to_owned()),
                device_ids: Some(vec![format!("nvidia.com/gpu={device}")]),
                ..Default::default()
            }]),
            GpuRequest::None => None,
        });
        ContainerCreateBody {
            image: Some(self.image.clone()),
            hostname: Some(hostname(&ws.name)),
            working_dir: Some(self.home.clone()),
            env: Some(vec![
                format!("HOME={}", self.home),
                format!("ATELIER_WORKSTATION_ID={}", ws.id),
                format!("ATELIER_WORKSTATION_NAME={}", ws.name),
            ]),
            labels: Some(labels),
            // Keeps an image whose command is a shell running, as `docker run -it` would.
            tty: Some(true),
            open_stdin: Some(true),
            host_config: Some(HostConfig {
                nano_cpus: Some(i64::from(c.cpu_cores) * 1_000_000_000),
                memory: Some(i64::from(c.memory_gb) << 30),
                binds: Some(vec![format!("{}:{}", volume_name(&ws.id), self.home)]),
                device_requests,
                // An init as process 1 (Docker's docker-init, Podman's
                // catatonit) passes a stop's SIGTERM on, so a workstation
                // stops at once rather than after the stop timeout.
                init: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// A workstation's name as a host name: lower-case letters, digits and dashes.
fn hostname(name: &str) -> String {
    let mut host: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .take(63)
        .collect();
    host = host.trim_matches('-').to_owned();
    if host.is_empty() {
        "workstation".to_owned()
    } else {
        host
    }
}

/// Runs `command` in the running container `name`; its exit code and output.
pub async fn exec(
    docker: &Docker,
    name: &str,
    command: &[String],
) -> Result<(i64, String), bollard::errors::Error> {
    let config = ExecConfig {
        cmd: Some(command.to_vec()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let exec = docker.create_exec(name, config).await?.id;
    let mut output = String::new();
    if let StartExecResults::Attached { output: mut stream, .. } =
        docker.start_exec(&exec, None::<StartExecOptions>).await?
    {
        while let Some(chunk) = stream.next().await {
            output.push_str(&String::from_utf8_lossy(&chunk?.into_bytes()));
            if output.len() > 64 * 1024 {
                break;
            }
        }
    }
    // The exit code is set a moment after the output ends.
    for _ in 0..50 {
        let inspected = docker.inspect_exec(&exec).await?;
        if inspected.running != Some(true) {
            return Ok((inspected.exit_code.unwrap_or(-1), output));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok((-1, output))
}

/// The container's last log lines (empty when they cannot be read).
pub async fn last_logs(docker: &Docker, name: &str) -> String {
    let options = LogsOptions { stdout: true, stderr: true, tail: "5".to_owned(), ..Default::default() };
    let mut logs = docker.logs(name, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = logs.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        if text.len() > 16 * 1024 {
            break;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Configuration, WorkstationStatus};

    fn desired(device: Option<&str>, request: GpuRequest) -> Desired {
        Desired {
            workstation: Workstation {
                id: "ws-1".into(),
                name: "Render Box #2".into(),
                status: WorkstationStatus::Provisioning,
                configuration: Configuration {
                    cpu_cores: 2,
                    memory_gb: 3,
                    gpu: "NVIDIA L4".into(),
                    storage_gb: 20,
                    region: "us-west-2".into(),
                },
                owner: crate::domain::Owner {
                    kind: crate::domain::OwnerKind::User,
                    id: 1,
                    name: "ada".into(),
                },
                phase: None,
                auto_stop: Default::default(),
                auto_stop_at: None,
                auto_stop_reason: None,
                pending_configuration: None,
            },
            owner: "ada".into(),
            image: "img".into(),
            home: "/home/atelier".into(),
            device: device.map(str::to_owned),
            request,
        }
    }

    #[test]
    fn limits_labels_and_devices() {
        let body = desired(Some("1"), GpuRequest::Nvidia).container();
        let host = body.host_config.unwrap();
        assert_eq!(host.nano_cpus, Some(2_000_000_000));
        assert_eq!(host.memory, Some(3 * 1024 * 1024 * 1024));
        assert_eq!(host.binds.unwrap(), ["atelier-ws-1-home:/home/atelier"]);
        let request = &host.device_requests.unwrap()[0];
        assert_eq!(request.driver.as_deref(), Some("nvidia"));
        assert_eq!(request.device_ids.as_deref(), Some(&["1".to_owned()][..]));
        let labels = body.labels.unwrap();
        assert_eq!(labels["atelier.workstation"], "ws-1");
        assert_eq!(labels["atelier.owner"], "ada");
        assert_eq!(labels["atelier.storage-gb"], "20");
        assert_eq!(body.hostname.as_deref(), Some("render-box--2"));

        let cdi = desired(Some("GPU-9"), GpuRequest::Cdi).container().host_config.unwrap();
        assert_eq!(
            cdi.device_requests.unwrap()[0].device_ids.as_deref(),
            Some(&["nvidia.com/gpu=GPU-9".to_owned()][..])
        );
        assert!(desired(None, GpuRequest::Nvidia).container().host_config.unwrap().device_requests.is_none());
        let shown = desired(Some("0"), GpuRequest::None).container();
        assert!(shown.host_config.unwrap().device_requests.is_none());
        assert_eq!(shown.labels.unwrap()["atelier.gpu-device"], "0");
    }

    #[test]
    fn the_fingerprint_follows_the_limits() {
        let a = desired(None, GpuRequest::Nvidia);
        let mut b = desired(None, GpuRequest::Nvidia);
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.workstation.configuration.memory_gb = 4;
        assert_ne!(a.fingerprint(), b.fingerprint());
        // The container's label records the size: it is made again for a new one.
        let mut c = desired(None, GpuRequest::Nvidia);
        c.workstation.configuration.storage_gb = 40;
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}
