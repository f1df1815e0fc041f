//! The `atelier` command line: `serve`, `user create`, `token create|list|revoke`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use app::backend::engine::DockerOptions;
use app::backend::state::{defaults, Settings};
use app::backend::store::Db;
use app::backend::{accounts, auth, store};
use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

use crate::config::{build_state, ProvisionerChoice, ServeOptions};
use app::backend::engine::EngineConfig;
use app::backend::store::NewAuditRecord;
use app::domain::{AuditAction, Quota, QuotaOverrides};

/// Self-hosted service for provisioning cloud workstations.
#[derive(Debug, Parser)]
#[command(name = "atelier", version, about)]
pub struct Cli {
    /// The database: `sqlite://PATH` (created if missing), or
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` for several instances.
    #[arg(
        long = "database",
        env = "DATABASE_URL",
        default_value = defaults::DATABASE_URL,
        // The URL may hold a password: `--help` does not print it.
        hide_env_values = true,
        global = true
    )]
    pub database_url: String,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; `serve` when none is given.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve(Box<ServeArgs>),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Set or show a user's or a project's quota.
    #[command(subcommand)]
    Quota(QuotaCommand),
    /// Print a user's or a project's usage in a month: running hours, CPU core-hours,
    /// memory GB-hours, GPU-hours and storage GB-days, per workstation and in total.
    Usage {
        #[command(flatten)]
        account: AccountArg,
        /// The month, `YYYY-MM` (default: this one).
        #[arg(long)]
        month: Option<String>,
    },
    /// Open a shell in a running workstation (a server's, by `ATELIER_URL`
    /// and `ATELIER_TOKEN`); exits with the shell's status.
    Shell {
        #[command(flatten)]
        remote: crate::remote::RemoteArgs,
        /// The workstation's name or id.
        workstation: String,
    },
    /// Run one command in a running workstation; prints its output and
    /// exits with its status.
    Exec {
        #[command(flatten)]
        remote: crate::remote::RemoteArgs,
        /// The workstation's name or id.
        workstation: String,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

/// `atelier quota …`
#[derive(Debug, Subcommand)]
pub enum QuotaCommand {
    /// Set some of a user's or a project's limits (the others keep their value).
    Set {
        #[command(flatten)]
        account: AccountArg,
        #[arg(long)]
        cpu_cores: Option<u32>,
        #[arg(long)]
        memory_gb: Option<u32>,
        #[arg(long)]
        gpus: Option<u32>,
        #[arg(long)]
        storage_gb: Option<u32>,
    },
    /// Show a user's or a project's own limits (empty = the server's default).
    Show {
        #[command(flatten)]
        account: AccountArg,
    },
}

/// `atelier project …`
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project with a user as its owner.
    Create {
        /// The project's name: letters, digits, `-` and `_`, starting with a letter.
        name: String,
        /// Its first owner (an existing user).
        #[arg(long)]
        owner: String,
    },
}

/// Whose quota or usage: a user's, or a project's (counted apart from its members').
#[derive(Debug, Args, Clone)]
#[group(required = true, multiple = false)]
pub struct AccountArg {
    /// The user.
    #[arg(long)]
    user: Option<String>,
    /// The project (its name or id).
    #[arg(long)]
    project: Option<String>,
}

/// Options of `atelier serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ATELIER_ADDR", default_value = defaults::ADDR)]
    pub addr: SocketAddr,
    /// A TOML catalog of GPU types, regions and ranges (default: built in).
    #[arg(long, env = "ATELIER_CATALOG")]
    pub catalog: Option<PathBuf>,
    /// The compiled site (wasm, JS, CSS, assets) built by cargo-leptos.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = defaults::SITE_ROOT)]
    pub site_root: String,
    /// Do not create the `demo` user and token when the database has no users.
    #[arg(long, env = "ATELIER_NO_DEMO_USER")]
    pub no_demo_user: bool,
    /// Mark the session cookie `Secure` (set this when serving over HTTPS).
    #[arg(long, env = "ATELIER_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// How long a browser session lasts, in hours.
    #[arg(long, env = "ATELIER_SESSION_HOURS", default_value_t = defaults::SESSION_HOURS)]
    pub session_hours: u64,
    /// Single sign-on: the OpenID Connect provider's issuer URL (its
    /// discovery document is at `/.well-known/openid-configuration` under it).
    #[arg(long, env = "ATELIER_OIDC_ISSUER", requires_all = ["oidc_client_id", "oidc_client_secret"])]
    pub oidc_issuer: Option<String>,
    /// Single sign-on: this service's client id at the provider.
    #[arg(long, env = "ATELIER_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// Single sign-on: this service's client secret at the provider.
    #[arg(long, env = "ATELIER_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// The provider's name on the sign-in page ("Sign in with NAME").
    #[arg(long, env = "ATELIER_OIDC_PROVIDER_NAME", default_value = "single sign-on")]
    pub oidc_provider_name: String,
    /// The ID token claim a new user's name comes from (`email`: its part before `@`).
    #[arg(long, env = "ATELIER_OIDC_USERNAME_CLAIM", default_value = "preferred_username", value_parser = ["preferred_username", "email", "sub"])]
    pub oidc_username_claim: String,
    /// The ID token claim that lists the user's groups.
    #[arg(long, env = "ATELIER_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,
    /// Only emails in these domains may sign in (comma-separated; default: any).
    #[arg(long, env = "ATELIER_OIDC_ALLOWED_DOMAINS", value_delimiter = ',')]
    pub oidc_allowed_domains: Vec<String>,
    /// Only members of one of these groups may sign in (comma-separated; default: any).
    #[arg(long, env = "ATELIER_OIDC_ALLOWED_GROUPS", value_delimiter = ',')]
    pub oidc_allowed_groups: Vec<String>,
    /// Where browsers reach this service (`https://atelier.example.com`), for
    /// the sign-on's redirect URI (`{URL}/auth/oidc/callback`); by default
    /// the address each request was sent to.
    #[arg(long, env = "ATELIER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Which provisioner runs jobs: `simulated`, `command`, or `docker`
    /// (containers on a Docker Engine API: Docker or Podman).
    #[arg(long, env = "ATELIER_PROVISIONER", default_value = "simulated", value_parser = ["simulated", "command", "docker"])]
    pub provisioner: String,
    /// The executable the `command` provisioner runs.
    #[arg(long, env = "ATELIER_PROVISIONER_COMMAND", required_if_eq("provisioner", "command"))]
    pub provisioner_command: Option<PathBuf>,
    /// Milliseconds the simulated provisioner spends in its phases: one
    /// number for all four, or four comma-separated (allocating,
    /// attaching-storage, booting, configuring).
    #[arg(long, env = "ATELIER_SIMULATED_PHASE_MS", default_value = defaults::SIMULATED_PHASE_MS, value_parser = parse_phase_ms)]
    pub simulated_phase_ms: PhaseDurations,
    /// How many provisioning jobs run at once.
    #[arg(long, env = "ATELIER_WORKERS", default_value_t = defaults::WORKERS)]
    pub workers: usize,
    /// Each user's total CPU cores unless set for them (`atelier quota set`).
    #[arg(long, env = "ATELIER_QUOTA_CPU_CORES", default_value_t = defaults::QUOTA_CPU_CORES)]
    pub quota_cpu_cores: u64,
    /// Each user's total memory in GB unless set for them.
    #[arg(long, env = "ATELIER_QUOTA_MEMORY_GB", default_value_t = defaults::QUOTA_MEMORY_GB)]
    pub quota_memory_gb: u64,
    /// Each user's number of GPUs (one per workstation) unless set for them.
    #[arg(long, env = "ATELIER_QUOTA_GPUS", default_value_t = defaults::QUOTA_GPUS)]
    pub quota_gpus: u64,
    /// Each user's total storage in GB unless set for them.
    #[arg(long, env = "ATELIER_QUOTA_STORAGE_GB", default_value_t = defaults::QUOTA_STORAGE_GB)]
    pub quota_storage_gb: u64,
    /// Event streams (`/v1/events`, a workstation's events) one user may hold
    /// open at once; one more is refused with 429.
    #[arg(long, env = "ATELIER_MAX_STREAMS_PER_USER", default_value_t = defaults::MAX_STREAMS_PER_USER)]
    pub max_streams_per_user: usize,
    /// API requests one token (or browser session) may make per minute; one
    /// more is refused with 429 until the minute is over. 0 turns it off.
    #[arg(long, env = "ATELIER_RATE_LIMIT_PER_MINUTE", default_value_t = defaults::RATE_LIMIT_PER_MINUTE)]
    pub rate_limit_per_minute: u32,
    /// A request that has not got its response within this many seconds is
    /// answered 503 (event streams answer at once, then stream).
    #[arg(long, env = "ATELIER_REQUEST_TIMEOUT_SECS", default_value_t = defaults::REQUEST_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_secs: u64,
    /// A job running longer than this many seconds is stopped and fails.
    #[arg(long, env = "ATELIER_JOB_TIMEOUT_SECS", default_value_t = defaults::JOB_TIMEOUT_SECS)]
    pub job_timeout_secs: u64,
    /// A running job's lease: renewed while the job runs, and taken over by
    /// another instance this many seconds after its instance stopped.
    #[arg(long, env = "ATELIER_JOB_LEASE_SECS", default_value_t = defaults::JOB_LEASE_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub job_lease_secs: u64,
    /// `docker`: the engine of regions without a host of their own in the
    /// catalog (`unix:///…` or `tcp://…`).
    #[arg(long, env = "DOCKER_HOST", default_value = defaults::DOCKER_HOST)]
    pub docker_host: String,
    /// `docker`: the workstation image, unless the catalog names one for its GPU type.
    #[arg(long, env = "ATELIER_WORKSTATION_IMAGE", default_value = defaults::WORKSTATION_IMAGE)]
    pub workstation_image: String,
    /// `docker`: a command (words split at spaces) run inside a started
    /// workstation until it succeeds: then it is ready.
    #[arg(long, env = "ATELIER_WORKSTATION_PROBE", default_value = defaults::WORKSTATION_PROBE)]
    pub workstation_probe: String,
    /// `docker`: how long the probe may keep failing, in seconds.
    #[arg(long, env = "ATELIER_PROBE_TIMEOUT_SECS", default_value_t = defaults::PROBE_TIMEOUT_SECS)]
    pub probe_timeout_secs: u64,
    /// `docker`: where each workstation's home volume is mounted.
    #[arg(long, env = "ATELIER_WORKSTATION_HOME", default_value = defaults::WORKSTATION_HOME)]
    pub workstation_home: String,
    /// `docker`: how long a stop waits for a workstation's processes before killing them, in seconds.
    #[arg(long, env = "ATELIER_STOP_TIMEOUT_SECS", default_value_t = defaults::STOP_TIMEOUT_SECS)]
    pub stop_timeout_secs: u64,
    /// `docker`: how often the engines are read to keep statuses true, in milliseconds.
    #[arg(long, env = "ATELIER_RECONCILE_MS", default_value_t = defaults::RECONCILE_MS, value_parser = clap::value_parser!(u64).range(100..))]
    pub reconcile_ms: u64,
    /// The shell a terminal (`/v1/workstations/{id}/terminal`, `atelier shell`) starts;
    /// by default the image's (`SHELL` in its environment), else `/bin/sh`.
    #[arg(long, env = "ATELIER_WORKSTATION_SHELL", default_value = defaults::WORKSTATION_SHELL)]
    pub workstation_shell: String,
    /// How long a terminal's shell keeps running after its last connection
    /// dropped, in seconds: a reconnect within it carries on.
    #[arg(long, env = "ATELIER_TERMINAL_KEEP_SECS", default_value_t = defaults::TERMINAL_KEEP_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub terminal_keep_secs: u64,
    /// The idle timeout a new workstation gets unless its create names one:
    /// it stops after this many seconds without activity (an open terminal,
    /// its keystrokes, `POST /v1/workstations/{id}/activity`); 0 is never.
    #[arg(long, env = "ATELIER_AUTO_STOP_IDLE_SECS", default_value_t = 0)]
    pub auto_stop_idle_secs: u64,
    /// The running timeout a new workstation gets unless its create names
    /// one: it stops after running this many seconds, active or not; 0 is never.
    #[arg(long, env = "ATELIER_AUTO_STOP_RUNNING_SECS", default_value_t = 0)]
    pub auto_stop_running_secs: u64,
    /// The shortest auto-stop timeout a workstation may be given (other than 0, never), in seconds.
    #[arg(long, env = "ATELIER_AUTO_STOP_MIN_SECS", default_value_t = defaults::AUTO_STOP_MIN_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub auto_stop_min_secs: u64,
    /// Warn this many seconds before an auto-stop (a fifth of a shorter timeout).
    #[arg(long, env = "ATELIER_AUTO_STOP_WARN_SECS", default_value_t = defaults::AUTO_STOP_WARN_SECS)]
    pub auto_stop_warn_secs: u64,
    /// Days the audit log keeps a record (trimmed hourly); 0 keeps them forever.
    #[arg(long, env = "ATELIER_AUDIT_RETENTION_DAYS", default_value_t = 0)]
    pub audit_retention_days: u32,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self::parse_from_defaults()
    }
}

