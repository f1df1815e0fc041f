//! The in-process event bus: every committed event goes to every live stream
//! from here, so streams never poll the database.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{broadcast, watch, Mutex};

use super::Error;
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
}

impl EventBus {
    /// A bus that buffers up to `capacity` events per slow subscriber; one
    /// that falls further behind catches up from the database.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        let (closing, _) = watch::channel(false);
        Self { inner: Arc::new(Inner { tx, order: Mutex::new(()), closing }) }
    }

    /// Receives every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Broadcast>> {
        self.inner.tx.subscribe()
    }

    /// Runs `write`, which commits events and returns them, and publishes
    /// them before any other writer can commit.
    pub async fn record<T, F, Fut>(&self, write: F) -> Result<T, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, Vec<Published>), Error>>,
    {
        let _order = self.inner.order.lock().await;
        let (value, events) = write().await?;
        for Published { owner_id, event } in events {
            let json = serde_json::to_string(&event).unwrap_or_else(|_| "{}".to_owned());
            // No subscribers is fine: the events are stored.
            let _ = self.inner.tx.send(Arc::new(Broadcast { owner_id, event, json }));
        }
        Ok(value)
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
