//! Group commit for creates: one writer task takes every create waiting,
//! checks and stores them all in one transaction, and answers each only after
//! that transaction's one fsync (`synchronous=FULL`). A `201` still means the
//! record is on disk; concurrent creates share the cost of getting it there.
//!
//! Inside a batch the creates are checked in arrival order against running
//! totals read in the same transaction, so capacity, quota and unique names
//! are exactly as strict as one transaction per create.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::backend::store::Db;
use tokio::sync::{mpsc, oneshot};

use super::admission::{Ask, Ledger, Refusal};
use super::engine::Engine;
use super::events::EventBus;
use super::{store, workstations, Error};
use crate::domain::{Catalog, Configuration, Quota, Workstation, WorkstationSpec};

/// The most creates one transaction takes.
pub const MAX_BATCH: usize = 256;

/// The handle requests send their creates through.
#[derive(Clone)]
pub struct Creates {
    queue: mpsc::Sender<Pending>,
    counts: Arc<Counts>,
}

/// What the writer has done, for `/metrics`.
#[derive(Debug, Default)]
pub struct Counts {
    /// Transactions committed.
    pub batches: AtomicU64,
    /// Creates stored by them.
    pub stored: AtomicU64,
    /// Batches stored by one statement that also read what they were
    /// checked against (where the backend can: PostgreSQL).
    pub one_statement: AtomicU64,
    /// Such statements rolled back because a create of the batch was
    /// refused (the others were then stored the general way).
    pub undone: AtomicU64,
}

/// What the writer task needs.
pub struct Writer {
    pub pool: Db,
    pub bus: EventBus,
    pub engine: Engine,
    pub catalog: Arc<Catalog>,
    /// Each user's limits unless set for them.
    pub default_quota: Quota,
}

/// What one batch did: transactions committed, creates stored.
#[derive(Debug, Default)]
struct Written {
    commits: u64,
    stored: u64,
}

struct Pending {
    owner_id: i64,
    id: String,
    spec: WorkstationSpec,
    reply: oneshot::Sender<Result<Workstation, Error>>,
}

/// Why one create of a batch was not stored.
enum Refused {
    /// No capacity left for its GPU type in its region.
    Full,
    /// Over quota or a taken name.
    Because(Error),
}

impl Creates {
    /// Starts the writer task; it ends when every handle is dropped.
    pub fn start(writer: Writer) -> Self {
        let (queue, rx) = mpsc::channel(4 * MAX_BATCH);
        let counts = Arc::new(Counts::default());
        tokio::spawn(writer.run(rx, counts.clone()));
        Self { queue, counts }
    }

    /// Stores a workstation `id` for the owner, once it and the creates
    /// committed with it are on disk.
    pub async fn create(
        &self,
        owner_id: i64,
        id: String,
        spec: WorkstationSpec,
    ) -> Result<Workstation, Error> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Pending { owner_id, id, spec, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Batches committed and creates stored so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.counts.batches.load(Ordering::Relaxed), self.counts.stored.load(Ordering::Relaxed))
    }

    /// Batches stored by one statement, and such statements undone, so far.
    pub fn one_statement_counts(&self) -> (u64, u64) {
        (self.counts.one_statement.load(Ordering::Relaxed), self.counts.undone.load(Ordering::Relaxed))
    }
}

fn stopped() -> Error {
    Error::Database(sqlx::Error::PoolClosed)
}

