//! `make bench`: Atelier's release server against a bare floor, over loopback,
//! driven by `wrk`. Prints each figure with what produced it; BENCHMARKS.md
//! holds a run's output.
//!
//! The floor is the least a create can do: an axum handler that parses the
//! same JSON and inserts one row with the same pool settings; no auth, no
//! validation, no job, no event. It runs twice: `synchronous=NORMAL` (not
//! power-safe) and `FULL` (what Atelier promises: a `201` is on disk).
//!
//! `BENCH_DATABASE=postgres://…` runs everything on PostgreSQL instead (an
//! empty database there; `make bench DATABASE=postgres` starts one): the
//! floor then inserts into PostgreSQL with `synchronous_commit` off (the
//! NORMAL row) and on (FULL, PostgreSQL's default, what Atelier runs with).
//!
//! One file on purpose: a bench target is one binary, and its parts (the
//! floors, the wrk runs, the stream fan-out, the report) are read top to
//! bottom as one script; splitting it would scatter that order.
//!
//! Environment: `ATELIER_BIN` (default `target/release/atelier`),
//! `BENCH_SECONDS` per wrk run (default 10), `BENCH_SUBSCRIBERS` (10,000,
//! fewer when the descriptor limit does not allow them, and then it says so),
//! `BENCH_DATABASE` (default: SQLite files in a temporary directory),
//! `BENCH_PARTS` (default `create,list,streams,page`: which parts to run).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use app::backend::store;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

const LEVELS: [u32; 3] = [1, 16, 64];

/// One wrk run's figures.
#[derive(Debug, Clone, Default)]
struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    errors: u64,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(bench());
}

