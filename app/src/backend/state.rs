//! The state every handler and server function reads.

use std::sync::Arc;

use crate::backend::store::Db;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::engine::Engine;
use super::events::EventBus;
use crate::domain::Catalog;

/// Shared, cheaply cloned process state.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub pool: Db,
    pub catalog: Arc<Catalog>,
    pub leptos_options: LeptosOptions,
    pub settings: Arc<Settings>,
    pub bus: EventBus,
    pub engine: Engine,
    /// The group-commit writer every create goes through.
    pub creates: super::creates::Creates,
    /// Event streams open now, limited per user.
    pub streams: super::streams::Streams,
}

/// Server settings the backend needs at request time.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// How long a browser session lasts.
    pub session_ttl: std::time::Duration,
    /// Each user's limits unless set for them (`atelier quota set`).
    pub default_quota: crate::domain::Quota,
    /// Event streams one user may hold open at once.
    pub max_streams_per_user: usize,
    /// API requests one token (or browser session) may make per minute; 0 = no limit.
    pub rate_limit_per_minute: u32,
    /// A request without its response head by then is answered 503.
    pub request_timeout: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_ttl: std::time::Duration::from_secs(7 * 24 * 3600),
            default_quota: crate::domain::Quota {
                cpu_cores: 512,
                memory_gb: 4096,
                gpus: 32,
                storage_gb: 65536,
            },
            max_streams_per_user: 32,
            rate_limit_per_minute: 1200,
            request_timeout: std::time::Duration::from_secs(30),
        }
    }
}