impl Writer {
    async fn run(self, mut rx: mpsc::Receiver<Pending>, counts: Arc<Counts>) {
        let writer = Arc::new(self);
        loop {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return;
            }
            // In a task of its own: should a batch ever panic, its creates
            // are answered as failed (their replies dropped) and the writer
            // goes on with the next.
            let this = writer.clone();
            let shared = counts.clone();
            match tokio::spawn(async move { this.write(&mut batch, &shared).await }).await {
                Ok(Written { commits, stored }) => {
                    counts.batches.fetch_add(commits, Ordering::Relaxed);
                    counts.stored.fetch_add(stored, Ordering::Relaxed);
                    if stored > 0 {
                        writer.engine.wake();
                    }
                }
                Err(e) => tracing::error!(error = %e, "a batch of creates stopped"),
            }
        }
    }

    /// Stores the batch (emptying it) and answers each create.
    async fn write(&self, batch: &mut Vec<Pending>, counts: &Counts) -> Written {
        match self.store(batch, counts).await {
            Ok(verdicts) => {
                let stored = self.answer(batch.drain(..).zip(verdicts)).await;
                Written { commits: u64::from(stored > 0), stored }
            }
            // A failure one create can cause (a constraint: its owner was
            // deleted meanwhile) must not fail the others: one at a time.
            Err(Error::Database(sqlx::Error::Database(e)))
                if batch.len() > 1 && e.kind() != sqlx::error::ErrorKind::Other =>
            {
                tracing::warn!(error = %e, creates = batch.len(), "a batch of creates failed; storing them one by one");
                let mut written = Written::default();
                for pending in batch.drain(..) {
                    let one = std::slice::from_ref(&pending);
                    match self.store(one, counts).await.map(|mut verdicts| verdicts.pop()) {
                        Ok(Some(verdict)) => {
                            let stored = self.answer(std::iter::once((pending, verdict))).await;
                            written.commits += u64::from(stored > 0);
                            written.stored += stored;
                        }
                        Ok(None) => {
                            let _ = pending.reply.send(Err(Error::Database(sqlx::Error::RowNotFound)));
                        }
                        Err(e) => {
                            let _ = pending.reply.send(Err(e));
                        }
                    }
                }
                written
            }
            // Busy, locked, full: the same for every create of the batch.
            Err(e) => {
                let e = match e {
                    Error::Database(e) => Arc::new(e),
                    Error::Shared(e) => e,
                    other => Arc::new(sqlx::Error::Protocol(other.to_string())),
                };
                for pending in batch.drain(..) {
                    let _ = pending.reply.send(Err(Error::Shared(e.clone())));
                }
                Written::default()
            }
        }
    }

    /// Answers each create; returns how many were stored.
    async fn answer(&self, outcomes: impl Iterator<Item = (Pending, Result<Workstation, Refused>)>) -> u64 {
        let mut stored = 0;
        // Read once, after the commit, for every refusal of the batch for want of capacity.
        let mut grid = None;
        for (pending, verdict) in outcomes {
            let reply = match verdict {
                Ok(ws) => {
                    stored += 1;
                    Ok(ws)
                }
                Err(Refused::Because(e)) => Err(e),
                Err(Refused::Full) => {
                    if grid.is_none() {
                        grid = Some(workstations::capacity_in(&self.pool, &self.catalog).await);
                    }
                    let c = &pending.spec.configuration;
                    match &grid {
                        Some(Ok(entries)) => Err(workstations::shortage_in(
                            entries,
                            &self.catalog,
                            c.region.as_str(),
                            c.gpu.as_str(),
                        )),
                        // The refusal stands; only its list of alternatives could not be read.
                        _ => Err(workstations::shortage_in(
                            &[],
                            &self.catalog,
                            c.region.as_str(),
                            c.gpu.as_str(),
                        )),
                    }
                }
            };
            // The client may have gone; the record stands either way.
            let _ = pending.reply.send(reply);
        }
        stored
    }

    /// One transaction for the batch: each create checked in order against
    /// what the ones before it took, all stored with a few statements, the
    /// events published before any other writer commits.
    async fn store(
        &self,
        batch: &[Pending],
        counts: &Counts,
    ) -> Result<Vec<Result<Workstation, Refused>>, Error> {
        self.bus
            .record(|| async {
                let rows: Vec<(&str, i64, &WorkstationSpec)> =
                    batch.iter().map(|p| (p.id.as_str(), p.owner_id, &p.spec)).collect();
                let configurations: Vec<Configuration> =
                    batch.iter().map(|p| Configuration::from(&p.spec)).collect();
                let mut tx = store::begin_write(&self.pool).await?;
                // Where the backend can, the usual case takes one statement:
                // store every create and read what was held before them, then
                // keep it if every create passes its checks against that.
                if let Some((stored, events, held)) =
                    store::insert_new_workstations_reading_held(&mut tx, &rows, self.bus.publishes_recorded())
                        .await?
                {
                    // Every row stored (none skipped for a taken name) and
                    // every create within its limits: kept.
                    if stored.len() == batch.len()
                        && self.check(batch, &configurations, &held)?.iter().all(Result::is_ok)
                    {
                        tx.commit().await?;
                        counts.one_statement.fetch_add(1, Ordering::Relaxed);
                        return Ok((stored.into_iter().map(Ok).collect(), events));
                    }
                    // Some are refused: undone, and the others stored below.
                    tx.rollback().await?;
                    counts.undone.fetch_add(1, Ordering::Relaxed);
                    tx = store::begin_write(&self.pool).await?;
                }
                let asks: Vec<store::Asked<'_>> = batch
                    .iter()
                    .zip(&configurations)
                    .map(|(p, c)| Ask::create(p.spec.name.as_str(), c).asked(p.owner_id))
                    .collect();
                let held = store::held_before(&mut tx, &asks).await?;
                let verdicts = self.check(batch, &configurations, &held)?;
                let accepted: Vec<_> =
                    rows.iter().zip(&verdicts).filter(|(_, v)| v.is_ok()).map(|(row, _)| *row).collect();
                let (stored, events) = store::insert_new_workstations(&mut tx, &accepted).await?;
                let mut stored = stored.into_iter();
                tx.commit().await?;
                let verdicts = verdicts
                    .into_iter()
                    .map(|v| {
                        v.and_then(|()| {
                            stored.next().ok_or(Refused::Because(Error::Database(sqlx::Error::RowNotFound)))
                        })
                    })
                    .collect();
                Ok((verdicts, events))
            })
            .await
    }

    /// Each create of the batch checked in arrival order against what was
    /// held before the batch and what the creates before it took.
    fn check(
        &self,
        batch: &[Pending],
        configurations: &[Configuration],
        held: &store::HeldBefore,
    ) -> Result<Vec<Result<(), Refused>>, Error> {
        let mut ledger = Ledger::new(held, &self.catalog, self.default_quota);
        batch
            .iter()
            .zip(configurations)
            .map(|(p, configuration)| {
                let ask = Ask::create(p.spec.name.as_str(), configuration);
                Ok(match ledger.admit(p.owner_id, &ask)? {
                    None => Ok(()),
                    // Answered after the commit, with where else there is room.
                    Some(Refusal::Full) => Err(Refused::Full),
                    Some(refusal) => Err(Refused::Because(refusal.into_error(&ask, &self.catalog, &[]))),
                })
            })
            .collect()
    }
}
