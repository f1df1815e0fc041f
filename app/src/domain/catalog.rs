//! What users may ask for: GPU types, regions and the allowed ranges.
//!
//! The server loads the catalog (an embedded default or an operator's TOML
//! file) and hands it to the browser, so the same rules run on both sides.

use serde::{Deserialize, Serialize};

/// An inclusive range of whole numbers a configuration field may take.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub min: u32,
    pub max: u32,
}

impl Range {
    /// Whether `value` lies in the range.
    pub fn contains(&self, value: i64) -> bool {
        value >= i64::from(self.min) && value <= i64::from(self.max)
    }
}

/// A GPU type a workstation can be given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuOption {
    /// The name clients send, e.g. `NVIDIA RTX A5000`.
    pub id: String,
    /// On-board memory of one GPU.
    pub memory_gb: u32,
    /// What the GPU is good for, shown beside the picker.
    #[serde(default)]
    pub description: String,
}

/// A region a workstation can run in.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionOption {
    /// The code clients send, e.g. `us-west-2`.
    pub id: String,
    /// A readable name, e.g. `US West (Oregon)`.
    pub name: String,
}

/// How many workstations with one GPU type one region can hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityLimit {
    pub region: String,
    pub gpu: String,
    pub count: u32,
}

/// Capacity per region and GPU type: a default, and exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capacity {
    /// Workstations per region and GPU type, unless a limit says otherwise.
    pub default: u32,
    #[serde(default)]
    pub limits: Vec<CapacityLimit>,
}

impl Default for Capacity {
    fn default() -> Self {
        Self { default: 16, limits: Vec::new() }
    }
}

/// The full set of choices and limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub cpu_cores: Range,
    pub memory_gb: Range,
    pub storage_gb: Range,
    pub gpus: Vec<GpuOption>,
    pub regions: Vec<RegionOption>,
    #[serde(default)]
    pub capacity: Capacity,
    /// Auto-stop's shortest timeout and the defaults, set by the server's
    /// flags (`--auto-stop-*`) rather than the catalog file.
    #[serde(default)]
    pub auto_stop: super::auto_stop::AutoStopLimits,
}

impl Catalog {
    /// The GPU with this id, if the catalog offers it.
    pub fn gpu(&self, id: &str) -> Option<&GpuOption> {
        self.gpus.iter().find(|g| g.id == id)
    }

    /// The region with this id, if the catalog offers it.
    pub fn region(&self, id: &str) -> Option<&RegionOption> {
        self.regions.iter().find(|r| r.id == id)
    }

    /// How many workstations with `gpu` the region `region` can hold.
    pub fn capacity_for(&self, region: &str, gpu: &str) -> u32 {
        self.capacity
            .limits
            .iter()
            .find(|l| l.region == region && l.gpu == gpu)
            .map_or(self.capacity.default, |l| l.count)
    }

    /// Why a request for `gpu` in `region` cannot be met when `capacity` are
    /// all in use.
    pub fn shortage_message(&self, region: &str, gpu: &str, capacity: u32) -> String {
        let region_name = self.region(region).map_or(region, |r| r.name.as_str());
        if capacity == 0 {
            format!("No {gpu} capacity in {region} ({region_name}): that GPU is not offered there")
        } else {
            format!("No {gpu} capacity left in {region} ({region_name}): all {capacity} are in use")
        }
    }

    /// Problems that make a catalog unusable; empty when it is fine.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, range) in
            [("cpu_cores", self.cpu_cores), ("memory_gb", self.memory_gb), ("storage_gb", self.storage_gb)]
        {
            if range.min == 0 || range.min > range.max {
                problems.push(format!(
                    "{name}: min must be at least 1 and not above max (got {}..={})",
                    range.min, range.max
                ));
            }
        }
        if self.gpus.is_empty() {
            problems.push("gpus: at least one GPU type is needed".into());
        }
        if self.regions.is_empty() {
            problems.push("regions: at least one region is needed".into());
        }
        let mut ids: Vec<&str> = self.gpus.iter().map(|g| g.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            problems.push("gpus: ids must be unique".into());
        }
        let mut ids: Vec<&str> = self.regions.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            problems.push("regions: ids must be unique".into());
        }
        for limit in &self.capacity.limits {
            if self.gpu(&limit.gpu).is_none() || self.region(&limit.region).is_none() {
                problems.push(format!(
                    "capacity: limit for {} in {} names a GPU or region the catalog does not offer",
                    limit.gpu, limit.region
                ));
            }
        }
        problems
    }
}

/// Free capacity of one region for one GPU type.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityEntry {
    pub region: String,
    pub gpu: String,
    pub total: u32,
    pub used: u32,
    pub free: u32,
}

#[cfg(feature = "ssr")]
impl Catalog {
    /// The catalog compiled into the binary.
    pub fn embedded() -> Self {
        // The embedded file is checked by a unit test, so this cannot fail at run time.
        Self::from_toml(include_str!("../../catalog.toml"))
            .unwrap_or_else(|e| unreachable!("embedded catalog.toml is invalid: {e}"))
    }

    /// Parses and checks an operator's catalog file.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let catalog: Catalog = toml::from_str(text).map_err(|e| e.to_string())?;
        let problems = catalog.problems();
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(problems.join("; "))
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_is_valid_and_complete() {
        let c = Catalog::embedded();
        for gpu in [
            "NVIDIA RTX A4000",
            "NVIDIA RTX A5000",
            "NVIDIA RTX A6000",
            "NVIDIA L4",
            "NVIDIA A10G",
            "NVIDIA A100 80GB",
            "NVIDIA H100 80GB",
        ] {
            assert!(c.gpu(gpu).is_some(), "{gpu} missing");
        }
        for region in ["us-west-2", "us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-1"] {
            assert!(c.region(region).is_some(), "{region} missing");
        }
        assert_eq!(c.cpu_cores, Range { min: 1, max: 128 });
    }

    #[test]
    fn bad_catalogs_are_rejected_with_reasons() {
        let err = Catalog::from_toml(
            "gpus = []\nregions = []\n[cpu_cores]\nmin = 4\nmax = 2\n\
             [memory_gb]\nmin = 1\nmax = 2\n[storage_gb]\nmin = 0\nmax = 2\n",
        )
        .unwrap_err();
        assert!(err.contains("cpu_cores"), "{err}");
        assert!(err.contains("storage_gb"), "{err}");
        assert!(err.contains("gpus"), "{err}");
        assert!(err.contains("regions"), "{err}");
        assert!(Catalog::from_toml("not toml [").is_err());
    }
}
