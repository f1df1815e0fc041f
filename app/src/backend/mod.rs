//! Server-side parts shared by the REST API and the pages' server functions:
//! state, storage and credentials. Compiled only with the `ssr` feature.

pub mod access;
pub mod accounts;
pub mod admission;
pub mod audit;
pub mod auth;
pub mod auto_stop;
pub mod creates;
pub mod credentials;
pub mod engine;
pub mod events;
pub mod health;
pub mod idempotency;
pub mod lifecycle;
pub mod metrics;
pub mod projects;
pub mod quota;
pub mod rate_limits;
pub mod sso;
pub mod state;
pub mod store;
pub mod streams;
pub mod terminals;
pub mod usage;
pub mod workstations;

pub use state::AppState;

use crate::domain::FieldError;

/// Failures of backend operations, for each edge to map to its own errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operation conflicts with stored data (e.g. a duplicate name).
    #[error("conflict: {0}")]
    Conflict(FieldError),
    /// No capacity left for the GPU type in the region.
    #[error("insufficient capacity: {}", .0.message)]
    InsufficientCapacity(Box<Shortage>),
    /// The request would take the user past a quota limit.
    #[error("quota exceeded: {}", .0.detail)]
    QuotaExceeded(Box<QuotaExcess>),
    /// Nothing of that name or id the caller may see.
    #[error("not found: {0}")]
    NotFound(String),
    /// The caller's role in a project does not allow it.
    #[error("forbidden: {detail}")]
    Forbidden { detail: String, role_needed: crate::domain::Role, role: crate::domain::Role },
    /// The request's token is limited to one project, and this reaches past it.
    #[error("token limited: {0}")]
    TokenLimited(String),
    /// The object is in a state that refuses the change (e.g. a project
    /// that still holds workstations, or its last owner leaving).
    #[error("refused: {0}")]
    Refused(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A database failure shared by every create of one group commit.
    #[error("database error: {0}")]
    Shared(std::sync::Arc<sqlx::Error>),
}

/// Which limit a request would pass, and by how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaExcess {
    /// The limit's API name, e.g. `cpuCores`.
    pub resource: &'static str,
    pub limit: u64,
    /// What would be used after the request.
    pub requested: u64,
    pub detail: String,
}

/// What is missing, and where else there is room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub message: String,
    /// Regions with free capacity for the GPU type asked for.
    pub regions_with_gpu: Vec<String>,
    /// GPU types with free capacity in the region asked for.
    pub gpus_in_region: Vec<String>,
}
