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

/// A process running in a workstation with its input and output attached
/// (a terminal's shell, or one command).
pub struct Shell {
    /// What it writes (with a TTY, stdout and stderr are one stream).
    pub output: Pin<Box<dyn futures_util::Stream<Item = Vec<u8>> + Send>>,
    /// Its standard input; dropping it closes the input (a shell then ends).
    pub input: Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    pub control: Box<dyn ShellControl>,
}

/// What else can be done with a [`Shell`].
pub trait ShellControl: Send + Sync {
    /// Sets its terminal's size.
    fn resize(&self, cols: u16, rows: u16) -> BoxFuture<'_, Result<(), Failure>>;
    /// Its exit status, once its output has ended.
    fn exit_code(&self) -> BoxFuture<'_, Option<i64>>;
}

/// How to start a [`Shell`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellRequest {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// With a terminal (interactive), or plain pipes (one command's output).
    pub tty: bool,
    /// The terminal's first size, columns × rows.
    pub size: Option<(u16, u16)>,
}

/// Why a shell cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellRefusal {
    /// This provisioner's workstations have nothing to run a shell in.
    NotAvailable(String),
    /// The engine refused or could not be reached.
    Failed(Failure),
}

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

    /// Starts a process in the running `workstation`.
    fn open_shell<'a>(
        &'a self,
        _workstation: &'a Workstation,
        _request: &'a ShellRequest,
    ) -> BoxFuture<'a, Result<Shell, ShellRefusal>> {
        Box::pin(async { Err(ShellRefusal::NotAvailable(self.kind().to_owned())) })
    }

    /// Whether its running workstations have a shell for a terminal.
    fn has_terminal(&self) -> bool {
        false
    }

    /// What kind of workstations it makes, as messages name them
    /// (`simulated`, `command`, `container`).
    fn kind(&self) -> &'static str;
}
