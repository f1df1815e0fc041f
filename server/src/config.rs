//! Turning options into a running state: database, catalog, page settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use app::backend::{db, state::Settings, AppState};
use app::domain::Catalog;
use leptos::config::{Env, LeptosOptions};

/// Everything `serve` needs to know.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// `sqlite://` URL of the database.
    pub database_url: String,
    /// An operator's catalog file; the embedded default when `None`.
    pub catalog: Option<PathBuf>,
    /// Where cargo-leptos put the compiled site (`pkg/`, assets).
    pub site_root: String,
    /// Request-time settings.
    pub settings: Settings,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot read the catalog file {path}: {source}")]
    CatalogRead { path: PathBuf, source: std::io::Error },
    #[error("the catalog file {path} is invalid: {reason}")]
    CatalogInvalid { path: PathBuf, reason: String },
    #[error("cannot open the database {url}: {source}")]
    Database { url: String, source: sqlx::Error },
}

/// Loads the catalog named in the options, or the embedded one.
pub async fn load_catalog(path: Option<&PathBuf>) -> Result<Catalog, StartError> {
    let Some(path) = path else {
        return Ok(Catalog::embedded());
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| StartError::CatalogRead {
            path: path.clone(),
            source,
        })?;
    Catalog::from_toml(&text).map_err(|reason| StartError::CatalogInvalid {
        path: path.clone(),
        reason,
    })
}

/// Opens the database (applying migrations) and assembles the state.
pub async fn build_state(options: &ServeOptions) -> Result<AppState, StartError> {
    let catalog = load_catalog(options.catalog.as_ref()).await?;
    let pool = db::connect(&options.database_url)
        .await
        .map_err(|source| StartError::Database {
            url: options.database_url.clone(),
            source,
        })?;
    let leptos_options = LeptosOptions::builder()
        .output_name("atelier")
        .site_root(options.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(options.addr)
        .env(Env::PROD)
        .build();
    Ok(AppState {
        pool,
        catalog: Arc::new(catalog),
        leptos_options,
        settings: Arc::new(options.settings.clone()),
    })
}
