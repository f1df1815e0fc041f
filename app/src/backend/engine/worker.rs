//! A worker: claims a job, runs it through the provisioner, and records
//! its end (the outcome table is the domain's, [`JobKind::ending`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::leases::{lease_secs, Registered, Stop};
use super::{record_one, Engine, Failure, Progress};
use crate::backend::store::{self, ClaimedJob, NewEvent};
use crate::backend::Error;
use crate::domain::job::CANCELLED;
use crate::domain::{EventKind, JobKind, JobState, Workstation, WorkstationStatus};

impl Engine {
    pub(super) async fn work(self, worker: usize) {
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
            match store::claim_job(&inner.pool, &inner.holder, lease_secs(inner.config.lease)).await {
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

    /// Records that `job` is started again after its holder stopped, or
    /// fails it once it has used up its attempts. Returns whether to run it.
    async fn take_over(&self, job: &ClaimedJob) -> Result<bool, Error> {
        let inner = &self.inner;
        let Some((owner_id, workstation)) = store::job_target(&inner.pool, &job.workstation_id).await? else {
            return Ok(false);
        };
        let kind = job.kind;
        let interrupted = job.attempts - 1;
        if job.attempts > inner.config.max_attempts {
            let reason = format!("Interrupted by server restarts {interrupted} times; giving up");
            let failed = Err(Failure(reason));
            self.finish(job, owner_id, &workstation, failed).await?;
            return Ok(false);
        }
        let line = format!(
            "The server running {} stopped; starting again (attempt {} of {})",
            kind.noun(),
            job.attempts,
            inner.config.max_attempts
        );
        let event = NewEvent {
            workstation_id: &job.workstation_id,
            owner_id,
            kind: EventKind::Log,
            status: workstation.status,
            phase: workstation.phase.clone(),
            progress: None,
            message: Some(&line),
        };
        record_one(&inner.pool, &inner.bus, event).await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, fields(job = job.id, workstation = %job.workstation_id, attempt = job.attempts))]
    async fn run(
        &self,
        job: ClaimedJob,
        registered: Registered<'_>,
        mut stopped: tokio::sync::oneshot::Receiver<Stop>,
    ) {
        let inner = &self.inner;
        let target = match store::job_target(&inner.pool, &job.workstation_id).await {
            Ok(Some(target)) => target,
            Ok(None) => return, // deleted meanwhile; the job row went with it
            Err(e) => {
                tracing::error!(error = %e, "cannot load the job's workstation; it is taken over when its lease runs out");
                return;
            }
        };
        // A cancel asked for before this worker claimed the job, or before
        // it registered, stops it before it starts.
        match store::cancel_requested(&inner.pool, job.id).await {
            Ok(true) => self.cancel(job.id),
            Ok(false) => {}
            // Lease renewal reads the mark again.
            Err(e) => tracing::warn!(error = %e, "cannot read whether the job was cancelled"),
        }
        let (owner_id, workstation) = target;
        let kind = job.kind;
        let progress = Progress {
            pool: inner.pool.clone(),
            bus: inner.bus.clone(),
            workstation_id: job.workstation_id.clone(),
            owner_id,
            status: kind.status_while_running(workstation.status),
            current: Mutex::new((None, None)),
            writing: Arc::default(),
        };
        let provisioner = &inner.provisioner;
        let work = async {
            // A running workstation is stopped before it is deleted.
            if kind == JobKind::Delete && workstation.status == WorkstationStatus::Running {
                provisioner.run(JobKind::Stop, &workstation, &progress).await?;
            }
            provisioner.run(kind, &workstation, &progress).await
        };
        let timeout = inner.config.job_timeout;
        let began = std::time::Instant::now();
        let outcome = tokio::select! {
            biased;
            Ok(stop) = &mut stopped => match stop {
                Stop::Cancelled => Some(Err(Failure(CANCELLED.into()))),
                Stop::LeaseLost => None,
            },
            outcome = tokio::time::timeout(timeout, work) => Some(outcome.unwrap_or_else(|_| {
                Err(Failure(format!("{} took longer than {} s and was stopped", kind.doing(), timeout.as_secs_f64().round())))
            })),
        };
        progress.settled().await;
        let Some(outcome) = outcome else {
            tracing::warn!("the job's lease ran out and it was taken over; stopped here");
            return;
        };
        inner.durations.observe(kind, JobState::of_outcome(&outcome), began.elapsed());
        match &outcome {
            Ok(()) => tracing::info!(kind = kind.as_str(), "job done"),
            Err(Failure(reason)) => tracing::warn!(kind = kind.as_str(), %reason, "job failed"),
        }
        // A job whose end is not recorded would look busy until the next
        // restart, so a failing database gets a few more tries.
        let mut delay = Duration::from_millis(200);
        for attempt in 1.. {
            let outcome = outcome.clone();
            match self.finish(&job, owner_id, &workstation, outcome).await {
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

    /// Records the end of `job` (started on `workstation`, of `owner_id`):
    /// the job's state and the status event the domain's outcome table
    /// gives, and for a finished delete the record's removal. Changes
    /// nothing when the job was taken over meanwhile (its end is the new start's).
    async fn finish(
        &self,
        job: &ClaimedJob,
        owner_id: i64,
        workstation: &Workstation,
        outcome: Result<(), Failure>,
    ) -> Result<(), Error> {
        let (pool, holder) = (&self.inner.pool, self.inner.holder.as_str());
        let error = outcome.as_ref().err().map(|f| f.0.as_str());
        let mut ending = job.kind.ending(workstation.status, error.map_or(Ok(()), Err));
        if let (Some(reason), None) = (&job.reason, error) {
            // Queued by the server itself (auto-stop): its end says why.
            ending.message.clone_from(reason);
        }
        let event = NewEvent {
            workstation_id: &job.workstation_id,
            owner_id,
            kind: EventKind::Status,
            status: ending.status,
            phase: ending.phase.clone(),
            progress: ending.progress,
            message: Some(&ending.message),
        };
        self.inner
            .bus
            .record(|| async move {
                let mut tx = store::begin_write(pool).await?;
                if !store::finish_job(&mut tx, job, holder, error).await? {
                    tx.rollback().await?;
                    tracing::warn!(
                        job = job.id,
                        "the job was taken over by another instance; its end is theirs to record"
                    );
                    return Ok(((), Vec::new()));
                }
                let published = store::append_event(&mut tx, event).await?;
                if ending.removes {
                    store::delete_workstation(&mut tx, &job.workstation_id).await?;
                }
                tx.commit().await?;
                Ok(((), vec![published]))
            })
            .await
    }
}
