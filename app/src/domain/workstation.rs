//! Workstations as the API and the pages show them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::access::Owner;
use super::auto_stop::AutoStop;
use super::phase::Phase;
use super::request::{ConfigurationSpec, WorkstationSpec};

/// Where a workstation is in its life.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkstationStatus {
    Stopped,
    Running,
    Provisioning,
    Error,
}

impl WorkstationStatus {
    /// Every status.
    pub const ALL: [WorkstationStatus; 4] = [Self::Stopped, Self::Running, Self::Provisioning, Self::Error];

    /// The status as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Running => "running",
            Self::Provisioning => "provisioning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for WorkstationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WorkstationStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stopped" => Ok(Self::Stopped),
            "running" => Ok(Self::Running),
            "provisioning" => Ok(Self::Provisioning),
            "error" => Ok(Self::Error),
            other => Err(format!("unknown workstation status {other:?}")),
        }
    }
}

/// A workstation's hardware and placement, in the contract's field names.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configuration {
    #[serde(rename = "cpuCores")]
    pub cpu_cores: u32,
    #[serde(rename = "memoryGB")]
    pub memory_gb: u32,
    pub gpu: String,
    #[serde(rename = "storageGB")]
    pub storage_gb: u32,
    pub region: String,
}

/// A workstation in the shape of the contract, plus `phase` (what is
/// happening inside the status, e.g. `starting`) when something is.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workstation {
    pub id: String,
    pub name: String,
    pub status: WorkstationStatus,
    pub configuration: Configuration,
    /// Whom it belongs to: a user account or a project.
    pub owner: Owner,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub phase: Option<Phase>,
    /// A configuration recorded while running, applied at the next launch.
    #[serde(rename = "pendingConfiguration", default, skip_serializing_if = "Option::is_none")]
    pub pending_configuration: Option<Configuration>,
    /// When it stops by itself (0 is never).
    #[serde(rename = "autoStop")]
    pub auto_stop: AutoStop,
    /// While running: when it stops if nothing happens (RFC 3339, UTC).
    #[serde(rename = "autoStopAt", default, skip_serializing_if = "Option::is_none")]
    pub auto_stop_at: Option<String>,
    /// Why it would stop then: `idle` or `running`.
    #[serde(rename = "autoStopReason", default, skip_serializing_if = "Option::is_none")]
    pub auto_stop_reason: Option<String>,
}

impl From<&WorkstationSpec> for Configuration {
    fn from(spec: &WorkstationSpec) -> Self {
        Self::from(&spec.configuration)
    }
}

impl From<&ConfigurationSpec> for Configuration {
    fn from(c: &ConfigurationSpec) -> Self {
        Self {
            cpu_cores: c.cpu_cores.get(),
            memory_gb: c.memory_gb.get(),
            gpu: c.gpu.as_str().to_owned(),
            storage_gb: c.storage_gb.get(),
            region: c.region.as_str().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_text() {
        for s in [
            WorkstationStatus::Stopped,
            WorkstationStatus::Running,
            WorkstationStatus::Provisioning,
            WorkstationStatus::Error,
        ] {
            assert_eq!(s.as_str().parse::<WorkstationStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
        assert!("deleted".parse::<WorkstationStatus>().is_err());
    }

    #[test]
    fn configuration_uses_contract_field_names() {
        let c = Configuration {
            cpu_cores: 8,
            memory_gb: 32,
            gpu: "NVIDIA RTX A5000".into(),
            storage_gb: 512,
            region: "us-west-2".into(),
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({
                "cpuCores": 8, "memoryGB": 32, "gpu": "NVIDIA RTX A5000",
                "storageGB": 512, "region": "us-west-2"
            })
        );
    }
}
