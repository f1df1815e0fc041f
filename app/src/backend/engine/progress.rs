//! A running job's phases and log lines, recorded as events.

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::backend::events::EventBus;
use crate::backend::store::{self, Db, NewEvent};
use crate::backend::Error;
use crate::domain::{EventKind, Phase, WorkstationStatus};

/// Records a running job's phases and log lines as events.
pub struct Progress {
    pub(super) pool: Db,
    pub(super) bus: EventBus,
    pub(super) workstation_id: String,
    pub(super) owner_id: i64,
    /// The workstation's status while the job runs.
    pub(super) status: WorkstationStatus,
    pub(super) current: Mutex<(Option<Phase>, Option<u8>)>,
    /// Held by the write of an event from start to publish. The write runs
    /// in a task of its own, so a job stopped mid-write (cancel, timeout)
    /// still finishes it; the engine takes this lock before recording the
    /// job's end, so that end is always the job's last event.
    pub(super) writing: Arc<Mutex<()>>,
}

impl Progress {
    /// Moves the job to `phase`, `percent` done.
    pub async fn phase(&self, phase: Phase, percent: u8, message: Option<&str>) -> Result<(), Error> {
        let percent = percent.min(100);
        *self.current.lock().await = (Some(phase.clone()), Some(percent));
        self.record(EventKind::Phase, Some(phase), Some(percent), message).await
    }

    /// Records a line of the job's log.
    pub async fn log(&self, line: &str) -> Result<(), Error> {
        let (phase, percent) = self.current.lock().await.clone();
        self.record(EventKind::Log, phase, percent, Some(line)).await
    }

    async fn record(
        &self,
        kind: EventKind,
        phase: Option<Phase>,
        progress: Option<u8>,
        message: Option<&str>,
    ) -> Result<(), Error> {
        let writing = self.writing.clone().lock_owned().await;
        let (pool, bus) = (self.pool.clone(), self.bus.clone());
        let (workstation_id, owner_id, status) = (self.workstation_id.clone(), self.owner_id, self.status);
        let message = message.map(str::to_owned);
        let write = tokio::spawn(async move {
            let event = NewEvent {
                workstation_id: &workstation_id,
                owner_id,
                kind,
                status,
                phase,
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
    pub(super) async fn settled(&self) {
        let _ = self.writing.lock().await;
    }
}

/// Commits one event and publishes it in order.
pub(crate) async fn record_one(pool: &Db, bus: &EventBus, event: NewEvent<'_>) -> Result<(), Error> {
    bus.record(|| async move {
        let mut tx = store::begin_write(pool).await?;
        let published = store::append_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(((), vec![published]))
    })
    .await
}
