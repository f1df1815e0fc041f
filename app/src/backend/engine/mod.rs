//! The provisioning engine: durable jobs in the database, run by a pool of
//! workers through a pluggable [`Provisioner`]. Every step becomes an event.
//! Any instance may run any job: a worker leases the job it claims and the
//! engine renews its leases while they run; a job whose lease runs out (its
//! instance died) is taken over by whichever worker claims next.
//!
//! - [`provisioner`]: the trait a provisioner implements (one `run` per job kind);
//! - [`progress`]: a job's phases and log lines, recorded as events;
//! - [`worker`]: claim → run → record the end;
//! - [`leases`]: the jobs running here, lease renewal, cancels, recovery;
//! - [`metrics`]: job durations;
//! - [`simulated`], [`command`], [`docker`]: the provisioners.

mod command;
pub mod docker;
mod leases;
mod metrics;
mod progress;
mod provisioner;
mod simulated;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use command::CommandProvisioner;
pub use docker::{DockerOptions, DockerProvisioner, EngineState, Placement};
pub(crate) use progress::record_one;
pub use progress::Progress;
pub use provisioner::{BoxFuture, Failure, Provisioner, Shell, ShellControl, ShellRefusal, ShellRequest};
pub use simulated::SimulatedProvisioner;

use super::events::EventBus;
use super::store::{self, Db};
use leases::{Running, Stop};

/// How the engine runs jobs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How many jobs run at once.
    pub workers: usize,
    /// A job still running after this is failed (and its work stopped).
    pub job_timeout: Duration,
    /// How many starts a job gets across server restarts.
    pub max_attempts: i64,
    /// How long a claimed job stays leased without renewal; renewed every
    /// third of it. Another instance takes a job over when its lease ran out.
    pub lease: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        use crate::backend::state::defaults;
        Self {
            workers: defaults::WORKERS,
            job_timeout: Duration::from_secs(defaults::JOB_TIMEOUT_SECS),
            max_attempts: defaults::MAX_ATTEMPTS,
            lease: Duration::from_secs(defaults::JOB_LEASE_SECS),
        }
    }
}

/// Runs provisioning jobs.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Db,
    /// This process's name on the leases of the jobs it runs.
    holder: String,
    bus: EventBus,
    provisioner: Arc<dyn Provisioner>,
    config: EngineConfig,
    wake: Notify,
    /// Renews (and reads cancel marks) now rather than at the next tick.
    renew_now: Notify,
    running: std::sync::Mutex<Running>,
    /// Workers whose loop is running now.
    workers_running: std::sync::atomic::AtomicUsize,
    /// How long finished jobs took, by kind and outcome.
    durations: metrics::JobDurations,
    /// Set when the server stops: workers take no new job.
    stopping: tokio::sync::watch::Sender<bool>,
    /// The workers' tasks, to abort those still busy when stopping takes too long.
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl Engine {
    /// An engine over `pool` that reports to `bus`.
    pub fn new(pool: Db, bus: EventBus, provisioner: Arc<dyn Provisioner>, config: EngineConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                holder: format!("{}-{:016x}", std::process::id(), rand::random::<u64>()),
                bus,
                provisioner,
                config,
                wake: Notify::new(),
                renew_now: Notify::new(),
                running: Default::default(),
                workers_running: Default::default(),
                durations: Default::default(),
                stopping: tokio::sync::watch::channel(false).0,
                tasks: Default::default(),
            }),
        }
    }

    /// Tells a waiting worker that a job was queued.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Stops a job running here (marked cancelled in the database); it then
    /// fails as "Cancelled". A job not running here is left to lease renewal.
    pub fn cancel(&self, job_id: i64) {
        self.stop_job(job_id, None, Stop::Cancelled);
    }

    /// Starts the workers; they run until `stop`.
    pub fn start(&self) {
        let tasks = (0..self.inner.config.workers.max(1))
            .map(|n| {
                let engine = self.clone();
                tokio::spawn(async move { engine.work(n).await })
            })
            .chain([tokio::spawn(self.clone().renew_leases()), tokio::spawn(self.clone().watch_cancels())]);
        self.inner.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(tasks);
    }

    /// Stops taking jobs and gives running ones up to `grace` to finish.
    /// Jobs still running then are dropped where they are and their leases
    /// released: another instance, or this one's next start, takes them over
    /// (as after a crash). Returns how many were.
    pub async fn stop(&self, grace: Duration) -> usize {
        use std::sync::atomic::Ordering;
        self.inner.stopping.send_replace(true);
        let deadline = tokio::time::Instant::now() + grace;
        while self.inner.workers_running.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.inner.workers_running.load(Ordering::Relaxed);
        let tasks: Vec<JoinHandle<()>> =
            self.inner.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).drain(..).collect();
        tasks.iter().for_each(JoinHandle::abort);
        // Gone before the leases are released: a renewal under way could
        // otherwise extend them again.
        let ended = async {
            for task in tasks {
                let _ = task.await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), ended).await;
        if left > 0 {
            // Another instance (or this one's next start) takes them over now.
            if let Err(e) = store::release_leases(&self.inner.pool, &self.inner.holder).await {
                tracing::warn!(error = %e, "cannot release the leases of unfinished jobs");
            }
        }
        left
    }

    /// Workers running now, and how many were started.
    pub fn workers(&self) -> (usize, usize) {
        use std::sync::atomic::Ordering;
        (self.inner.workers_running.load(Ordering::Relaxed), self.inner.config.workers.max(1))
    }

    /// The provisioner jobs run through.
    pub fn provisioner(&self) -> &Arc<dyn Provisioner> {
        &self.inner.provisioner
    }

    /// Writes the durations of finished jobs as a Prometheus histogram.
    pub fn write_job_durations(&self, out: &mut String) {
        self.inner.durations.write(out);
    }
}
