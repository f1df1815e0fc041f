//! Where container workstations run: the engines (hosts) per region, their
//! GPU devices per type, and the images. Read from the catalog file's
//! server-only `[docker]` section and the `serve` flags; none of it reaches
//! the browser.
//!
//! ```toml
//! [docker]
//! images = { "NVIDIA H100 80GB" = "registry.example.com/cuda-workstation:12" }
//!
//! [[docker.hosts]]
//! name = "gpu-a"                           # how errors, /readyz and /metrics name it
//! region = "us-west-2"                     # one or more hosts per region
//! docker_host = "unix:///run/docker.sock"  # default: --docker-host / DOCKER_HOST
//! gpu_request = "nvidia"                   # "nvidia" (driver + device id), "cdi" (nvidia.com/gpu=<id>),
//!                                          # or "none" (assigned and shown, not passed)
//! devices = { "NVIDIA L4" = ["0", "1"], "NVIDIA A10G" = "none" }
//! ```
//!
//! A region with no host of its own runs on the default engine. A GPU type a
//! host lists devices for is limited to those devices (the region's capacity
//! for it is their number); a type it lists as `"none"`, or does not list,
//! runs there without a device passed, within the catalog's capacity.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::domain::{CapacityLimit, Catalog};

/// The container provisioner's flags.
#[derive(Debug, Clone)]
pub struct DockerOptions {
    /// The engine of regions without a host of their own (`--docker-host`).
    pub default_host: String,
    /// The workstation image unless the catalog names one for its GPU type.
    pub image: String,
    /// Run inside a started container until it succeeds: it is ready.
    pub probe: Vec<String>,
    /// How long the probe may keep failing.
    pub probe_timeout: Duration,
    /// How long a stop waits for the container's processes before killing them.
    pub stop_timeout: Duration,
    /// Where the home volume is mounted.
    pub home: String,
    /// How often the engines are read to keep statuses true.
    pub reconcile_every: Duration,
}

impl Default for DockerOptions {
    fn default() -> Self {
        use crate::backend::state::defaults;
        Self {
            default_host: defaults::DOCKER_HOST.to_owned(),
            image: defaults::WORKSTATION_IMAGE.to_owned(),
            probe: vec![defaults::WORKSTATION_PROBE.to_owned()],
            probe_timeout: Duration::from_secs(defaults::PROBE_TIMEOUT_SECS),
            stop_timeout: Duration::from_secs(defaults::STOP_TIMEOUT_SECS),
            home: defaults::WORKSTATION_HOME.to_owned(),
            reconcile_every: Duration::from_millis(defaults::RECONCILE_MS),
        }
    }
}

/// The catalog file's `[docker]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerSection {
    /// An image per GPU type (others use `--workstation-image`).
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    #[serde(default)]
    pub hosts: Vec<HostEntry>,
    /// The volume driver option that takes a size, for drivers that have
    /// one (`size` for Podman's local driver on XFS with quotas): the
    /// volume is then made with `<option>=<storageGB>G`.
    #[serde(default)]
    pub volume_size_option: Option<String>,
}

/// One engine and the region it serves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    #[serde(default)]
    pub name: Option<String>,
    pub region: String,
    #[serde(default)]
    pub docker_host: Option<String>,
    #[serde(default)]
    pub gpu_request: GpuRequest,
    #[serde(default)]
    pub devices: BTreeMap<String, Devices>,
}

/// How an assigned device is passed to the container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GpuRequest {
    /// A device request for the `nvidia` driver with the device's id.
    #[default]
    Nvidia,
    /// A CDI device named `nvidia.com/gpu=<id>`.
    Cdi,
    /// Assigned and shown (a label on the container) but not passed: for
    /// trying out device assignment on a host without GPUs.
    None,
}

/// The devices of one GPU type on a host.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Devices {
    /// Device ids (indexes or UUIDs).
    List(Vec<String>),
    /// `"none"`: the host has no such device; workstations of the type run
    /// there without one.
    Word(String),
}

/// An engine workstations run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    pub name: String,
    pub region: Option<String>,
    pub url: String,
    pub gpu_request: GpuRequest,
    /// Devices per GPU type; a type absent here runs without one.
    pub devices: BTreeMap<String, Vec<String>>,
}

/// The engines and images, checked.
#[derive(Debug, Clone)]
pub struct Placement {
    /// The default engine first (named `default`), then the catalog's hosts.
    pub hosts: Vec<HostSpec>,
    pub images: BTreeMap<String, String>,
    pub volume_size_option: Option<String>,
}

/// The `[docker]` part of a catalog file, if it has one.
#[derive(Deserialize)]
struct WithDocker {
    #[serde(default)]
    docker: DockerSection,
}

impl Placement {
    /// Reads the `[docker]` section of a catalog file's text (none in the
    /// embedded catalog) and checks it against the catalog.
    pub fn from_catalog_text(text: &str, catalog: &Catalog, options: &DockerOptions) -> Result<Self, String> {
        let section = toml::from_str::<WithDocker>(text).map_err(|e| format!("[docker]: {e}"))?.docker;
        Self::new(section, catalog, options)
    }

