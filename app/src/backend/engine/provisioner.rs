//! What runs a job's work: the provisioner a server is configured with.

use std::future::Future;
use std::pin::Pin;

use super::docker::EngineState;
use super::Progress;
use crate::backend::Error;
use crate::domain::{JobKind, Workstation};

/// Why a provisioning job failed, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        tracing::error!(error = %e, "provisioning step failed to record");
        Self("the server could not record provisioning progress".into())
    }
}

/// A boxed future, as trait objects need.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that can create, start, stop and release workstations. Each
/// run reports phases and log lines to `progress`. Dropping the future must
/// stop the work (the engine does so on timeout and cancel).
pub trait Provisioner: Send + Sync + 'static {
    /// Does `kind`'s work on `workstation`: a provision brings it into
    /// existence, a launch starts it, a stop stops it, and a delete releases
    /// everything it holds (the engine stops a running one first).
    fn run<'a>(
        &'a self,
        kind: JobKind,
        workstation: &'a Workstation,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Result<(), Failure>>;

    /// The container engines it drives and what each answers now (for
    /// `/readyz`); none for a provisioner without engines.
    fn engines(&self) -> BoxFuture<'_, Vec<EngineState>> {
        Box::pin(async { Vec::new() })
    }

    /// Its own Prometheus lines for `/metrics`.
    fn write_metrics(&self, _out: &mut String) {}
}
