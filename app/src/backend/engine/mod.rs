//! The provisioning engine: durable jobs in SQLite, run by a pool of workers
//! through a pluggable [`Provisioner`]. Every step becomes an event.

mod command;
mod simulated;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;

pub use command::CommandProvisioner;
pub use simulated::SimulatedProvisioner;

use super::events::EventBus;
use super::repo::{self, ClaimedJob, NewEvent};
use super::Error;
use crate::domain::{EventKind, Workstation, WorkstationStatus};

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

/// Something that can bring a workstation into existence.
pub trait Provisioner: Send + Sync + 'static {
    /// Provisions `workstation`, reporting phases and log lines to `progress`.
    /// Dropping the future must stop the work (the engine does so on timeout).
    fn provision<'a>(
        &'a self,
        workstation: &'a Workstation,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Result<(), Failure>>;
}

/// How the engine runs jobs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How many jobs run at once.
    pub workers: usize,
    /// A job still running after this is failed (and its work stopped).
    pub job_timeout: Duration,
    /// How many starts a job gets across server restarts.
    pub max_attempts: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { workers: 4, job_timeout: Duration::from_secs(600), max_attempts: 3 }
    }
}

/// Records a running job's phases and log lines as events.
pub struct Progress {
    pool: SqlitePool,
    bus: EventBus,
    workstation_id: String,
    owner_id: i64,
    current: Mutex<(Option<String>, Option<u8>)>,
}

impl Progress {
    /// Moves the job to `phase`, `percent` done.
    pub async fn phase(&self, phase: &str, percent: u8, message: Option<&str>) -> Result<(), Error> {
        let percent = percent.min(100);
        *self.current.lock().await = (Some(phase.to_owned()), Some(percent));
        self.record(EventKind::Phase, Some(phase), Some(percent), message).await
    }

    /// Records a line of the job's log.
    pub async fn log(&self, line: &str) -> Result<(), Error> {
        let (phase, percent) = self.current.lock().await.clone();
        self.record(EventKind::Log, phase.as_deref(), percent, Some(line)).await
    }

    async fn record(
        &self,
        kind: EventKind,
        phase: Option<&str>,
        progress: Option<u8>,
        message: Option<&str>,
    ) -> Result<(), Error> {
        let event = NewEvent {
            workstation_id: &self.workstation_id,
            owner_id: self.owner_id,
            kind,
            status: WorkstationStatus::Provisioning,
            phase,
            progress,
            message,
        };
        record_one(&self.pool, &self.bus, event).await
    }
}

/// Commits one event and publishes it in order.
pub(crate) async fn record_one(pool: &SqlitePool, bus: &EventBus, event: NewEvent<'_>) -> Result<(), Error> {
    bus.record(|| async move {
        let mut tx = pool.begin().await?;
        let published = repo::append_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(((), vec![published]))
    })
    .await
}

/// Runs provisioning jobs.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    pool: SqlitePool,
    bus: EventBus,
    provisioner: Arc<dyn Provisioner>,
    config: EngineConfig,
    wake: Notify,
}

impl Engine {
    /// An engine over `pool` that reports to `bus`.
    pub fn new(
        pool: SqlitePool,
        bus: EventBus,
        provisioner: Arc<dyn Provisioner>,
        config: EngineConfig,
    ) -> Self {
        Self { inner: Arc::new(Inner { pool, bus, provisioner, config, wake: Notify::new() }) }
    }

