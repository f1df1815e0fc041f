//! Atelier's server: configuration, the axum router (REST API, pages, static
//! files), and the command-line interface the `atelier` binary runs.

pub mod cli;
pub mod config;
pub mod connections;
pub mod oidc;
pub mod ops;
pub mod remote;
pub mod request_id;
pub mod rest;
pub mod routes;
pub mod security;

pub use app::backend::AppState;
pub use config::{build_state, ProvisionerChoice, ServeOptions};
pub use routes::{router, serve};
