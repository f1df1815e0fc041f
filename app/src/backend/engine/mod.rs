//! The provisioning engine: durable jobs in the database, run by a pool of
//! workers through a pluggable [`Provisioner`]. Every step becomes an event.
//! Any instance may run any job: a worker leases the job it claims and the
//! engine renews its leases while they run; a job whose lease runs out (its
//! instance died) is taken over by whichever worker claims next.

mod command;
mod simulated;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::db::Db;
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;

pub use command::CommandProvisioner;
pub use simulated::SimulatedProvisioner;

use super::events::EventBus;
use super::metrics::Histogram;
use super::repo::{self, ClaimedJob, NewEvent};
use super::Error;
use crate::domain::lifecycle::Action;
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

/// What a job does to a workstation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Bring it into existence (→ stopped).
    Provision,
    /// Start it (stopped → running).
    Launch,
    /// Stop it (running → stopped).
    Stop,
    /// Stop it if running, release it, and remove the record.
    Delete,
}

impl JobKind {
    /// The kind as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provision => "provision",
            Self::Launch => "launch",
            Self::Stop => "stop",
            Self::Delete => "delete",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Provision, Self::Launch, Self::Stop, Self::Delete].into_iter().find(|k| k.as_str() == s)
    }
}

/// Something that can create, start, stop and release workstations. Each
/// call reports phases and log lines to `progress`. Dropping the future must
/// stop the work (the engine does so on timeout and cancel).
pub trait Provisioner: Send + Sync + 'static {
    /// Brings `workstation` into existence.
    fn provision<'a>(
        &'a self,
        workstation: &'a Workstation,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Result<(), Failure>>;

    /// Starts a provisioned, stopped workstation.
    fn launch<'a>(
        &'a self,
        workstation: &'a Workstation,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Result<(), Failure>>;

    /// Stops a running workstation.
    fn stop<'a>(
        &'a self,
        workstation: &'a Workstation,
        progress: &'a Progress,
    ) -> BoxFuture<'a, Result<(), Failure>>;

    /// Releases everything a stopped workstation holds.
    fn destroy<'a>(
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
    /// How long a claimed job stays leased without renewal; renewed every
    /// third of it. Another instance takes a job over when its lease ran out.
    pub lease: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            job_timeout: Duration::from_secs(600),
            max_attempts: 3,
            lease: Duration::from_secs(15),
        }
    }
}

/// Records a running job's phases and log lines as events.
pub struct Progress {
    pool: Db,
    bus: EventBus,
    workstation_id: String,
    owner_id: i64,
    /// The workstation's status while the job runs.
    status: WorkstationStatus,
    current: Mutex<(Option<String>, Option<u8>)>,
    /// Held by the write of an event from start to publish. The write runs
    /// in a task of its own, so a job stopped mid-write (cancel, timeout)
    /// still finishes it; the engine takes this lock before recording the
    /// job's end, so that end is always the job's last event.
    writing: Arc<Mutex<()>>,
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
        let writing = self.writing.clone().lock_owned().await;
        let (pool, bus) = (self.pool.clone(), self.bus.clone());
        let (workstation_id, owner_id, status) = (self.workstation_id.clone(), self.owner_id, self.status);
        let (phase, message) = (phase.map(str::to_owned), message.map(str::to_owned));
        let write = tokio::spawn(async move {
            let event = NewEvent {
                workstation_id: &workstation_id,
                owner_id,
                kind,
                status,
                phase: phase.as_deref(),
                progress,
                message: message.as_deref(),
            };
            let written = record_one(&pool, &bus, event).await;
            drop(writing);
            written
        });
        write.await.map_err(|e| Error::Database(sqlx::Error::Io(std::io::Error::other(e))))?
    }

    /// Waits for an event write in flight to be committed and published.
    async fn settled(&self) {
        let _ = self.writing.lock().await;
    }
}