impl ServeArgs {
    /// Single sign-on's settings, when an issuer is given.
    fn sign_on(&self) -> Option<app::backend::state::SignOnSettings> {
        let issuer = self.oidc_issuer.clone()?;
        let trimmed = |list: &[String]| -> Vec<String> {
            list.iter().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect()
        };
        Some(app::backend::state::SignOnSettings {
            issuer,
            client_id: self.oidc_client_id.clone().unwrap_or_default(),
            client_secret: self.oidc_client_secret.clone().unwrap_or_default(),
            provider_name: self.oidc_provider_name.clone(),
            username_claim: self.oidc_username_claim.clone(),
            groups_claim: self.oidc_groups_claim.clone(),
            allowed_domains: trimmed(&self.oidc_allowed_domains),
            allowed_groups: trimmed(&self.oidc_allowed_groups),
            public_url: self.public_url.as_ref().map(|u| u.trim_end_matches('/').to_owned()),
        })
    }

    fn parse_from_defaults() -> Self {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: ServeArgs,
        }
        Wrapper::parse_from(["atelier"]).args
    }
}

/// The simulator's time in each phase.
#[derive(Debug, Clone, Copy)]
pub struct PhaseDurations(pub [Duration; 4]);

fn parse_phase_ms(s: &str) -> Result<PhaseDurations, String> {
    let values: Vec<u64> = s
        .split(',')
        .map(|v| v.trim().parse::<u64>().map_err(|_| format!("{v:?} is not a number of milliseconds")))
        .collect::<Result<_, _>>()?;
    match values[..] {
        [all] => Ok(PhaseDurations([Duration::from_millis(all); 4])),
        [a, b, c, d] => Ok(PhaseDurations([a, b, c, d].map(Duration::from_millis))),
        _ => Err("give one number for all phases, or four separated by commas".into()),
    }
}

