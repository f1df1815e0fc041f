//! Leases: which jobs run here, renewing their leases while they run,
//! stopping those cancelled (through any instance) or taken over, and
//! taking over at start the jobs a stopped process left.

use std::time::Duration;

use super::Engine;
use crate::backend::store::{self, ClaimedJob};
use crate::backend::Error;
use crate::domain::lifecycle::Action;
use crate::domain::EventKind;

/// The jobs running here, by job id: which start of the job each is, and a
/// sender to stop it. Only these have their leases renewed, so a job this
/// instance gave up on (a failed read, a panic) is taken over when its lease
/// runs out. A cancel through this instance stops its job at once; one
/// through another is marked on the job in the database, which lease
/// renewal reads. Keyed by job, a request that comes too late cannot stop a
/// later job of the same workstation.
pub(super) type Running = std::collections::HashMap<i64, Local>;

/// A job running here.
pub(super) struct Local {
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
pub(super) enum Stop {
    /// Someone asked to cancel it: it fails as "Cancelled".
    Cancelled,
    /// Its lease ran out and the job was taken over: its end is the new
    /// start's to record.
    LeaseLost,
}

/// A job registered as running here until this is dropped: after its end is
/// recorded, or when its run gives up or panics.
pub(super) struct Registered<'a> {
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
    /// Stops the job running here (only its start `attempts`, if given).
    pub(super) fn stop_job(&self, job_id: i64, attempts: Option<i64>, why: Stop) {
        let mut running = self.running();
        if let Some(local) = running.get_mut(&job_id) {
            if attempts.is_none_or(|a| a == local.attempts) {
                if let Some(stop) = local.stop.take() {
                    let _ = stop.send(why);
                }
            }
        }
    }

    pub(super) fn running(&self) -> std::sync::MutexGuard<'_, Running> {
        self.inner.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers `job`, claimed at `claimed_at`, as running here; the
    /// receiver says when to stop it.
    pub(super) fn register(
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
        if self.inner.pool.shared() {
            return Ok(0);
        }
        let ended = store::expire_leases(&self.inner.pool).await?;
        if ended > 0 {
            tracing::warn!(count = ended, "taking over jobs interrupted by a restart");
        }
        Ok(ended)
    }

    /// Renews the leases of the jobs running here, every third of a lease.
    /// Stops those someone asked (through any instance) to cancel, and those
    /// whose lease was lost (it ran out, as when the database could not be
    /// reached, and the job was taken over): only one start of a job runs.
    /// On PostgreSQL, where another instance takes over a job whose lease
    /// runs out, a job whose lease could not be renewed for two thirds of a
    /// lease is stopped here before that.
    pub(super) async fn renew_leases(self) {
        let inner = &self.inner;
        let lease_secs = lease_secs(inner.config.lease);
        let mut stopping = inner.stopping.subscribe();
        let period = (inner.config.lease / 3).max(Duration::from_millis(100));
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shared = inner.pool.shared();
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
                store::renew_leases(&inner.pool, &inner.holder, &ids, lease_secs),
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
    pub(super) async fn watch_cancels(self) {
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
                        && b.event.phase == Some(Action::Cancel.phase())
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
}

/// A lease's length in whole seconds (at least one).
pub(super) fn lease_secs(lease: Duration) -> i64 {
    i64::try_from(lease.as_secs()).unwrap_or(i64::MAX).max(1)
}
