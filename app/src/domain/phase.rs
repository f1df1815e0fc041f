//! What is happening inside a workstation's status: the phases the engine,
//! the built-in provisioners and the actions name, spelled in one place.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A step of a job, or the mark a finished delete leaves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting for a worker (a new or retried workstation).
    Queued,
    /// The simulator's four provisioning steps.
    Allocating,
    AttachingStorage,
    Booting,
    Configuring,
    /// A launch's job.
    Starting,
    /// A stop's job.
    Stopping,
    /// A cancel was asked for (a log line's phase; the job stops itself).
    Cancelling,
    /// A delete's job.
    Deleting,
    /// A configuration change.
    Reconfiguring,
    /// The delete finished: the workstation is gone.
    Deleted,
    /// A step an operator's provisioner named itself (the `command`
    /// provisioner's `::progress <percent> <phase>` lines): its words are
    /// the provisioner's to choose, so any name it stored reads back as it was.
    Reported(String),
}

impl Phase {
    /// Every phase Atelier itself names.
    pub const KNOWN: [Phase; 11] = [
        Self::Queued,
        Self::Allocating,
        Self::AttachingStorage,
        Self::Booting,
        Self::Configuring,
        Self::Starting,
        Self::Stopping,
        Self::Cancelling,
        Self::Deleting,
        Self::Reconfiguring,
        Self::Deleted,
    ];

    /// The simulated provisioner's steps, in order.
    pub const SIMULATED: [Phase; 4] =
        [Self::Allocating, Self::AttachingStorage, Self::Booting, Self::Configuring];

    /// The phase as stored and sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "queued",
            Self::Allocating => "allocating",
            Self::AttachingStorage => "attaching-storage",
            Self::Booting => "booting",
            Self::Configuring => "configuring",
            Self::Starting => "starting",
            Self::Stopping => "stopping",
            Self::Cancelling => "cancelling",
            Self::Deleting => "deleting",
            Self::Reconfiguring => "reconfiguring",
            Self::Deleted => "deleted",
            Self::Reported(name) => name,
        }
    }

    /// The phase in words for people: "attaching storage".
    pub fn words(&self) -> String {
        self.as_str().replace(['-', '_'], " ")
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phase {
    type Err = String;

    /// A known name is its phase; any other non-empty name is a provisioner's
    /// own step. An empty name is no phase at all, and an error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err("a phase needs a name".into());
        }
        Ok(Self::KNOWN.into_iter().find(|p| p.as_str() == s).unwrap_or_else(|| Self::Reported(s.to_owned())))
    }
}

impl Serialize for Phase {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Phase {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_round_trip_through_text_and_json() {
        for phase in Phase::KNOWN.into_iter().chain([Phase::Reported("creating-disk".into())]) {
            assert_eq!(phase.as_str().parse::<Phase>(), Ok(phase.clone()));
            let json = serde_json::to_value(&phase).unwrap();
            assert_eq!(json, serde_json::json!(phase.as_str()));
            assert_eq!(serde_json::from_value::<Phase>(json).unwrap(), phase);
        }
        assert_eq!("booting".parse::<Phase>(), Ok(Phase::Booting));
        assert!("".parse::<Phase>().is_err());
        assert_eq!(Phase::AttachingStorage.words(), "attaching storage");
    }
}
