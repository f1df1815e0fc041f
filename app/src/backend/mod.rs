//! Server-side parts shared by the REST API and the pages' server functions:
//! state, storage and credentials. Compiled only with the `ssr` feature.

pub mod auth;
pub mod db;
pub mod engine;
pub mod events;
pub mod lifecycle;
pub mod repo;
pub mod state;
pub mod workstations;

pub use state::AppState;

use crate::domain::FieldError;

/// Failures of backend operations, for each edge to map to its own errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operation conflicts with stored data (e.g. a duplicate name).
    #[error("conflict: {0}")]
    Conflict(FieldError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