async fn bench() {
    // Paths below are the workspace's, whatever directory cargo runs this in.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace");
    std::env::set_current_dir(root).expect("the workspace root");
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let wanted: usize = env_or("BENCH_SUBSCRIBERS", 10_000);
    let subscribers = fit_descriptors(wanted);
    let bin = PathBuf::from(std::env::var("ATELIER_BIN").unwrap_or_else(|_| "target/release/atelier".into()));
    assert!(bin.exists(), "build the release server first ({} is missing): make bench does", bin.display());
    let dir = tempfile::tempdir().unwrap();
    let postgres = std::env::var("BENCH_DATABASE").ok().filter(|url| !url.is_empty());
    let parts = std::env::var("BENCH_PARTS").unwrap_or_else(|_| "create,list,streams,page".into());
    let part = |name: &str| parts.split(',').any(|p| p.trim() == name);
    let script = dir.path().join("create.lua");
    std::fs::write(&script, CREATE_LUA).unwrap();

    println!("# Atelier benchmarks\n");
    println!("- machine: {}", machine());
    println!("- load: wrk {}, {seconds} s per run, over 127.0.0.1", wrk_version());
    println!("- create body: one workstation (NVIDIA L4, us-east-1), a unique name per request");
    println!("- parts run: {parts}");
    let (soft, hard) = descriptor_limits();
    println!("- open descriptors allowed: {soft} (hard limit {hard}); this process and the server each hold one per stream");
    if subscribers < wanted {
        println!(
            "- **scaled down**: {subscribers} event streams instead of {wanted}, to fit the descriptor limit \
             (raise the hard limit, `ulimit -Hn`, to run them all)"
        );
    }
    match &postgres {
        Some(_) => println!(
            "- database: PostgreSQL {}, on the same machine\n",
            postgres_version(postgres.as_deref()).await
        ),
        None => println!("- database: SQLite (WAL), a file on local disk\n"),
    }

    // Atelier, as `make run` builds it.
    let server = Atelier::start(&bin, dir.path(), postgres.as_deref(), subscribers).await;
    if part("create") {
        // The floors, in this process.
        let mut floors = Vec::new();
        for (label, durable) in [("floor NORMAL", false), ("floor FULL", true)] {
            let url = match &postgres {
                Some(url) => format!("http://{}", floor_postgres(url, durable).await),
                None => {
                    let sync = if durable { SqliteSynchronous::Full } else { SqliteSynchronous::Normal };
                    format!("http://{}", floor(dir.path(), label, sync).await)
                }
            };
            let mut runs = Vec::new();
            for c in LEVELS {
                runs.push(wrk(&url, "/floor", &script, None, c, seconds).await);
            }
            floors.push((label, runs));
        }

        let mut atelier = Vec::new();
        for c in LEVELS {
            atelier
                .push(wrk(&server.url, "/v1/workstations", &script, Some(&server.token), c, seconds).await);
        }

        println!("## Create: `POST` one workstation\n");
        println!("| server | connections | requests/s | p50 ms | p99 ms | non-2xx | socket errors |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let rows = floors.iter().map(|(l, r)| (*l, r)).chain([("Atelier (FULL)", &atelier)]);
        for (label, runs) in rows {
            for (c, r) in LEVELS.iter().zip(runs.iter()) {
                println!(
                    "| {label} | {c} | {:.0} | {:.2} | {:.2} | {} | {} |",
                    r.rps, r.p50_ms, r.p99_ms, r.non_2xx, r.errors
                );
            }
        }
        println!();
        for (i, c) in LEVELS.iter().enumerate() {
            let a = &atelier[i];
            let (normal, full) = (&floors[0].1[i], &floors[1].1[i]);
            println!(
                "- {c} connections: Atelier / floor NORMAL = {:.2}× throughput, p99 {:.2}×; Atelier / floor FULL = {:.2}× throughput, p99 {:.2}×",
                a.rps / normal.rps,
                a.p99_ms / normal.p99_ms,
                a.rps / full.rps,
                a.p99_ms / full.p99_ms
            );
        }
    }

    if part("list") {
        // A page of the list for users with 1,000, 100,000 and 1,000,000
        // workstations, each seeded straight into the database first; then
        // the three in turn, round after round, so that the machine's drift
        // over the minute (throughput moved by 15 % between runs on one
        // size here) moves every size alike. Each size's figures are the
        // medians of its rounds.
        const ROUNDS: usize = 3;
        println!("\n## List: `GET /v1/workstations` (one page of 50), 16 connections\n");
        println!(
            "{ROUNDS} rounds of {seconds} s, the sizes in turn in each round; medians of the rounds, and each round's p99\n"
        );
        println!(
            "| the user's workstations | requests/s | p50 ms | p99 ms | p99 ms by round | non-2xx | p99 / p99 at 100,000 |"
        );
        println!("|---:|---:|---:|---:|---|---:|---:|");
        let sizes = [1_000, 100_000, 1_000_000];
        let mut tokens = Vec::new();
        for rows in sizes {
            let started = Instant::now();
            tokens.push(server.seeded_user(&bin, &format!("rows{rows}"), rows).await);
            eprintln!("seeded {rows} workstations in {:.1} s", started.elapsed().as_secs_f64());
        }
        let none = dir.path().join("none.lua");
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); sizes.len()];
        for _ in 0..ROUNDS {
            for (token, size_runs) in tokens.iter().zip(&mut runs) {
                size_runs.push(wrk(&server.url, "/v1/workstations", &none, Some(token), 16, seconds).await);
            }
        }
        let median = |runs: &[Run], figure: fn(&Run) -> f64| {
            let mut values: Vec<f64> = runs.iter().map(figure).collect();
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        let middle = median(&runs[1], |r| r.p99_ms);
        for (rows, size_runs) in sizes.iter().zip(&runs) {
            let p99 = median(size_runs, |r| r.p99_ms);
            let by_round: Vec<String> = size_runs.iter().map(|r| format!("{:.2}", r.p99_ms)).collect();
            println!(
                "| {rows} | {:.0} | {:.2} | {p99:.2} | {} | {} | {:.2} |",
                median(size_runs, |r| r.rps),
                median(size_runs, |r| r.p50_ms),
                by_round.join(" / "),
                size_runs.iter().map(|r| r.non_2xx).sum::<u64>(),
                p99 / middle
            );
        }
    }

    if part("streams") {
        let before_streams = server.rss_mb();
        let fan = server.fan_out(subscribers).await;
        println!("\n## Fan-out: {subscribers} subscribers on `/v1/events`\n");
        println!(
            "From sending a create to each subscriber's receipt of its first event: p50 {:.1} ms, p99 {:.1} ms \
             ({} of {} deliveries)",
            fan.p50_ms, fan.p99_ms, fan.received, fan.expected
        );
        println!(
            "\nServer RSS: {before_streams:.1} MB before the streams opened, {:.1} MB with all {subscribers} open \
             ({:.1} KB per stream)",
            fan.rss_open_mb,
            (fan.rss_open_mb - before_streams) * 1024.0 / subscribers.max(1) as f64
        );
    }

    println!("\n## Memory and size\n");
    println!("- server peak RSS (VmHWM) after all of the above: {:.1} MB", server.peak_rss_mb());
    let wasm = Path::new("target/site/pkg/atelier.wasm");
    match std::fs::read(wasm) {
        Ok(bytes) => println!(
            "- release wasm: {} bytes raw, {} bytes gzipped (gzip -9)",
            bytes.len(),
            gzipped_len(wasm)
        ),
        Err(_) => println!("- release wasm: not built ({} missing)", wasm.display()),
    }
    if part("page") {
        // A user as people have them: 50 workstations (the bench user holds
        // tens of thousands, which is the list's figure above, not the page's).
        let page_user = server.user_with(&bin, "page", 50).await;
        match hydrate_ms(&server.url, &page_user) {
            Some((in_page, outside, cards)) => println!(
                "- time to the hydrated home page of a user with 50 workstations ({cards:.0} on its first page), \
                 signed in, in headless Chromium, median of 9 loads: {in_page:.0} ms in the page (from the \
                 navigation's start to the app's `atelier:hydrated` mark, the list shown); {outside:.0} ms seen \
                 from Playwright (from asking for the page to reading the mark back, its own messages included)"
            ),
            None => println!("- time to hydrated page: not measured (no Chromium or Playwright)"),
        }
    }
    drop(server);
}