    fn new(section: DockerSection, catalog: &Catalog, options: &DockerOptions) -> Result<Self, String> {
        let mut problems = Vec::new();
        let mut hosts = vec![HostSpec {
            name: "default".to_owned(),
            region: None,
            url: options.default_host.clone(),
            gpu_request: GpuRequest::Nvidia,
            devices: BTreeMap::new(),
        }];
        for (n, entry) in section.hosts.into_iter().enumerate() {
            let name = entry.name.unwrap_or_else(|| format!("{}-{}", entry.region, n + 1));
            if catalog.region(&entry.region).is_none() {
                problems.push(format!("docker.hosts {name}: region {} is not in the catalog", entry.region));
            }
            if hosts.iter().any(|h| h.name == name) {
                problems.push(format!("docker.hosts: the name {name} is used twice"));
            }
            let mut devices = BTreeMap::new();
            for (gpu, list) in entry.devices {
                if catalog.gpu(&gpu).is_none() {
                    problems.push(format!("docker.hosts {name}: GPU type {gpu} is not in the catalog"));
                }
                match list {
                    Devices::List(ids) if ids.is_empty() => problems.push(format!(
                        "docker.hosts {name}: {gpu} lists no devices (write \"none\" for a host without)"
                    )),
                    Devices::List(ids) => {
                        let mut sorted = ids.clone();
                        sorted.sort();
                        sorted.dedup();
                        if sorted.len() != ids.len() {
                            problems.push(format!("docker.hosts {name}: {gpu} lists a device twice"));
                        }
                        devices.insert(gpu, ids);
                    }
                    Devices::Word(word) if word == "none" => {}
                    Devices::Word(word) => problems.push(format!(
                        "docker.hosts {name}: devices for {gpu} must be a list or \"none\", not {word:?}"
                    )),
                }
            }
            let url = entry.docker_host.unwrap_or_else(|| options.default_host.clone());
            if !(url.starts_with("unix://") || url.starts_with("tcp://") || url.starts_with("http://")) {
                problems.push(format!(
                    "docker.hosts {name}: docker_host must be unix://, tcp:// or http:// (got {url:?})"
                ));
            }
            hosts.push(HostSpec {
                name,
                region: Some(entry.region),
                url,
                gpu_request: entry.gpu_request,
                devices,
            });
        }
        for gpu in section.images.keys() {
            if catalog.gpu(gpu).is_none() {
                problems.push(format!("docker.images: GPU type {gpu} is not in the catalog"));
            }
        }
        if problems.is_empty() {
            Ok(Self { hosts, images: section.images, volume_size_option: section.volume_size_option })
        } else {
            Err(problems.join("; "))
        }
    }

    /// The engines workstations in `region` run on: its own hosts, or the default one.
    pub fn hosts_for(&self, region: &str) -> Vec<&HostSpec> {
        let own: Vec<&HostSpec> = self.hosts.iter().filter(|h| h.region.as_deref() == Some(region)).collect();
        if own.is_empty() {
            self.hosts.iter().take(1).collect()
        } else {
            own
        }
    }

    /// The engine named `name`.
    pub fn host(&self, name: &str) -> Option<&HostSpec> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The image for a workstation with `gpu`.
    pub fn image_for<'a>(&'a self, gpu: &str, options: &'a DockerOptions) -> &'a str {
        self.images.get(gpu).map_or(options.image.as_str(), String::as_str)
    }

    /// Limits the catalog's capacity for each region and GPU type that has
    /// devices listed to the number of those devices, so a create beyond
    /// them is refused as capacity, as any other.
    pub fn limit_capacity(&self, catalog: &mut Catalog) {
        let mut counts: BTreeMap<(String, String), u32> = BTreeMap::new();
        for host in &self.hosts {
            let Some(region) = &host.region else { continue };
            for (gpu, ids) in &host.devices {
                *counts.entry((region.clone(), gpu.clone())).or_default() +=
                    u32::try_from(ids.len()).unwrap_or(u32::MAX);
            }
        }
        for ((region, gpu), count) in counts {
            catalog.capacity.limits.retain(|l| !(l.region == region && l.gpu == gpu));
            catalog.capacity.limits.push(CapacityLimit { region, gpu, count });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement(docker: &str) -> Result<Placement, String> {
        Placement::from_catalog_text(docker, &Catalog::embedded(), &DockerOptions::default())
    }

    #[test]
    fn no_section_means_the_default_engine_everywhere() {
        let p = placement("").unwrap();
        assert_eq!(p.hosts.len(), 1);
        assert_eq!(p.hosts_for("eu-west-1")[0].name, "default");
    }

    #[test]
    fn hosts_devices_and_capacity() {
        let p = placement(
            r#"
            [[docker.hosts]]
            name = "gpu-a"
            region = "us-west-2"
            docker_host = "unix:///tmp/a.sock"
            devices = { "NVIDIA L4" = ["0", "1"], "NVIDIA A10G" = "none" }
            [[docker.hosts]]
            region = "us-west-2"
            gpu_request = "cdi"
            devices = { "NVIDIA L4" = ["GPU-1"] }
            "#,
        )
        .unwrap();
        let names: Vec<&str> = p.hosts_for("us-west-2").iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["gpu-a", "us-west-2-2"]);
        assert_eq!(p.hosts_for("eu-west-1")[0].name, "default");
        assert_eq!(p.host("us-west-2-2").unwrap().gpu_request, GpuRequest::Cdi);
        let mut catalog = Catalog::embedded();
        p.limit_capacity(&mut catalog);
        assert_eq!(catalog.capacity_for("us-west-2", "NVIDIA L4"), 3);
        assert_eq!(
            catalog.capacity_for("us-west-2", "NVIDIA A10G"),
            Catalog::embedded().capacity_for("us-west-2", "NVIDIA A10G")
        );
    }

    #[test]
    fn mistakes_are_named() {
        let err = placement(
            r#"
            [[docker.hosts]]
            region = "mars-1"
            docker_host = "ftp://x"
            devices = { "NVIDIA L4" = [], "Voodoo 2" = "none", "NVIDIA A10G" = "some" }
            "#,
        )
        .unwrap_err();
        for part in ["mars-1", "ftp", "lists no devices", "Voodoo 2", "\"some\""] {
            assert!(err.contains(part), "{part} missing from {err}");
        }
        assert!(placement("[docker]\nhostz = 1\n").is_err());
    }
}