/// Commits one event and publishes it in order.
pub(crate) async fn record_one(pool: &Db, bus: &EventBus, event: NewEvent<'_>) -> Result<(), Error> {
    bus.record(|| async move {
        let mut tx = repo::begin_write(pool).await?;
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
    durations: std::sync::Mutex<std::collections::BTreeMap<(&'static str, &'static str), Histogram>>,
    /// Set when the server stops: workers take no new job.
    stopping: tokio::sync::watch::Sender<bool>,
    /// The workers' tasks, to abort those still busy when stopping takes too long.
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

/// The jobs running here, by job id: which start of the job each is, and a
/// sender to stop it. Only these have their leases renewed, so a job this
/// instance gave up on (a failed read, a panic) is taken over when its lease
/// runs out. A cancel through this instance stops its job at once; one
/// through another is marked on the job in the database, which lease
/// renewal reads. Keyed by job, a request that comes too late cannot stop a
/// later job of the same workstation.
type Running = std::collections::HashMap<i64, Local>;

/// A job running here.
struct Local {
    /// Which start of the job this is.
    attempts: i64,
    /// When its lease was last extended as far as this instance knows: its
    /// claim (or, later, a renewal's start).
    since: tokio::time::Instant,
    workstation_id: String,
    /// Taken by the first stop; the job stays registered (its lease
    /// renewed) until its end is recorded.
    stop: Option<tokio::sync::oneshot::Sender<Stop>>,
}

/// Why a job running here stops before its work ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Someone asked to cancel it: it fails as "Cancelled".
    Cancelled,
    /// Its lease ran out and the job was taken over: its end is the new
    /// start's to record.
    LeaseLost,
}

/// A job registered as running here until this is dropped: after its end is
/// recorded, or when its run gives up or panics.
struct Registered<'a> {
    engine: &'a Engine,
    job: i64,
    attempts: i64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let mut running = self.engine.running();
        // A later start of the job (a takeover here) has replaced this one.
        if running.get(&self.job).is_some_and(|local| local.attempts == self.attempts) {
            running.remove(&self.job);
        }
    }
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

    /// Stops the job running here (only its start `attempts`, if given).
    fn stop_job(&self, job_id: i64, attempts: Option<i64>, why: Stop) {
        let mut running = self.running();
        if let Some(local) = running.get_mut(&job_id) {
            if attempts.is_none_or(|a| a == local.attempts) {
                if let Some(stop) = local.stop.take() {
                    let _ = stop.send(why);
                }
            }
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, Running> {
        self.inner.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers `job`, claimed at `claimed_at`, as running here; the
    /// receiver says when to stop it.
    fn register(
        &self,
        job: &ClaimedJob,
        claimed_at: tokio::time::Instant,
    ) -> (Registered<'_>, tokio::sync::oneshot::Receiver<Stop>) {
        let (stop, rx) = tokio::sync::oneshot::channel();
        let local = Local {
            attempts: job.attempts,
            since: claimed_at,
            workstation_id: job.workstation_id.clone(),
            stop: Some(stop),
        };
        // An earlier start of the job here lost its lease: this one replaces it.
        if let Some(earlier) = self.running().insert(job.id, local) {
            if let Some(stop) = earlier.stop {
                let _ = stop.send(Stop::LeaseLost);
            }
        }
        (Registered { engine: self, job: job.id, attempts: job.attempts }, rx)
    }

    /// Deals with jobs that were running when the process stopped. On
    /// SQLite, this process is the database's only one, so their leases end
    /// now and the workers take them over at once. On PostgreSQL another
    /// instance may be running them: they are taken over when their leases
    /// run out. Returns how many leases were ended.
    pub async fn recover(&self) -> Result<u64, Error> {
        if self.inner.pool.backend() != super::db::Backend::Sqlite {
            return Ok(0);
        }
        let ended = repo::expire_leases(&self.inner.pool).await?;
        if ended > 0 {
            tracing::warn!(count = ended, "taking over jobs interrupted by a restart");
        }
        Ok(ended)
    }

    /// Records that `job` is started again after its holder stopped, or
    /// fails it once it has used up its attempts. Returns whether to run it.
    async fn take_over(&self, job: &ClaimedJob) -> Result<bool, Error> {
        let inner = &self.inner;
        let Some((owner_id, workstation)) = repo::job_target(&inner.pool, &job.workstation_id).await? else {
            return Ok(false);
        };
        let kind = JobKind::parse(&job.kind).unwrap_or(JobKind::Provision);
        let interrupted = job.attempts - 1;
        if job.attempts > inner.config.max_attempts {
            let reason = format!("Interrupted by server restarts {interrupted} times; giving up");
            let failed = Err(Failure(reason));
            finish(&inner.pool, &inner.bus, &inner.holder, job, kind, owner_id, &workstation, failed).await?;
            return Ok(false);
        }
        let doing = match kind {
            JobKind::Provision => "provisioning",
            JobKind::Launch => "a launch",
            JobKind::Stop => "a stop",
            JobKind::Delete => "a delete",
        };
        let line = format!(
            "The server running {doing} stopped; starting again (attempt {} of {})",
            job.attempts, inner.config.max_attempts
        );
        let event = NewEvent {
            workstation_id: &job.workstation_id,
            owner_id,
            kind: EventKind::Log,
            status: workstation.status,
            phase: workstation.phase.as_deref(),
            progress: None,
            message: Some(&line),
        };
        record_one(&inner.pool, &inner.bus, event).await?;
        Ok(true)
    }

    /// Renews the leases of the jobs running here, every third of a lease.
    /// Stops those someone asked (through any instance) to cancel, and those
    /// whose lease was lost (it ran out, as when the database could not be
    /// reached, and the job was taken over): only one start of a job runs.
    /// On PostgreSQL, where another instance takes over a job whose lease
    /// runs out, a job whose lease could not be renewed for two thirds of a
    /// lease is stopped here before that.
    async fn renew_leases(self) {
        let inner = &self.inner;
        let lease_secs = lease_secs(inner.config.lease);
        let mut stopping = inner.stopping.subscribe();
        let period = (inner.config.lease / 3).max(Duration::from_millis(100));
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shared = inner.pool.backend() == super::db::Backend::Postgres;
        // How long after its lease was last extended a job is stopped when
        // no renewal succeeds (PostgreSQL): before the lease runs out.
        let unsure = inner.config.lease * 2 / 3;
        // When a job running here must stop without a renewal (none on SQLite,
        // nor for a job already stopped).
        let deadline = |local: &Local| (shared && local.stop.is_some()).then(|| local.since + unsure);
        loop {
            // The earliest moment a job still running here must stop.
            let due = self.running().values().filter_map(deadline).min();
            tokio::select! {
                _ = every.tick() => {}
                () = inner.renew_now.notified() => {}
                _ = stopping.changed() => {}
                () = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {}
            }
            // Jobs still running after a stop keep their leases renewed until dropped.
            if *stopping.borrow() && inner.workers_running.load(std::sync::atomic::Ordering::Relaxed) == 0 {
                return;
            }
            let now = tokio::time::Instant::now();
            let late: Vec<(i64, i64)> = self
                .running()
                .iter()
                .filter(|(_, local)| deadline(local).is_some_and(|at| at <= now))
                .map(|(job, local)| (*job, local.attempts))
                .collect();
            for (job, attempts) in late {
                tracing::warn!(
                    job,
                    "stopping a job whose lease could not be renewed; another instance takes it over"
                );
                self.stop_job(job, Some(attempts), Stop::LeaseLost);
            }
            let here: Vec<(i64, i64)> =
                self.running().iter().map(|(job, local)| (*job, local.attempts)).collect();
            let ids: Vec<i64> = here.iter().map(|(job, _)| *job).collect();
            // A renewal that hangs (the database out of reach) fails when its
            // time is up, at the latest when a job must stop.
            let budget = match due {
                Some(due) if due > now => period.min(due - now),
                _ => period,
            };
            let renewal = tokio::time::timeout(
                budget,
                repo::renew_leases(&inner.pool, &inner.holder, &ids, lease_secs),
            );
            let renewed = match renewal.await {
                Ok(Ok(renewed)) => renewed,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot renew the leases of running jobs");
                    continue;
                }
                Err(_) => {
                    tracing::warn!(
                        seconds = budget.as_secs_f64(),
                        "renewing the leases of running jobs took too long"
                    );
                    continue;
                }
            };
            for (job, attempts) in here {
                match renewed.iter().find(|r| r.id == job) {
                    Some(r) if r.attempts == attempts => {
                        if let Some(local) = self.running().get_mut(&job).filter(|l| l.attempts == attempts) {
                            local.since = now;
                        }
                        if r.cancel_requested {
                            self.stop_job(job, Some(attempts), Stop::Cancelled);
                        }
                    }
                    // Taken over, or ended meanwhile (its run then has unregistered).
                    _ => self.stop_job(job, Some(attempts), Stop::LeaseLost),
                }
            }
        }
    }

    /// Reads the cancel marks at once when a cancel is asked for (through any
    /// instance: on PostgreSQL every instance follows every event) of a
    /// workstation whose job runs here. The mark itself, not the event, says
    /// which job to stop, so an event read late cannot stop a later job.
    async fn watch_cancels(self) {
        use tokio::sync::broadcast::error::RecvError;
        let inner = &self.inner;
        let mut events = inner.bus.subscribe();
        let mut stopping = inner.stopping.subscribe();
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                _ = stopping.changed() => return,
            };
            let check = match event {
                Ok(b) => {
                    b.event.kind == EventKind::Log
                        && b.event.phase.as_deref() == Some(Action::Cancel.phase())
                        && self.running().values().any(|local| local.workstation_id == b.event.workstation_id)
                }
                // Some were missed: one of them may have been a cancel.
                Err(RecvError::Lagged(_)) => true,
                Err(RecvError::Closed) => return,
            };
            if check {
                inner.renew_now.notify_one();
            }
        }
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
            if let Err(e) = repo::release_leases(&self.inner.pool, &self.inner.holder).await {
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

    /// Writes the durations of finished jobs as a Prometheus histogram.
    pub fn write_job_durations(&self, out: &mut String) {
        let durations = self.inner.durations.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((kind, outcome), histogram) in durations.iter() {
            histogram.write(
                out,
                "atelier_job_duration_seconds",
                &format!("kind=\"{kind}\",outcome=\"{outcome}\""),
            );
        }
    }

    async fn work(self, worker: usize) {
        let inner = &self.inner;
        /// Counts the worker as running until its loop ends, even by a panic.
        struct Running<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        inner.workers_running.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _running = Running(&inner.workers_running);
        let mut stopping = inner.stopping.subscribe();
        loop {
            if *stopping.borrow() {
                return;
            }
            let claimed_at = tokio::time::Instant::now();
            match repo::claim_job(&inner.pool, &inner.holder, lease_secs(inner.config.lease)).await {
                Ok(Some(job)) => {
                    // Another job may be waiting for another worker.
                    inner.wake.notify_one();
                    // Registered before the database is read: a cancel committed
                    // after that read finds the sender, and one committed before
                    // it is marked. Its lease is renewed from now until it is dropped.
                    let (registered, stopped) = self.register(&job, claimed_at);
                    if job.taken_over() {
                        match self.take_over(&job).await {
                            Ok(true) => {}
                            Ok(false) => continue,
                            Err(e) => {
                                // Not running here, its lease is not renewed: it
                                // runs out, and the job is taken over then.
                                tracing::error!(worker, error = %e, "cannot take over a job");
                                continue;
                            }
                        }
                    }
                    self.run(job, registered, stopped).await;
                }
                Ok(None) => {
                    // The wake-up is the fast path; the timer covers jobs queued
                    // by anything that does not wake us.
                    tokio::select! {
                        () = inner.wake.notified() => {}
                        () = tokio::time::sleep(Duration::from_secs(2)) => {}
                        _ = stopping.changed() => {}
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
    async fn run(
        &self,
        job: ClaimedJob,
        registered: Registered<'_>,
        mut stopped: tokio::sync::oneshot::Receiver<Stop>,
    ) {
        let inner = &self.inner;
        let target = match repo::job_target(&inner.pool, &job.workstation_id).await {
            Ok(Some(target)) => target,
            Ok(None) => return, // deleted meanwhile; the job row went with it
            Err(e) => {
                tracing::error!(error = %e, "cannot load the job's workstation; it is taken over when its lease runs out");
                return;
            }
        };
        // A cancel asked for before this worker claimed the job, or before
        // it registered, stops it before it starts.
        match repo::cancel_requested(&inner.pool, job.id).await {
            Ok(true) => self.cancel(job.id),
            Ok(false) => {}
            // Lease renewal reads the mark again.
            Err(e) => tracing::warn!(error = %e, "cannot read whether the job was cancelled"),
        }
        let (owner_id, workstation) = target;
        let kind = JobKind::parse(&job.kind).unwrap_or(JobKind::Provision);
        let progress = Progress {
            pool: inner.pool.clone(),
            bus: inner.bus.clone(),
            workstation_id: job.workstation_id.clone(),
            owner_id,
            status: match kind {
                JobKind::Provision => WorkstationStatus::Provisioning,
                JobKind::Launch => WorkstationStatus::Stopped,
                JobKind::Stop => WorkstationStatus::Running,
                JobKind::Delete => workstation.status,
            },
            current: Mutex::new((None, None)),
            writing: Arc::default(),
        };
        let provisioner = &inner.provisioner;
        let work = async {
            match kind {
                JobKind::Provision => provisioner.provision(&workstation, &progress).await,
                JobKind::Launch => provisioner.launch(&workstation, &progress).await,
                JobKind::Stop => provisioner.stop(&workstation, &progress).await,
                JobKind::Delete => {
                    if workstation.status == WorkstationStatus::Running {
                        provisioner.stop(&workstation, &progress).await?;
                    }
                    provisioner.destroy(&workstation, &progress).await
                }
            }
        };
        let timeout = inner.config.job_timeout;
        let began = std::time::Instant::now();
        let outcome = tokio::select! {
            biased;
            Ok(stop) = &mut stopped => match stop {
                Stop::Cancelled => Some(Err(Failure("Cancelled".into()))),
                Stop::LeaseLost => None,
            },
            outcome = tokio::time::timeout(timeout, work) => Some(outcome.unwrap_or_else(|_| {
                let doing = match kind {
                    JobKind::Provision => "Provisioning",
                    JobKind::Launch => "Starting",
                    JobKind::Stop => "Stopping",
                    JobKind::Delete => "Deleting",
                };
                Err(Failure(format!("{doing} took longer than {} s and was stopped", timeout.as_secs_f64().round())))
            })),
        };
        progress.settled().await;
        let Some(outcome) = outcome else {
            tracing::warn!("the job's lease ran out and it was taken over; stopped here");
            return;
        };
        {
            let outcome_label = if outcome.is_ok() { "succeeded" } else { "failed" };
            let mut durations = inner.durations.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            durations
                .entry((kind.as_str(), outcome_label))
                .or_insert_with(|| Histogram::new(super::metrics::JOB_BUCKETS))
                .observe(began.elapsed().as_secs_f64());
        }
        match &outcome {
            Ok(()) => tracing::info!(kind = kind.as_str(), "job done"),
            Err(Failure(reason)) => tracing::warn!(kind = kind.as_str(), %reason, "job failed"),
        }
        // A job whose end is not recorded would look busy until the next
        // restart, so a failing database gets a few more tries.
        let mut delay = Duration::from_millis(200);
        for attempt in 1.. {
            let outcome = outcome.clone();
            match finish(&inner.pool, &inner.bus, &inner.holder, &job, kind, owner_id, &workstation, outcome)
                .await
            {
                Ok(()) => break,
                Err(e) if attempt < 6 => {
                    tracing::warn!(error = %e, attempt, "cannot record the end of a job; trying again");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot record the end of a job; it is taken over when its lease runs out");
                    break;
                }
            }
        }
        // Renewed until here: no other instance takes over a job whose end is being recorded.
        drop(registered);
    }
}

/// A lease's length in whole seconds (at least one).
fn lease_secs(lease: Duration) -> i64 {
    i64::try_from(lease.as_secs()).unwrap_or(i64::MAX).max(1)
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    pool: &Db,
    bus: &EventBus,
    holder: &str,
    job: &ClaimedJob,
    kind: JobKind,
    owner_id: i64,
    workstation: &Workstation,
    outcome: Result<(), Failure>,
) -> Result<(), Error> {
    use WorkstationStatus::{Error as Failed, Running, Stopped};
    let (status, phase, progress, message) = match (kind, &outcome) {
        (JobKind::Provision, Ok(())) => {
            (Stopped, None, Some(100), "Ready: the workstation is provisioned and stopped".to_owned())
        }
        (JobKind::Provision, Err(Failure(reason))) => (Failed, None, None, reason.clone()),
        (JobKind::Launch, Ok(())) => (Running, None, None, "Running".to_owned()),
        (JobKind::Launch, Err(Failure(reason))) => (Stopped, None, None, format!("Launch failed: {reason}")),
        (JobKind::Stop, Ok(())) => (Stopped, None, None, "Stopped".to_owned()),
        (JobKind::Stop, Err(Failure(reason))) => (Running, None, None, format!("Stop failed: {reason}")),
        (JobKind::Delete, Ok(())) => (workstation.status, Some("deleted"), None, "Deleted".to_owned()),
        (JobKind::Delete, Err(Failure(reason))) => (Failed, None, None, format!("Delete failed: {reason}")),
    };
    let event = NewEvent {
        workstation_id: &job.workstation_id,
        owner_id,
        kind: EventKind::Status,
        status,
        phase,
        progress,
        message: Some(&message),
    };
    let error = outcome.as_ref().err().map(|f| f.0.as_str());
    let deleted = kind == JobKind::Delete && outcome.is_ok();
    bus.record(|| async move {
        let mut tx = repo::begin_write(pool).await?;
        if !repo::finish_job(&mut tx, job, holder, error.is_none(), error).await? {
            tx.rollback().await?;
            tracing::warn!(
                job = job.id,
                "the job was taken over by another instance; its end is theirs to record"
            );
            return Ok(((), Vec::new()));
        }
        let published = repo::append_event(&mut tx, event).await?;
        if deleted {
            repo::delete_workstation(&mut tx, &job.workstation_id).await?;
        }
        tx.commit().await?;
        Ok(((), vec![published]))
    })
    .await
}