/// This process's descriptor limits (soft, hard), from `/proc/self/limits`.
/// `make bench` raises the soft one to the hard one before it starts.
fn descriptor_limits() -> (usize, usize) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap_or_default();
    let mut numbers = line.split_whitespace().filter_map(|w| w.parse::<usize>().ok());
    let soft = numbers.next().unwrap_or(1024);
    (soft, numbers.next().unwrap_or(soft))
}

/// How many event streams fit: each takes a descriptor here and one in the
/// server (which inherits this limit), and each side keeps a few hundred
/// for its database, wrk's runs and the rest.
fn fit_descriptors(wanted: usize) -> usize {
    wanted.min(descriptor_limits().0.saturating_sub(512))
}

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned()))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cores} cores ({cpu}), {mem:.0} GiB")
}

fn wrk_version() -> String {
    let out = Command::new("wrk").arg("--version").output();
    out.ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .split_whitespace()
                .nth(1)
                .unwrap_or("?")
                .to_owned()
        })
        .unwrap_or_else(|| "?".into())
}

/// Unique names per request: thread number and a counter.
const CREATE_LUA: &str = r#"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
local run = "0"
function init(args)
  -- A run id from the harness, so names never repeat across runs.
  run = args[1] or "0"
end
function request()
  n = n + 1
  local body = string.format('{"name":"b%s-%d-%d","configuration":{"cpuCores":1,"memoryGB":1,"gpu":"NVIDIA L4","storageGB":16,"region":"us-east-1"}}', run, tid, n)
  return wrk.format("POST", nil, nil, body)
end
"#;

/// Runs wrk and reads its figures.
async fn wrk(
    base: &str,
    path: &str,
    script: &Path,
    token: Option<&str>,
    connections: u32,
    seconds: u64,
) -> Run {
    let mut cmd = tokio::process::Command::new("wrk");
    cmd.args([
        "-t",
        &connections.min(2).to_string(),
        "-c",
        &connections.to_string(),
        "-d",
        &format!("{seconds}s"),
        "--latency",
    ])
    .args(["-H", "Content-Type: application/json"]);
    if let Some(token) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    if script.exists() {
        cmd.arg("-s").arg(script);
    }
    cmd.arg(format!("{base}{path}"));
    // The script's run id: distinct for every run of this process and the next.
    let run = format!(
        "{}x{connections}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
    );
    cmd.args(["--", &run]);
    let out = cmd.output().await.expect("wrk runs (make bench installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    parse_wrk(&text).unwrap_or_else(|| {
        panic!("cannot read wrk's output:\n{text}\n{}", String::from_utf8_lossy(&out.stderr))
    })
}

