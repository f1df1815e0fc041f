//! The state every handler and server function reads.

use std::sync::Arc;

use crate::backend::store::Db;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::engine::Engine;
use super::events::EventBus;
use crate::domain::Catalog;

/// Shared process state: a handle, cloned for every request by each layer
/// and extractor that takes it, so a clone is one reference count (cloning
/// the parts themselves took a tenth of a create's time).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl AppState {
    pub fn new(inner: AppStateInner) -> Self {
        Self(Arc::new(inner))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// What the server's pages (leptos_axum) read from the state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The parts of [`AppState`].
pub struct AppStateInner {
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
    /// Terminal sessions open on this instance.
    pub terminals: super::terminals::Terminals,
    /// Where the edges record every change asked of the service.
    pub audit: super::audit::AuditLog,
    /// Credentials accepted within the last second (see [`super::credentials`]).
    pub credentials: Arc<super::credentials::Credentials>,
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
    /// The shell terminals start (`--workstation-shell`); empty: the
    /// image's (`SHELL` in its environment), else `/bin/sh`.
    pub shell: String,
    /// When running workstations stop by themselves.
    pub auto_stop: super::auto_stop::AutoStopPolicy,
    /// Days the audit log keeps a record; 0 keeps them forever.
    pub audit_retention_days: u32,
    /// Single sign-on with an OpenID provider, when configured.
    pub sign_on: Option<SignOnSettings>,
}

/// Single sign-on with an OpenID Connect provider (`--oidc-*`).
#[derive(Clone, PartialEq, Eq)]
pub struct SignOnSettings {
    /// The provider's issuer URL (its discovery document is under it).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Shown on the sign-in page: "Sign in with {name}".
    pub provider_name: String,
    /// The ID token claim a new user's name comes from: `preferred_username`
    /// (the default), `email` (its part before `@`) or `sub`.
    pub username_claim: String,
    /// The ID token claim that lists the user's groups.
    pub groups_claim: String,
    /// When not empty, only emails in these domains may sign in.
    pub allowed_domains: Vec<String>,
    /// When not empty, only members of one of these groups may sign in.
    pub allowed_groups: Vec<String>,
    /// Where browsers reach this service (`https://atelier.example.com`),
    /// for the redirect URI; by default the request's own `Host`.
    pub public_url: Option<String>,
}

impl std::fmt::Debug for SignOnSettings {
    /// Everything but the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignOnSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("provider_name", &self.provider_name)
            .field("username_claim", &self.username_claim)
            .field("groups_claim", &self.groups_claim)
            .field("allowed_domains", &self.allowed_domains)
            .field("allowed_groups", &self.allowed_groups)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// Every serve setting's default, written once: the command line's flags
/// read these, and so do [`Settings::default`] and the engine's
/// [`EngineConfig::default`](super::engine::EngineConfig).
pub mod defaults {
    use crate::domain::Quota;

    /// `sqlite://data/atelier.db`: the database `make run` uses.
    pub const DATABASE_URL: &str = "sqlite://data/atelier.db";
    pub const ADDR: &str = "127.0.0.1:3000";
    pub const SITE_ROOT: &str = "target/site";
    pub const SESSION_HOURS: u64 = 7 * 24;
    pub const QUOTA_CPU_CORES: u64 = 512;
    pub const QUOTA_MEMORY_GB: u64 = 4096;
    pub const QUOTA_GPUS: u64 = 32;
    pub const QUOTA_STORAGE_GB: u64 = 65536;
    /// Each user's limits unless set for them.
    pub const QUOTA: Quota = Quota {
        cpu_cores: QUOTA_CPU_CORES,
        memory_gb: QUOTA_MEMORY_GB,
        gpus: QUOTA_GPUS,
        storage_gb: QUOTA_STORAGE_GB,
    };
    pub const MAX_STREAMS_PER_USER: usize = 32;
    pub const RATE_LIMIT_PER_MINUTE: u32 = 1200;
    pub const REQUEST_TIMEOUT_SECS: u64 = 30;
    /// The simulated provisioner's milliseconds in each phase.
    pub const SIMULATED_PHASE_MS: &str = "1500";
    pub const WORKERS: usize = 4;
    pub const JOB_TIMEOUT_SECS: u64 = 600;
    pub const MAX_ATTEMPTS: i64 = 3;
    pub const JOB_LEASE_SECS: u64 = 15;
    /// The container provisioner's engine (Docker's usual socket).
    pub const DOCKER_HOST: &str = "unix:///var/run/docker.sock";
    /// The image `scripts/engine.sh` makes.
    pub const WORKSTATION_IMAGE: &str = "localhost/atelier-workstation:latest";
    pub const WORKSTATION_HOME: &str = "/home/atelier";
    pub const WORKSTATION_PROBE: &str = "true";
    pub const PROBE_TIMEOUT_SECS: u64 = 60;
    pub const STOP_TIMEOUT_SECS: u64 = 10;
    pub const RECONCILE_MS: u64 = 3000;
    /// The shell a terminal starts. Empty: the image's shell (see [`super::Settings::shell_command`]).
    pub const WORKSTATION_SHELL: &str = "";
    /// How long a terminal's shell outlives its last connection.
    pub const TERMINAL_KEEP_SECS: u64 = 300;
    /// The shortest auto-stop timeout a workstation may have (other than never).
    pub const AUTO_STOP_MIN_SECS: u64 = 60;
    /// How long before an auto-stop its warning comes.
    pub const AUTO_STOP_WARN_SECS: u64 = 300;
}

impl Settings {
    /// What a terminal runs when asked for no command: the shell set, or
    /// the image's (`SHELL` in the container's environment, which the image
    /// sets), else `/bin/sh`.
    pub fn shell_command(&self) -> Vec<String> {
        if self.shell.is_empty() {
            ["/bin/sh", "-c", "exec \"${SHELL:-/bin/sh}\""].map(str::to_owned).to_vec()
        } else {
            vec![self.shell.clone()]
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_ttl: std::time::Duration::from_secs(defaults::SESSION_HOURS * 3600),
            default_quota: defaults::QUOTA,
            max_streams_per_user: defaults::MAX_STREAMS_PER_USER,
            rate_limit_per_minute: defaults::RATE_LIMIT_PER_MINUTE,
            request_timeout: std::time::Duration::from_secs(defaults::REQUEST_TIMEOUT_SECS),
            shell: defaults::WORKSTATION_SHELL.to_owned(),
            auto_stop: super::auto_stop::AutoStopPolicy {
                idle_secs: 0,
                running_secs: 0,
                min_secs: defaults::AUTO_STOP_MIN_SECS,
                warn_secs: defaults::AUTO_STOP_WARN_SECS,
            },
            audit_retention_days: 0,
            sign_on: None,
        }
    }
}