/// `atelier user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Create {
        /// The user's name: letters, digits, `-` and `_`.
        name: String,
        /// Make them an admin of the instance (they read the whole audit log).
        #[arg(long)]
        admin: bool,
    },
    /// Disable a user: their tokens stop working and their sessions end at
    /// once; their workstations and tokens are kept.
    Disable {
        /// The user's name.
        name: String,
    },
    /// Enable a disabled user again (their tokens work again).
    Enable {
        /// The user's name.
        name: String,
    },
    /// List users: admins, disabled ones, and how many live tokens each has.
    List,
}

/// `atelier token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it (only the token, on stdout). Creates
    /// the user if needed.
    Create {
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// A note to tell tokens apart.
        #[arg(long)]
        label: Option<String>,
        /// The token may only read (lists, details, event streams, history).
        #[arg(long)]
        read_only: bool,
        /// The token stops working this many days from now.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_in_days: Option<u32>,
        /// Limit the token to this project (name or id; the user must be a
        /// member): it acts there only, and creates there by default.
        #[arg(long)]
        project: Option<String>,
    },
    /// List tokens (never the tokens themselves: their prefixes).
    List {
        /// Only this user's tokens.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token, given in full or by the prefix `token list` shows.
    Revoke {
        /// The token, or its 12-character prefix.
        token: String,
    },
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A usage report as a table for a terminal.
fn usage_table(user: &str, report: &app::domain::UsageReport) -> String {
    use std::fmt::Write;
    let mut out = format!("Usage of {user} from {} to {}\n\n", report.from, report.to);
    let _ = writeln!(
        out,
        "{:<28} {:>10} {:>12} {:>12} {:>10} {:>16}  GPU",
        "WORKSTATION", "RUNNING H", "CPU CORE-H", "MEM GB-H", "GPU-H", "STORAGE GB-DAYS"
    );
    let mut row = |name: &str, t: &app::domain::UsageTotals| {
        let gpu_hours: f64 = t.gpu_hours.values().sum();
        let gpus: Vec<String> = t.gpu_hours.iter().map(|(g, h)| format!("{g} {h:.2} h")).collect();
        let _ = writeln!(
            out,
            "{name:<28} {:>10.2} {:>12.2} {:>12.2} {:>10.2} {:>16.2}  {}",
            t.running_hours,
            t.cpu_core_hours,
            t.memory_gb_hours,
            gpu_hours,
            t.storage_gb_days,
            gpus.join(", ")
        );
    };
    for w in &report.workstations {
        row(&w.name, &w.totals);
    }
    row("TOTAL", &report.total);
    out
}

fn init_tracing() {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_env("ATELIER_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // Machines read the log when it is not a terminal.
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().with_span_list(false).init();
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command.unwrap_or(Command::Serve(Box::default())) {
        Command::Serve(args) => serve(&cli.database_url, *args).await,
        Command::Shell { remote, workstation } => {
            let code = crate::remote::shell(&remote, &workstation).await?;
            std::process::exit(code);
        }
        Command::Exec { remote, workstation, command } => {
            let code = crate::remote::exec(&remote, &workstation, &command).await?;
            std::process::exit(code);
        }
        Command::User(UserCommand::Create { name, admin }) => {
            let pool = open(&cli.database_url).await?;
            auth::check_user_name(&name).map_err(|e| format!("user name {e}"))?;
            let user = accounts::create_user(&pool, &name, admin).await.map_err(|e| e.to_string())?;
            let what = if admin { "an admin of the instance" } else { "a user" };
            operator_did(&pool, AuditAction::UserCreate, &user.name, (user.id, false), what).await;
            eprintln!("created {what}, {}", user.name);
            Ok(())
        }
        Command::User(UserCommand::Disable { name }) => set_disabled(&cli.database_url, &name, true).await,
        Command::User(UserCommand::Enable { name }) => set_disabled(&cli.database_url, &name, false).await,
        Command::User(UserCommand::List) => {
            let pool = open(&cli.database_url).await?;
            let users = accounts::users(&pool).await.map_err(|e| e.to_string())?;
            println!("{:<24} {:<6} {:<9} {:>6}  created", "name", "admin", "state", "tokens");
            for u in users {
                let state = if u.disabled_at.is_some() { "disabled" } else { "active" };
                let admin = if u.admin { "yes" } else { "" };
                println!("{:<24} {:<6} {:<9} {:>6}  {}", u.name, admin, state, u.live_tokens, u.created_at);
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create { user, label, read_only, expires_in_days, project }) => {
            let pool = open(&cli.database_url).await?;
            if accounts::find_user(&pool, &user).await.map_err(|e| e.to_string())?.is_none() {
                auth::check_user_name(&user).map_err(|e| format!("user name {e}"))?;
            }
            let (user, created) =
                accounts::find_or_create_user(&pool, &user).await.map_err(|e| e.to_string())?;
            if created {
                operator_did(&pool, AuditAction::UserCreate, &user.name, (user.id, false), "a user").await;
                eprintln!("created user {}", user.name);
            }
            let scope = if read_only { auth::Scope::Read } else { auth::Scope::Full };
            let expires_in = expires_in_days.map(|d| Duration::from_secs(u64::from(d) * 86_400));
            let project = match &project {
                None => None,
                Some(reference) => {
                    let reference = app::domain::ProjectRef::parse(reference);
                    let caller = auth::Principal::from(user.clone());
                    let found = app::backend::access::project(
                        &pool,
                        &caller,
                        &reference,
                        app::domain::Permission::Read,
                    )
                    .await
                    .map_err(|e| match e {
                        app::backend::Error::NotFound(_) => {
                            format!("{} is not a member of a project {reference}", user.name)
                        }
                        e => e.to_string(),
                    })?;
                    Some(found.account.id)
                }
            };
            let issued = auth::issue_token_in(&pool, &user, label.as_deref(), scope, expires_in, project)
                .await
                .map_err(|e| e.to_string())?;
            let detail = format!(
                "for {}{}{}",
                user.name,
                if read_only { ", read-only" } else { "" },
                if project.is_some() { ", limited to one project" } else { "" }
            );
            let account = project.map_or((user.id, false), |id| (id, true));
            operator_did(&pool, AuditAction::TokenCreate, &issued.prefix, account, &detail).await;
            println!("{}", issued.token);
            Ok(())
        }
        Command::Token(TokenCommand::List { user }) => {
            let pool = open(&cli.database_url).await?;
            let tokens = accounts::tokens(&pool, user.as_deref()).await.map_err(|e| e.to_string())?;
            println!(
                "{:<14} {:<16} {:<6} {:<16} {:<26} {:<26} {:<26} {:<8} LABEL",
                "PREFIX", "USER", "SCOPE", "PROJECT", "CREATED", "LAST USED", "EXPIRES", "STATE"
            );
            for t in tokens {
                let state = accounts::token_state(&t).as_str();
                println!(
                    "{:<14} {:<16} {:<6} {:<16} {:<26} {:<26} {:<26} {:<8} {}",
                    t.prefix,
                    t.user_name,
                    t.scope,
                    t.project_name.as_deref().unwrap_or("-"),
                    t.created_at,
                    t.last_used_at.as_deref().unwrap_or("never"),
                    t.expires_at.as_deref().unwrap_or("never"),
                    state,
                    t.label.as_deref().unwrap_or(""),
                );
            }
            Ok(())
        }
        Command::Quota(QuotaCommand::Set { account, cpu_cores, memory_gb, gpus, storage_gb }) => {
            let pool = open(&cli.database_url).await?;
            let user = existing_account(&pool, &account).await?;
            let overrides = QuotaOverrides {
                cpu_cores: cpu_cores.map(u64::from),
                memory_gb: memory_gb.map(u64::from),
                gpus: gpus.map(u64::from),
                storage_gb: storage_gb.map(u64::from),
            };
            if overrides.is_empty() {
                return Err("give at least one of --cpu-cores, --memory-gb, --gpus, --storage-gb".into());
            }
            accounts::set_quota(&pool, &user, overrides).await.map_err(|e| e.to_string())?;
            let detail = [
                ("cpuCores", overrides.cpu_cores),
                ("memoryGB", overrides.memory_gb),
                ("gpus", overrides.gpus),
                ("storageGB", overrides.storage_gb),
            ]
            .iter()
            .filter_map(|(field, value)| value.map(|v| format!("{field}={v}")))
            .collect::<Vec<_>>()
            .join(" ");
            let account_kind = (user.id, account.project.is_some());
            operator_did(&pool, AuditAction::QuotaSet, &user.name, account_kind, &detail).await;
            eprintln!("quota of {} updated", user.name);
            Ok(())
        }
        Command::Usage { account, month } => {
            let pool = open(&cli.database_url).await?;
            let user = existing_account(&pool, &account).await?;
            let (from, to) = match &month {
                Some(month) => app::domain::usage::month_bounds(month)
                    .ok_or_else(|| format!("--month must be YYYY-MM, like 2026-11 (got {month:?})"))?,
                None => app::backend::usage::this_month(),
            };
            let report =
                app::backend::usage::report(&pool, &user, from, to, None).await.map_err(|e| e.to_string())?;
            print!("{}", usage_table(&user.name, &report));
            Ok(())
        }
        Command::Project(ProjectCommand::Create { name, owner }) => {
            let pool = open(&cli.database_url).await?;
            let owner = existing_user(&pool, &owner).await?;
            let name = app::domain::ProjectName::parse(&name).map_err(|e| format!("project name {e}"))?;
            let project = app::backend::projects::create(&pool, &auth::Principal::from(owner.clone()), &name)
                .await
                .map_err(|e| match e {
                    app::backend::Error::Conflict(field) => field.detail,
                    e => e.to_string(),
                })?;
            let detail = format!("{} owned by {}", project.name, owner.name);
            operator_did(
                &pool,
                AuditAction::ProjectCreate,
                &project.id.to_string(),
                (project.id, true),
                &detail,
            )
            .await;
            eprintln!("created project {} (id {}) owned by {}", project.name, project.id, owner.name);
            Ok(())
        }
        Command::Quota(QuotaCommand::Show { account }) => {
            let pool = open(&cli.database_url).await?;
            let user = existing_account(&pool, &account).await?;
            let own = accounts::quota_overrides(&pool, &user).await.map_err(|e| e.to_string())?;
            let show = |v: Option<u64>| v.map_or_else(|| "default".to_owned(), |n| n.to_string());
            println!("cpuCores  {}", show(own.cpu_cores));
            println!("memoryGB  {}", show(own.memory_gb));
            println!("gpus      {}", show(own.gpus));
            println!("storageGB {}", show(own.storage_gb));
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { token }) => {
            let pool = open(&cli.database_url).await?;
            match auth::revoke_token(&pool, &token).await.map_err(|e| e.to_string())? {
                None => {
                    Err("give a whole token (atl_…) or the 12-character prefix `atelier token list` shows"
                        .into())
                }
                Some(0) => Err("no active token matches".into()),
                Some(n) => {
                    let prefix: String = token.trim().chars().take(auth::SHOWN_PREFIX_LEN).collect();
                    let detail = format!("{n} token(s)");
                    app::backend::audit::record_now(
                        &pool,
                        NewAuditRecord {
                            credential: app::backend::audit::CLI_CREDENTIAL.to_owned(),
                            action: Some(AuditAction::TokenRevoke),
                            object: Some(("token".to_owned(), prefix)),
                            outcome: Some(app::domain::Outcome::Succeeded),
                            detail: Some(detail),
                            ..NewAuditRecord::default()
                        },
                    )
                    .await;
                    eprintln!("revoked {n} token(s)");
                    Ok(())
                }
            }
        }
    }
}

/// `atelier user disable|enable NAME`.
async fn set_disabled(database_url: &str, name: &str, disable: bool) -> Result<(), String> {
    let pool = open(database_url).await?;
    let user = existing_user(&pool, name).await?;
    accounts::set_disabled(&pool, &user, disable).await.map_err(|e| e.to_string())?;
    let (action, done) =
        if disable { (AuditAction::UserDisable, "disabled") } else { (AuditAction::UserEnable, "enabled") };
    operator_did(&pool, action, &user.name, (user.id, false), done).await;
    eprintln!("{done} {}", user.name);
    Ok(())
}

/// Records a change an operator made with a command on the server.
async fn operator_did(pool: &Db, action: AuditAction, object: &str, account: (i64, bool), detail: &str) {
    app::backend::audit::record_now(
        pool,
        NewAuditRecord {
            credential: app::backend::audit::CLI_CREDENTIAL.to_owned(),
            action: Some(action),
            object: Some((action.object_kind().to_owned(), object.to_owned())),
            account_id: Some(account.0),
            project_id: Some(account.0).filter(|_| account.1),
            outcome: Some(app::domain::Outcome::Succeeded),
            detail: Some(detail.to_owned()),
            ..NewAuditRecord::default()
        },
    )
    .await;
}

/// The user named `name`, or an error saying there is none.
async fn existing_user(pool: &Db, name: &str) -> Result<app::backend::store::User, String> {
    accounts::find_user(pool, name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user named {name:?}"))
}

/// The user or project an [`AccountArg`] names, or an error saying there is none.
async fn existing_account(pool: &Db, account: &AccountArg) -> Result<app::backend::store::User, String> {
    match (&account.user, &account.project) {
        (Some(user), _) => existing_user(pool, user).await,
        (None, Some(project)) => app::backend::projects::find_for_operator(pool, project)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no project named {project:?}")),
        (None, None) => Err("give --user or --project".into()),
    }
}

async fn open(url: &str) -> Result<Db, String> {
    store::connect(url)
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", store::without_password(url)))
}

impl ServeArgs {
    /// The server's settings, from these flags (and their environment variables).
    pub fn options(&self, database_url: &str) -> ServeOptions {
        let args = self;
        ServeOptions {
            addr: args.addr,
            database_url: database_url.to_owned(),
            catalog: args.catalog.clone(),
            site_root: args.site_root.clone(),
            settings: Settings {
                secure_cookies: args.secure_cookies,
                session_ttl: Duration::from_secs(args.session_hours.saturating_mul(3600)),
                default_quota: Quota {
                    cpu_cores: args.quota_cpu_cores,
                    memory_gb: args.quota_memory_gb,
                    gpus: args.quota_gpus,
                    storage_gb: args.quota_storage_gb,
                },
                max_streams_per_user: args.max_streams_per_user,
                rate_limit_per_minute: args.rate_limit_per_minute,
                request_timeout: Duration::from_secs(args.request_timeout_secs),
                shell: args.workstation_shell.clone(),
                auto_stop: app::backend::auto_stop::AutoStopPolicy {
                    idle_secs: args.auto_stop_idle_secs,
                    running_secs: args.auto_stop_running_secs,
                    min_secs: args.auto_stop_min_secs,
                    warn_secs: args.auto_stop_warn_secs,
                },
                audit_retention_days: args.audit_retention_days,
                sign_on: args.sign_on(),
            },
            engine: EngineConfig {
                workers: args.workers.max(1),
                job_timeout: Duration::from_secs(args.job_timeout_secs.max(1)),
                lease: Duration::from_secs(args.job_lease_secs),
                ..EngineConfig::default()
            },
            terminal_keep: Duration::from_secs(args.terminal_keep_secs),
            provisioner: match (args.provisioner.as_str(), &args.provisioner_command) {
                ("command", Some(program)) => ProvisionerChoice::Command { program: program.clone() },
                ("docker", _) => ProvisionerChoice::Docker(DockerOptions {
                    default_host: args.docker_host.clone(),
                    image: args.workstation_image.clone(),
                    probe: args.workstation_probe.split_whitespace().map(str::to_owned).collect(),
                    probe_timeout: Duration::from_secs(args.probe_timeout_secs),
                    stop_timeout: Duration::from_secs(args.stop_timeout_secs),
                    home: args.workstation_home.clone(),
                    reconcile_every: Duration::from_millis(args.reconcile_ms),
                }),
                _ => ProvisionerChoice::Simulated { phases: args.simulated_phase_ms.0 },
            },
        }
    }
}

async fn serve(database_url: &str, args: ServeArgs) -> Result<(), String> {
    let state = build_state(&args.options(database_url)).await.map_err(|e| e.to_string())?;
    let listener =
        TcpListener::bind(args.addr).await.map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let url = format!("http://{addr}/");

    if !args.no_demo_user && !accounts::has_users(&state.pool).await.map_err(|e| e.to_string())? {
        let user = accounts::create_user(&state.pool, "demo", true).await.map_err(|e| e.to_string())?;
        let issued = auth::issue_token(&state.pool, &user, Some("demo")).await.map_err(|e| e.to_string())?;
        println!("Created user `demo`. Its API token (shown only now):\n\n    {}\n", issued.token);
        println!("Sign in at {url} with it, or call the API:\n");
        println!("    curl -H 'Authorization: Bearer {}' {url}v1/workstations\n", issued.token);
    }
    println!("Atelier is listening on {url}");
    tracing::info!(%addr, "listening");
    let (pool, engine) = (state.pool.clone(), state.engine.clone());
    crate::serve(listener, state, shutdown_signal()).await.map_err(|e| e.to_string())?;
    // Jobs get a little time to finish; any still running start again next time.
    let unfinished = engine.stop(Duration::from_secs(10)).await;
    if unfinished > 0 {
        tracing::warn!(jobs = unfinished, "stopped with jobs running; they resume at the next start");
    }
    // Requests are done and streams closed: fold SQLite's write-ahead log
    // into the database file, so a stopped server leaves one complete file.
    if let Err(e) = pool.checkpoint().await {
        tracing::warn!(error = %e, "cannot checkpoint the database at shutdown");
    }
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