fn parse_wrk(text: &str) -> Option<Run> {
    let ms = |s: &str| -> Option<f64> {
        let s = s.trim();
        let (num, factor) = if let Some(v) = s.strip_suffix("us") {
            (v, 0.001)
        } else if let Some(v) = s.strip_suffix("ms") {
            (v, 1.0)
        } else if let Some(v) = s.strip_suffix('s') {
            (v, 1000.0)
        } else {
            (s, 1.0)
        };
        num.parse::<f64>().ok().map(|n| n * factor)
    };
    let mut run = Run::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => run.p50_ms = ms(v)?,
            ["99%", v] => run.p99_ms = ms(v)?,
            ["Requests/sec:", v] => run.rps = v.parse().ok()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => run.non_2xx = n.parse().ok()?,
            ["Socket", "errors:", rest @ ..] => {
                run.errors = rest.iter().filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok()).sum();
            }
            _ => {}
        }
    }
    (run.rps > 0.0).then_some(run)
}

#[derive(Deserialize)]
#[allow(dead_code)] // parsed like Atelier parses, then stored as a whole
struct FloorBody {
    name: String,
    configuration: FloorConfiguration,
}

#[derive(Deserialize, serde::Serialize)]
#[allow(non_snake_case)]
struct FloorConfiguration {
    cpuCores: u32,
    memoryGB: u32,
    gpu: String,
    storageGB: u32,
    region: String,
}

/// A floor's answer: `201` with the new row, or `500` for a failed insert,
/// so wrk counts it instead of a fast success.
fn floor_answer(inserted: Result<i64, sqlx::Error>, name: String) -> (StatusCode, Json<serde_json::Value>) {
    match inserted {
        Ok(id) => (
            StatusCode::CREATED,
            Json(serde_json::json!({ "id": id, "name": name, "status": "provisioning" })),
        ),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(serde_json::json!({ "error": e.to_string() }))),
    }
}

