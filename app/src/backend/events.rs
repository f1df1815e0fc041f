//! The in-process event bus: every committed event goes to every live stream
//! from here, so streams never poll the database.
//!
//! On SQLite (one instance) the writers publish what they commit. On
//! PostgreSQL (several instances) every instance follows the events table
//! instead: a notification on commit wakes it, and it reads what is new by id,
//! so events written by any instance reach every stream, in id order, and a
//! missed notification only delays them until the next read.

use std::future::Future;
use std::sync::Arc;

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::{broadcast, watch, Mutex};

use super::store::Db;
use super::{store, Error};
use crate::domain::WorkstationEvent;

/// A committed event with the owner it belongs to (which streams filter on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub owner_id: i64,
    pub event: WorkstationEvent,
}

/// A committed event as every stream receives it: shared, not copied per
/// subscriber, with its JSON written once.
#[derive(Debug)]
pub struct Broadcast {
    pub owner_id: i64,
    pub event: WorkstationEvent,
    pub json: String,
}

/// Fan-out of committed events to subscribers.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    tx: broadcast::Sender<Arc<Broadcast>>,
    /// Held from before an event's commit until it is published, so
    /// subscribers receive events in id order and can drop duplicates by id.
    order: Mutex<()>,
    closing: watch::Sender<bool>,
    /// Events come from following the database, not from the writers.
    followed: bool,
}

/// The channel PostgreSQL notifies when events are committed (migration 0001).
const CHANNEL: &str = "atelier_events";

/// A connection listening on [`CHANNEL`], or `None` (logged) when there is none now.
async fn listen(db: &Db) -> Option<PgListener> {
    match db.listen(CHANNEL).await {
        Ok(listener) => Some(listener),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for events; reading every second");
            None
        }
    }
}

impl EventBus {
    /// A bus that buffers up to `capacity` events per slow subscriber; one
    /// that falls further behind catches up from the database.
    pub fn new(capacity: usize) -> Self {
        Self::with(capacity, false)
    }

    /// A bus fed by [`follow`](Self::follow)ing the database, for several
    /// instances sharing one.
    pub fn followed(capacity: usize) -> Self {
        Self::with(capacity, true)
    }

    fn with(capacity: usize, followed: bool) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        let (closing, _) = watch::channel(false);
        Self { inner: Arc::new(Inner { tx, order: Mutex::new(()), closing, followed }) }
    }

    fn publish(&self, Published { owner_id, event }: Published) {
        let json = serde_json::to_string(&event).unwrap_or_else(|_| "{}".to_owned());
        // No subscribers is fine: the events are stored.
        let _ = self.inner.tx.send(Arc::new(Broadcast { owner_id, event, json }));
    }

    /// Receives every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Broadcast>> {
        self.inner.tx.subscribe()
    }

    /// Whether the events a write returns to [`record`](Self::record) are
    /// published from there; a followed bus reads them from the database
    /// instead, so a writer need not return them.
    pub fn publishes_recorded(&self) -> bool {
        !self.inner.followed
    }

    /// Runs `write`, which commits events and returns them, and publishes
    /// them before any other writer can commit.
    pub async fn record<T, F, Fut>(&self, write: F) -> Result<T, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, Vec<Published>), Error>>,
    {
        if self.inner.followed {
            // They arrive through `follow`, with everyone else's, in order.
            return write().await.map(|(value, _)| value);
        }
        let _order = self.inner.order.lock().await;
        let (value, events) = write().await?;
        for event in events {
            self.publish(event);
        }
        Ok(value)
    }

    /// Publishes every event committed to `db` after id `after` (the newest
    /// when the process started), in id order, until the server shuts down. Woken by PostgreSQL's
    /// notification on commit (`atelier_events`); reads the table every
    /// second besides, so a notification lost with a dropped connection
    /// delays events by a second at most.
    pub async fn follow(self, db: Db, mut after: i64) {
        let closing = self.closing();
        tokio::pin!(closing);
        loop {
            let mut listener = listen(&db).await;
            loop {
                // Whatever woke us, read everything new: the table is the truth.
                if let Err(e) = self.publish_after(&db, &mut after).await {
                    tracing::error!(error = %e, "cannot read new events");
                }
                let woken = async {
                    match listener.as_mut() {
                        Some(listener) => listener.try_recv().await.map(|n| n.is_some()),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = &mut closing => return,
                    // Not listening: try again each second.
                    () = tokio::time::sleep(Duration::from_secs(1)) => if listener.is_none() { break },
                    woken = woken => match woken {
                        Ok(true) => {}
                        // The connection dropped (`Ok(false)`) or failed: listen anew.
                        Ok(false) | Err(_) => break,
                    },
                }
            }
        }
    }

    /// Publishes the events after id `after` in order, moving `after` on.
    async fn publish_after(&self, db: &Db, after: &mut i64) -> Result<(), Error> {
        loop {
            let batch = store::events_after(db, *after).await?;
            let full = batch.len() >= store::EVENT_BATCH;
            for event in batch {
                *after = event.event.id;
                self.publish(event);
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Tells every stream the server is shutting down.
    pub fn close(&self) {
        self.inner.closing.send_replace(true);
    }

    /// Resolves when the server starts shutting down.
    pub fn closing(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.closing.subscribe();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(1024)
    }
}

/// The most events one read returns; readers loop for more.
pub use super::store::EVENT_BATCH;

/// The next batch of one workstation's events after sequence number `after_seq`, in order.
pub async fn workstation_events_after(
    db: &Db,
    workstation_id: &str,
    after_seq: i64,
) -> Result<Vec<WorkstationEvent>, Error> {
    store::events_after_seq(db, workstation_id, after_seq).await
}

/// The next batch (at most [`EVENT_BATCH`]) of an owner's events after event id `after_id`, in order.
pub async fn owner_events_after(
    db: &Db,
    owner_id: i64,
    after_id: i64,
) -> Result<Vec<WorkstationEvent>, Error> {
    store::owner_events_after(db, owner_id, after_id).await
}

/// The id of the newest event of anyone (0 when none): where an instance
/// following the events table starts.
pub async fn last_event_id(db: &Db) -> Result<i64, Error> {
    store::last_event_id(db).await
}
