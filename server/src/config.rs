//! Turning options into a running state: database, catalog, page settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use app::backend::creates::{Creates, Writer};
use app::backend::engine::{
    CommandProvisioner, DockerOptions, DockerProvisioner, Engine, EngineConfig, Placement, Provisioner,
    SimulatedProvisioner,
};
use app::backend::events::EventBus;
use app::backend::store;
use app::backend::{
    state::{AppStateInner, Settings},
    AppState,
};
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
    /// How jobs run.
    pub engine: EngineConfig,
    /// Which provisioner runs them.
    pub provisioner: ProvisionerChoice,
    /// How long a terminal's shell outlives its last connection.
    pub terminal_keep: std::time::Duration,
}

impl ProvisionerChoice {
    /// The simulator with the same time in every phase.
    pub fn simulated(each_phase: std::time::Duration) -> Self {
        Self::Simulated { phases: [each_phase; 4] }
    }
}

/// The provisioning driver.
#[derive(Debug, Clone)]
pub enum ProvisionerChoice {
    /// Timed phases and catalog capacity; `phases` is the time in each of
    /// the four phases.
    Simulated { phases: [std::time::Duration; 4] },
    /// An administrator's executable.
    Command { program: PathBuf },
    /// Containers on Docker Engine API hosts (Docker or Podman).
    Docker(DockerOptions),
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
    #[error("the provisioner command {0} is not an executable file")]
    ProvisionerCommand(PathBuf),
    #[error("the catalog's [docker] section is invalid: {0}")]
    DockerSection(String),
    #[error("cannot recover interrupted jobs: {0}")]
    Recovery(app::backend::Error),
    #[error("cannot read the newest event to follow new ones from: {0}")]
    EventFeed(app::backend::Error),
    #[error("{flag} {value} {detail} (--auto-stop-min-secs is {min})")]
    AutoStopFlag { flag: &'static str, value: u64, detail: String, min: u64 },
    #[error("cannot give auto-stop defaults to existing workstations: {0}")]
    AutoStopDefaults(app::backend::Error),
}

/// The auto-stop defaults must be timeouts a workstation may have.
fn check_auto_stop(policy: &app::backend::auto_stop::AutoStopPolicy) -> Result<(), StartError> {
    let limits = policy.limits();
    for (flag, value) in
        [("--auto-stop-idle-secs", policy.idle_secs), ("--auto-stop-running-secs", policy.running_secs)]
    {
        let as_i64 = i64::try_from(value).unwrap_or(i64::MAX);
        if let Err(detail) = limits.check(as_i64) {
            return Err(StartError::AutoStopFlag { flag, value, detail, min: policy.min_secs });
        }
    }
    Ok(())
}

/// Loads the catalog named in the options, or the embedded one.
pub async fn load_catalog(path: Option<&PathBuf>) -> Result<Catalog, StartError> {
    Ok(load_catalog_text(path).await?.0)
}

/// The catalog and the text of its file (empty for the embedded one).
async fn load_catalog_text(path: Option<&PathBuf>) -> Result<(Catalog, String), StartError> {
    let Some(path) = path else {
        return Ok((Catalog::embedded(), String::new()));
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| StartError::CatalogRead { path: path.clone(), source })?;
    let catalog = Catalog::from_toml(&text)
        .map_err(|reason| StartError::CatalogInvalid { path: path.clone(), reason })?;
    Ok((catalog, text))
}

/// Opens the database (applying migrations), assembles the state, recovers
/// jobs a previous process left running, and starts the workers.
pub async fn build_state(options: &ServeOptions) -> Result<AppState, StartError> {
    check_auto_stop(&options.settings.auto_stop)?;
    let (mut catalog, catalog_text) = load_catalog_text(options.catalog.as_ref()).await?;
    let pool = store::connect(&options.database_url).await.map_err(|source| StartError::Database {
        url: store::without_password(&options.database_url),
        source,
    })?;
    let leptos_options = LeptosOptions::builder()
        .output_name("atelier")
        .site_root(options.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(options.addr)
        .env(Env::PROD)
        .build();
    let bus = if pool.shared() {
        // Several instances may share it: every event comes from the table.
        let bus = EventBus::followed(1024);
        let after = app::backend::events::last_event_id(&pool).await.map_err(StartError::EventFeed)?;
        tokio::spawn(bus.clone().follow(pool.clone(), after));
        bus
    } else {
        EventBus::default()
    };
    let mut reconciler = None;
    let provisioner: Arc<dyn Provisioner> = match &options.provisioner {
        ProvisionerChoice::Simulated { phases } => {
            Arc::new(SimulatedProvisioner::new(pool.clone(), Arc::new(catalog.clone()), *phases))
        }
        ProvisionerChoice::Command { program } => {
            if !is_executable(program).await {
                return Err(StartError::ProvisionerCommand(program.clone()));
            }
            Arc::new(CommandProvisioner::new(program.clone()))
        }
        ProvisionerChoice::Docker(docker) => {
            let placement = Placement::from_catalog_text(&catalog_text, &catalog, docker)
                .map_err(StartError::DockerSection)?;
            // Listed GPU devices are the capacity of their type.
            placement.limit_capacity(&mut catalog);
            let provisioner = Arc::new(DockerProvisioner::new(pool.clone(), docker.clone(), placement));
            reconciler = Some(provisioner.clone());
            provisioner
        }
    };
    catalog.auto_stop = options.settings.auto_stop.limits();
    app::backend::auto_stop::adopt_defaults(&pool, options.settings.auto_stop)
        .await
        .map_err(StartError::AutoStopDefaults)?;
    let catalog = Arc::new(catalog);
    let engine = Engine::new(pool.clone(), bus.clone(), provisioner, options.engine.clone());
    engine.recover().await.map_err(StartError::Recovery)?;
    engine.start();
    if let Some(docker) = reconciler {
        tokio::spawn(docker.reconcile_forever(bus.clone()));
    }
    let creates = Creates::start(Writer {
        pool: pool.clone(),
        bus: bus.clone(),
        engine: engine.clone(),
        catalog: catalog.clone(),
        default_quota: options.settings.default_quota,
    });
    let streams = app::backend::streams::Streams::new(options.settings.max_streams_per_user);
    streams.watch_credentials(pool.clone());
    let policy = options.settings.auto_stop;
    let terminals = app::backend::terminals::Terminals::new(options.terminal_keep)
        .with_activity(pool.clone(), policy.touch_every());
    tokio::spawn(app::backend::auto_stop::enforce_forever(pool.clone(), bus.clone(), engine.clone(), policy));
    tokio::spawn(terminals.clone().reap_forever());
    tokio::spawn(app::backend::audit::trim_forever(pool.clone(), options.settings.audit_retention_days));
    Ok(AppState::new(AppStateInner {
        audit: app::backend::audit::AuditLog::start(pool.clone()),
        pool,
        catalog,
        leptos_options,
        settings: Arc::new(options.settings.clone()),
        bus,
        engine,
        creates,
        streams,
        terminals,
        credentials: Arc::default(),
    }))
}

async fn is_executable(path: &std::path::Path) -> bool {
    match tokio::fs::metadata(path).await {
        #[cfg(unix)]
        Ok(meta) => {
            use std::os::unix::fs::PermissionsExt;
            meta.is_file() && meta.permissions().mode() & 0o111 != 0
        }
        #[cfg(not(unix))]
        Ok(meta) => meta.is_file(),
        Err(_) => false,
    }
}
