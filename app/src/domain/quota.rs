//! Per-user quotas: how much a user's workstations may hold in all.

use serde::{Deserialize, Serialize};

use super::workstation::Configuration;

/// Amounts of each resource a quota counts.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    #[serde(rename = "cpuCores")]
    pub cpu_cores: u64,
    #[serde(rename = "memoryGB")]
    pub memory_gb: u64,
    pub gpus: u64,
    #[serde(rename = "storageGB")]
    pub storage_gb: u64,
}

impl Quota {
    /// What one workstation of this configuration holds.
    pub fn of(c: &Configuration) -> Self {
        Self {
            cpu_cores: u64::from(c.cpu_cores),
            memory_gb: u64::from(c.memory_gb),
            gpus: 1,
            storage_gb: u64::from(c.storage_gb),
        }
    }

    /// `self + other`.
    pub fn plus(self, other: Self) -> Self {
        Self {
            cpu_cores: self.cpu_cores + other.cpu_cores,
            memory_gb: self.memory_gb + other.memory_gb,
            gpus: self.gpus + other.gpus,
            storage_gb: self.storage_gb + other.storage_gb,
        }
    }

    /// `self - other`, not below zero.
    pub fn minus(self, other: Self) -> Self {
        Self {
            cpu_cores: self.cpu_cores.saturating_sub(other.cpu_cores),
            memory_gb: self.memory_gb.saturating_sub(other.memory_gb),
            gpus: self.gpus.saturating_sub(other.gpus),
            storage_gb: self.storage_gb.saturating_sub(other.storage_gb),
        }
    }

    /// The first resource in `self` over `limit`: (API name, words, amount, limit).
    pub fn first_excess(&self, limit: &Self) -> Option<(&'static str, &'static str, u64, u64)> {
        [
            ("cpuCores", "CPU cores", self.cpu_cores, limit.cpu_cores),
            ("memoryGB", "GB of memory", self.memory_gb, limit.memory_gb),
            ("gpus", "GPUs", self.gpus, limit.gpus),
            ("storageGB", "GB of storage", self.storage_gb, limit.storage_gb),
        ]
        .into_iter()
        .find(|(_, _, amount, limit)| amount > limit)
    }
}

/// Some of a user's own limits; `None` keeps the server's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaOverrides {
    pub cpu_cores: Option<u64>,
    pub memory_gb: Option<u64>,
    pub gpus: Option<u64>,
    pub storage_gb: Option<u64>,
}

impl QuotaOverrides {
    /// The limits: these where set, else `defaults`.
    pub fn over(self, defaults: Quota) -> Quota {
        Quota {
            cpu_cores: self.cpu_cores.unwrap_or(defaults.cpu_cores),
            memory_gb: self.memory_gb.unwrap_or(defaults.memory_gb),
            gpus: self.gpus.unwrap_or(defaults.gpus),
            storage_gb: self.storage_gb.unwrap_or(defaults.storage_gb),
        }
    }

    /// Whether none is set.
    pub fn is_empty(self) -> bool {
        self == Self::default()
    }
}

/// A user's limits and what their workstations hold now.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaStatus {
    pub limits: Quota,
    pub used: Quota,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_and_excess() {
        let c = Configuration {
            cpu_cores: 8,
            memory_gb: 32,
            gpu: "g".into(),
            storage_gb: 100,
            region: "r".into(),
        };
        let one = Quota::of(&c);
        let two = one.plus(one);
        assert_eq!(two, Quota { cpu_cores: 16, memory_gb: 64, gpus: 2, storage_gb: 200 });
        assert_eq!(two.minus(one), one);
        let limit = Quota { cpu_cores: 16, memory_gb: 48, gpus: 4, storage_gb: 1000 };
        assert_eq!(two.first_excess(&limit), Some(("memoryGB", "GB of memory", 64, 48)));
        assert_eq!(one.first_excess(&limit), None);
    }
}