    /// Tells a waiting worker that a job was queued.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Deals with jobs that were running when the process stopped: each is
    /// queued again, or failed once it has used up its attempts.
    pub async fn recover(&self) -> Result<usize, Error> {
        let inner = &self.inner;
        let jobs = repo::requeue_running_jobs(&inner.pool).await?;
        for job in &jobs {
            let Some((owner_id, _)) = repo::job_target(&inner.pool, &job.workstation_id).await? else {
                continue;
            };
            if job.attempts >= inner.config.max_attempts {
                let reason = format!(
                    "Provisioning was interrupted by server restarts {} times; giving up",
                    job.attempts
                );
                finish(&inner.pool, &inner.bus, job, owner_id, Err(Failure(reason))).await?;
            } else {
                let line = format!(
                    "The server restarted during provisioning; starting again (attempt {} of {})",
                    job.attempts + 1,
                    inner.config.max_attempts
                );
                let event = NewEvent {
                    workstation_id: &job.workstation_id,
                    owner_id,
                    kind: EventKind::Log,
                    status: WorkstationStatus::Provisioning,
                    phase: Some("queued"),
                    progress: Some(0),
                    message: Some(&line),
                };
                record_one(&inner.pool, &inner.bus, event).await?;
            }
        }
        if !jobs.is_empty() {
            tracing::warn!(count = jobs.len(), "recovered jobs interrupted by a restart");
        }
        Ok(jobs.len())
    }

    /// Starts the workers; they run until the runtime stops.
    pub fn start(&self) -> Vec<JoinHandle<()>> {
        (0..self.inner.config.workers.max(1))
            .map(|n| {
                let engine = self.clone();
                tokio::spawn(async move { engine.work(n).await })
            })
            .collect()
    }

    async fn work(self, worker: usize) {
        let inner = &self.inner;
        loop {
            match repo::claim_job(&inner.pool).await {
                Ok(Some(job)) => {
                    // Another job may be waiting for another worker.
                    inner.wake.notify_one();
                    self.run(job).await;
                }
                Ok(None) => {
                    // The wake-up is the fast path; the timer covers jobs queued
                    // by anything that does not wake us.
                    tokio::select! {
                        () = inner.wake.notified() => {}
                        () = tokio::time::sleep(Duration::from_secs(2)) => {}
                    }
                }
                Err(e) => {
                    tracing::error!(worker, error = %e, "cannot claim a job");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    #[tracing::instrument(skip_all, fields(job = job.id, workstation = %job.workstation_id, attempt = job.attempts))]
    async fn run(&self, job: ClaimedJob) {
        let inner = &self.inner;
        let target = match repo::job_target(&inner.pool, &job.workstation_id).await {
            Ok(Some(target)) => target,
            Ok(None) => return, // deleted meanwhile; the job row went with it
            Err(e) => {
                tracing::error!(error = %e, "cannot load the job's workstation");
                return;
            }
        };
        let (owner_id, workstation) = target;
        let progress = Progress {
            pool: inner.pool.clone(),
            bus: inner.bus.clone(),
            workstation_id: job.workstation_id.clone(),
            owner_id,
            current: Mutex::new((None, None)),
        };
        let timeout = inner.config.job_timeout;
        let outcome =
            match tokio::time::timeout(timeout, inner.provisioner.provision(&workstation, &progress)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Failure(format!(
                    "Provisioning took longer than {} s and was stopped",
                    timeout.as_secs_f64().round()
                ))),
            };
        match &outcome {
            Ok(()) => tracing::info!("provisioned"),
            Err(Failure(reason)) => tracing::warn!(%reason, "provisioning failed"),
        }
        if let Err(e) = finish(&inner.pool, &inner.bus, &job, owner_id, outcome).await {
            tracing::error!(error = %e, "cannot record the end of a job");
        }
    }
}

async fn finish(
    pool: &SqlitePool,
    bus: &EventBus,
    job: &ClaimedJob,
    owner_id: i64,
    outcome: Result<(), Failure>,
) -> Result<(), Error> {
    let (status, message, progress) = match &outcome {
        Ok(()) => (
            WorkstationStatus::Stopped,
            "Ready: the workstation is provisioned and stopped".to_owned(),
            Some(100),
        ),
        Err(Failure(reason)) => (WorkstationStatus::Error, reason.clone(), None),
    };
    let event = NewEvent {
        workstation_id: &job.workstation_id,
        owner_id,
        kind: EventKind::Status,
        status,
        phase: None,
        progress,
        message: Some(&message),
    };
    let error = outcome.as_ref().err().map(|f| f.0.as_str());
    bus.record(|| async move {
        let mut tx = pool.begin().await?;
        repo::finish_job(&mut tx, job.id, error.is_none(), error).await?;
        let published = repo::append_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(((), vec![published]))
    })
    .await
}