/// Starts a floor server; returns its address.
async fn floor(dir: &Path, label: &str, sync: SqliteSynchronous) -> std::net::SocketAddr {
    let file = dir.join(format!("{}.db", label.replace(' ', "-")));
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", file.display()))
        .unwrap()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(sync)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await.unwrap();
    sqlx::query(
        "CREATE TABLE workstations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, configuration TEXT NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    async fn create(
        State(pool): State<sqlx::SqlitePool>,
        Json(body): Json<FloorBody>,
    ) -> (StatusCode, Json<serde_json::Value>) {
        let configuration = serde_json::to_string(&body.configuration).unwrap_or_default();
        let inserted: Result<i64, _> =
            sqlx::query_scalar("INSERT INTO workstations (name, configuration) VALUES (?, ?) RETURNING id")
                .bind(&body.name)
                .bind(&configuration)
                .fetch_one(&pool)
                .await;
        floor_answer(inserted, body.name)
    }
    let app = Router::new().route("/floor", post(create)).with_state(pool);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Starts a floor server on PostgreSQL (a table of its own in `url`'s
/// database), with commits waiting for the disk (`durable`) or not.
async fn floor_postgres(url: &str, durable: bool) -> std::net::SocketAddr {
    let table = format!("floor_{}", if durable { "full" } else { "normal" });
    let options = PgConnectOptions::from_str(url)
        .unwrap()
        .options([("synchronous_commit", if durable { "on" } else { "off" })]);
    let pool = PgPoolOptions::new().max_connections(16).connect_with(options).await.unwrap();
    sqlx::query(&format!(
        "CREATE TABLE {table} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL, configuration TEXT NOT NULL)"
    ))
    .execute(&pool)
    .await
    .unwrap();
    async fn create(
        State((pool, table)): State<(sqlx::PgPool, String)>,
        Json(body): Json<FloorBody>,
    ) -> (StatusCode, Json<serde_json::Value>) {
        let configuration = serde_json::to_string(&body.configuration).unwrap_or_default();
        let inserted: Result<i64, _> = sqlx::query_scalar(&format!(
            "INSERT INTO {table} (name, configuration) VALUES ($1, $2) RETURNING id"
        ))
        .bind(&body.name)
        .bind(&configuration)
        .fetch_one(&pool)
        .await;
        floor_answer(inserted, body.name)
    }
    let app = Router::new().route("/floor", post(create)).with_state((pool, table));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The PostgreSQL server's version.
async fn postgres_version(url: Option<&str>) -> String {
    let Some(url) = url else { return String::new() };
    let pool = PgPoolOptions::new().max_connections(1).connect(url).await.unwrap();
    let version: String = sqlx::query_scalar("SHOW server_version").fetch_one(&pool).await.unwrap();
    pool.close().await;
    version
}

/// The release server on a fresh database.
struct Atelier {
    child: Child,
    url: String,
    addr: String,
    token: String,
    db: String,
}

impl Atelier {
    async fn start(bin: &Path, dir: &Path, postgres: Option<&str>, subscribers: usize) -> Self {
        let db = match postgres {
            Some(url) => url.to_owned(),
            None => format!("sqlite://{}", dir.join("atelier.db").display()),
        };
        let token = new_token(bin, &db, "bench");
        let catalog = dir.join("catalog.toml");
        let toml = include_str!("../../app/catalog.toml").replace("default = 16", "default = 100000000");
        std::fs::write(&catalog, toml).unwrap();
        let streams = (subscribers + 10).to_string();
        #[rustfmt::skip]
        let mut child = Command::new(bin)
            .args(["--database", &db, "serve", "--addr", "127.0.0.1:0", "--no-demo-user", "--site-root", "target/site",
                "--catalog", catalog.to_str().unwrap(),
                // Jobs stay queued: the figures are the API's, not the simulator's.
                "--workers", "1", "--simulated-phase-ms", "600000",
                "--rate-limit-per-minute", "0", "--max-streams-per-user", &streams,
                "--quota-gpus", "100000000", "--quota-cpu-cores", "100000000",
                "--quota-memory-gb", "100000000", "--quota-storage-gb", "100000000000"])
            .env("ATELIER_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("the server prints its address").unwrap();
            if let Some(rest) = line.trim().strip_prefix("Atelier is listening on http://") {
                break rest.trim_end_matches('/').to_owned();
            }
        };
        Self { child, url: format!("http://{addr}"), addr, token, db }
    }

    /// A new user with `n` workstations; their token.
    async fn user_with(&self, bin: &Path, name: &str, n: usize) -> String {
        let token = new_token(bin, &self.db, name);
        for i in 0..n {
            let body = format!(
                r#"{{"name":"{name}-{i}","configuration":{{"cpuCores":1,"memoryGB":1,"gpu":"NVIDIA L4","storageGB":16,"region":"us-east-1"}}}}"#
            );
            let (status, created) = request(&self.addr, "POST", "/v1/workstations", &token, &body).await;
            assert_eq!(status, 201, "{created}");
        }
        token
    }

    /// A new user with `rows` workstations written straight into the
    /// database in one statement (the usage triggers run as for any insert);
    /// their token.
    async fn seeded_user(&self, bin: &Path, name: &str, rows: i64) -> String {
        let token = new_token(bin, &self.db, name);
        // The same statement on both backends: a recursive count, not
        // PostgreSQL's generate_series. On PostgreSQL in slices of 500, for
        // servers before migration postgres 0012: their usage triggers update
        // one totals row per insert, and within one transaction each update
        // walks the row's earlier versions (a single statement of 100,000
        // rows took over two minutes).
        let sql = "WITH RECURSIVE n(i) AS (SELECT CAST($3 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < $1)
            INSERT INTO workstations (id, owner_id, name, cpu_cores, memory_gb, gpu, storage_gb, region, status)
            SELECT 'ws-' || $2 || '-' || i, (SELECT id FROM users WHERE name = $2), $2 || '-' || i,
                   1, 1, 'NVIDIA L4', 16, 'us-east-1', 'stopped'
            FROM n";
        let slice = if self.db.starts_with("postgres") { 500 } else { rows };
        let db = store::connect(&self.db).await.unwrap();
        let mut inserted = 0;
        for first in (1..=rows).step_by(slice as usize) {
            let last = (first + slice - 1).min(rows);
            inserted += app::on_pool!(&db, |pool, d| sqlx::query(sql)
                .bind(last)
                .bind(name)
                .bind(first)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))
            .unwrap();
        }
        db.close().await;
        assert_eq!(inserted, rows as u64, "seeded {name}");
        token
    }

    /// Opens `n` subscribers, sends creates one at a time, and measures the
    /// time from each create's send to each subscriber's receipt, and the
    /// server's memory while they are all open.
    async fn fan_out(&self, n: usize) -> FanOut {
        let creates = 20;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
        let newest = scalar(&self.db, "SELECT MAX(id) FROM events").await;
        let mut readers = Vec::new();
        for _ in 0..n {
            let mut stream = tokio::net::TcpStream::connect(&self.addr).await.unwrap();
            // From the newest event on: only the creates below arrive.
            let head = format!(
                "GET /v1/events?lastEventId={} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nAccept: text/event-stream\r\n\r\n",
                newest, self.addr, self.token
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            let tx = tx.clone();
            readers.push(tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stream).lines();
                let mut seen = std::collections::HashSet::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(data) = line.strip_prefix("data:") {
                        if let Some(ws) =
                            data.split("\"workstationId\":\"").nth(1).and_then(|r| r.split('"').next())
                        {
                            // A create's first event; its later ones are not counted.
                            if seen.insert(ws.to_owned()) {
                                let _ = tx.send((ws.to_owned(), Instant::now()));
                            }
                        }
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(2)).await; // all connected
        let rss_open_mb = self.rss_mb();
        let mut sent = std::collections::HashMap::new();
        for i in 0..creates {
            let body = format!(
                r#"{{"name":"fan-{i}-{}","configuration":{{"cpuCores":1,"memoryGB":1,"gpu":"NVIDIA L4","storageGB":16,"region":"us-east-1"}}}}"#,
                std::process::id()
            );
            let at = Instant::now();
            let (status, created) = request(&self.addr, "POST", "/v1/workstations", &self.token, &body).await;
            assert_eq!(status, 201, "{created}");
            let id = created.split("\"id\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
            sent.insert(id, at);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        drop(tx);
        for r in &readers {
            r.abort();
        }
        let mut delays = Vec::new();
        while let Ok((ws, at)) = rx.try_recv() {
            if let Some(sent_at) = sent.get(&ws) {
                delays.push(at.duration_since(*sent_at).as_secs_f64() * 1000.0);
            }
        }
        delays.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            delays
                .get(((delays.len() as f64 * p) as usize).min(delays.len().saturating_sub(1)))
                .copied()
                .unwrap_or(f64::NAN)
        };
        FanOut {
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            received: delays.len(),
            expected: n * creates,
            rss_open_mb,
        }
    }

    /// The server's resident memory now (VmRSS), in MB.
    fn rss_mb(&self) -> f64 {
        self.status_mb("VmRSS:")
    }

    /// The most the server has held resident (VmHWM), in MB.
    fn peak_rss_mb(&self) -> f64 {
        self.status_mb("VmHWM:")
    }

    fn status_mb(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

/// A token for `user` (made with them if new), from the CLI.
fn new_token(bin: &Path, db: &str, user: &str) -> String {
    let out = Command::new(bin).args(["--database", db, "token", "create", "--user", user]).output().unwrap();
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(token.starts_with("atl_"), "no token for {user}: {}", String::from_utf8_lossy(&out.stderr));
    token
}

/// What a fan-out measured.
struct FanOut {
    p50_ms: f64,
    p99_ms: f64,
    received: usize,
    expected: usize,
    /// Server RSS with every subscriber connected.
    rss_open_mb: f64,
}

impl Drop for Atelier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one number from the server's database (beside it).
async fn scalar(url: &str, sql: &str) -> i64 {
    let db = store::connect(url).await.unwrap();
    let n: Option<i64> = app::on_pool!(&db, |pool, d| sqlx::query_scalar(sql).fetch_one(pool).await).unwrap();
    db.close().await;
    n.unwrap_or(0)
}

/// One HTTP/1.1 request on its own connection; the status and body.
async fn request(addr: &str, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

fn gzipped_len(path: &Path) -> usize {
    let out = Command::new("gzip").args(["-9", "-c"]).arg(path).output();
    out.map(|o| o.stdout.len()).unwrap_or(0)
}

/// Signs in with `token` in headless Chromium (Playwright from end2end/),
/// then loads the home page until it has hydrated with its list shown, nine
/// times. The median milliseconds from the navigation's start to the app's
/// `atelier:hydrated` mark, as the page's clock has them, and as Playwright
/// sees them (its messages to the browser included), and how many
/// workstations the page showed (its first page). The loads use no
/// selectors: those would put Playwright's own script into each page, on
/// the thread that hydrates it.
fn hydrate_ms(url: &str, token: &str) -> Option<(f64, f64, f64)> {
    let script = include_str!("hydrate.js");
    let mut child = Command::new("node")
        .arg("-")
        .arg(url)
        .arg(token)
        .current_dir("end2end")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(script.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut figures = stdout.split_whitespace().map(|f| f.parse::<f64>().ok());
    let parsed = match (figures.next().flatten(), figures.next().flatten(), figures.next().flatten()) {
        (Some(in_page), Some(outside), Some(cards)) => Some((in_page, outside, cards)),
        _ => None,
    };
    if parsed.is_none() {
        eprintln!("hydration timing failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    parsed
}
