use std::time::Duration;

use app::backend::engine::EngineConfig;
use app::backend::{auth, state::Settings, store};
use reqwest::{Client, RequestBuilder, Response};
use serde_json::{json, Value};
use server::{build_state, AppState, ProvisionerChoice, ServeOptions};
use tempfile::TempDir;
use tokio::net::TcpListener;

/// The URL of a new, empty database for one test: a SQLite file in `dir`,
/// or, when `ATELIER_TEST_POSTGRES` names a PostgreSQL server (a URL whose
/// user may create databases), a new database there.
pub async fn fresh_database(dir: &TempDir) -> String {
    match std::env::var("ATELIER_TEST_POSTGRES") {
        Ok(admin) if !admin.is_empty() => fresh_postgres_database(&admin).await,
        _ => format!("sqlite://{}", dir.path().join("atelier.db").display()),
    }
}

/// The URL of a new, empty database on the PostgreSQL server `admin` names.
pub async fn fresh_postgres_database(admin: &str) -> String {
    use sqlx::Connection;
    let name = format!("atelier_test_{:016x}", rand::random::<u64>());
    let mut conn = sqlx::PgConnection::connect(admin).await.expect("connect to ATELIER_TEST_POSTGRES");
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create a test database");
    let (server, _) = admin.rsplit_once('/').expect("ATELIER_TEST_POSTGRES is a postgres:// URL");
    format!("{server}/{name}")
}

/// The database's write lock, held from another connection (as another
/// process would) until released.
pub enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl WriteLock {
    /// Lets writers through again.
    pub async fn release(self) {
        use sqlx::Connection;
        match self {
            Self::Sqlite(mut conn) => {
                sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
            Self::Postgres(conn) => conn.close().await.unwrap(),
        }
    }
}

/// A running server with its own database.
pub struct TestApp {
    pub base: String,
    pub state: AppState,
    /// The database this server uses (another may share it).
    pub database_url: String,
    pub client: Client,
    _dir: TempDir,
    task: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A server whose options `configure` may change (provisioner, timeouts).
    pub async fn spawn_with(configure: impl FnOnce(&mut ServeOptions)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(&dir).await;
        Self::spawn_on(dir, database_url, configure).await
    }

    /// Another instance on this one's database (PostgreSQL: several
    /// instances share one), with its own options.
    pub async fn spawn_beside(&self, configure: impl FnOnce(&mut ServeOptions)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn_on(dir, self.database_url.clone(), configure).await
    }

    async fn spawn_on(dir: TempDir, database_url: String, configure: impl FnOnce(&mut ServeOptions)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let options = ServeOptions {
            addr,
            database_url: database_url.clone(),
            catalog: None,
            site_root: dir.path().join("site").display().to_string(),
            // Tests poll quickly; the rate limit has its own test.
            settings: Settings { rate_limit_per_minute: 0, ..Settings::default() },
            engine: EngineConfig {
                workers: 2,
                job_timeout: Duration::from_secs(20),
                max_attempts: 3,
                ..EngineConfig::default()
            },
            provisioner: ProvisionerChoice::simulated(Duration::from_millis(10)),
            terminal_keep: Duration::from_secs(300),
        };
        let mut options = options;
        configure(&mut options);
        let state = build_state(&options).await.expect("state");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                let shutdown = async move {
                    let _ = stopped.await;
                };
                server::serve(listener, state, shutdown).await.expect("serve");
            }
        });
        let client = Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            base: format!("http://{addr}"),
            state,
            database_url,
            client,
            _dir: dir,
            task,
            stop: Some(stop),
        }
    }

    /// Starts a graceful shutdown, as SIGTERM does.
    pub fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for the server to finish shutting down.
    pub async fn stopped(&mut self) -> bool {
        tokio::time::timeout(Duration::from_secs(10), &mut self.task).await.is_ok()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a user with a fresh token.
    pub async fn token_for(&self, name: &str) -> String {
        let user = match store::find_user(&self.state.pool, name).await.unwrap() {
            Some(u) => u,
            None => store::create_user(&self.state.pool, name).await.unwrap(),
        };
        auth::issue_token(&self.state.pool, &user, None).await.unwrap().token
    }

    pub fn post_json(&self, path: &str, token: &str, body: &Value) -> RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(token).json(body)
    }

    pub fn get(&self, path: &str, token: &str) -> RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(token)
    }

    /// Creates a workstation through the API and returns its id.
    pub async fn create(&self, token: &str, body: &Value) -> String {
        let res = self.post_json("/v1/workstations", token, body).send().await.unwrap();
        let status = res.status().as_u16();
        let answer = res.json::<Value>().await.unwrap();
        assert_eq!(status, 201, "{answer}");
        answer["id"].as_str().unwrap().to_owned()
    }

    /// Sends `action` (`launch`, `stop`, …) to a workstation; it must be accepted (`202`).
    pub async fn act_ok(&self, token: &str, id: &str, action: &str) {
        let res = self.post(&format!("/v1/workstations/{id}/{action}"), token).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 202, "{action}: {}", res.text().await.unwrap());
    }

    /// `POST path` with no body.
    pub fn post(&self, path: &str, token: &str) -> RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(token)
    }

    /// Opens an event stream.
    pub async fn stream(&self, path: &str, token: &str, last_event_id: Option<&str>) -> SseClient {
        let mut req = self.client.get(self.url(path)).bearer_auth(token).timeout(Duration::from_secs(60));
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "stream {path}");
        SseClient::new(res)
    }

    /// Reads the stream until the workstation reaches `stopped` or `error`.
    pub async fn follow_to_end(&self, token: &str, id: &str) -> Vec<Value> {
        let mut stream = self.stream(&format!("/v1/workstations/{id}/events"), token, None).await;
        let mut events = Vec::new();
        loop {
            let event = stream.next().await.expect("stream ended before the job did");
            let data: Value = serde_json::from_str(&event.data).unwrap();
            let done = data["kind"] == "status" && (data["status"] == "stopped" || data["status"] == "error");
            events.push(data);
            if done {
                return events;
            }
        }
    }

    /// Stores a workstation without the create endpoint's checks (as if the
    /// catalog had changed since), so the provisioner's own guards are reached.
    pub async fn create_unchecked(&self, token: &str, body: &Value) -> String {
        let user = app::backend::auth::authenticate_token(&self.state.pool, token).await.unwrap().unwrap();
        let spec = app::domain::CreateWorkstationRequest::from_json(body.clone())
            .unwrap()
            .parse(&self.state.catalog)
            .unwrap();
        let id = app::backend::workstations::new_id();
        let mut tx = store::begin_write(&self.state.pool).await.unwrap();
        store::insert_new_workstations(&mut tx, &[(id.as_str(), user.id, &spec)]).await.unwrap();
        tx.commit().await.unwrap();
        self.state.engine.wake();
        id
    }

    /// Reads the workstation until its status is `status`, failing after `within`.
    pub async fn wait_for_status(&self, token: &str, id: &str, status: &str, within: Duration) -> Value {
        let deadline = std::time::Instant::now() + within;
        loop {
            let ws = self.get_json(&format!("/v1/workstations/{id}"), token).await;
            if ws["status"] == status {
                return ws;
            }
            assert!(std::time::Instant::now() < deadline, "not {status} within {within:?}: {ws}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET path` read as JSON.
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        self.get(path, token).send().await.unwrap().json().await.unwrap()
    }

    /// Deletes a workstation (`202`) and waits until it is gone (`404`).
    pub async fn delete_and_wait(&self, token: &str, id: &str) {
        let url = self.url(&format!("/v1/workstations/{id}"));
        let res = self.client.delete(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 202, "delete {id}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while self.client.get(&url).bearer_auth(token).send().await.unwrap().status().as_u16() != 404 {
            assert!(std::time::Instant::now() < deadline, "{id} was never deleted");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Takes the database's write lock from another connection.
    pub async fn hold_write_lock(&self) -> WriteLock {
        use sqlx::ConnectOptions;
        match &self.state.pool {
            store::Db::Sqlite(pool, _) => {
                let mut conn = (*pool.connect_options()).clone().connect().await.unwrap();
                sqlx::query("BEGIN IMMEDIATE").execute(&mut conn).await.unwrap();
                WriteLock::Sqlite(conn)
            }
            store::Db::Postgres(pool) => {
                let mut conn = (*pool.connect_options()).clone().connect().await.unwrap();
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(store::WRITE_LOCK)
                    .execute(&mut conn)
                    .await
                    .unwrap();
                WriteLock::Postgres(conn)
            }
        }
    }

    /// What PostgreSQL's sessions are doing and waiting for (empty on
    /// SQLite), for a test that timed out to report.
    pub async fn database_activity(&self) -> String {
        let store::Db::Postgres(pool) = &self.state.pool else { return String::new() };
        let sessions: Vec<String> = sqlx::query_scalar(
            "SELECT concat_ws(' | ', state, wait_event_type, wait_event, left(query, 150)) FROM pg_stat_activity
             WHERE datname = current_database()",
        )
        .fetch_all(pool)
        .await
        .unwrap_or_default();
        let waiting: Vec<String> =
            sqlx::query_scalar("SELECT concat_ws(' ', locktype, mode, pid) FROM pg_locks WHERE NOT granted")
                .fetch_all(pool)
                .await
                .unwrap_or_default();
        format!("sessions: {sessions:#?}\nlocks waited for: {waiting:#?}")
    }

    pub async fn workstation_count(&self) -> i64 {
        store::count_workstations(&self.state.pool).await.unwrap()
    }
}

pub fn valid_body(name: &str) -> Value {
    json!({
        "name": name,
        "configuration": {
            "cpuCores": 8,
            "memoryGB": 32,
            "gpu": "NVIDIA RTX A5000",
            "storageGB": 512,
            "region": "us-west-2"
        }
    })
}

/// [`valid_body`] with another GPU type and region.
pub fn body_with(name: &str, gpu: &str, region: &str) -> Value {
    let mut body = valid_body(name);
    body["configuration"]["gpu"] = json!(gpu);
    body["configuration"]["region"] = json!(region);
    body
}

/// Checks the problem+json envelope and returns the body.
pub async fn problem(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    assert_eq!(
        res.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let request_id = res.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body: Value = res.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], json!(status));
    assert!(body["type"].as_str().is_some_and(|t| t.starts_with("/problems/")), "{body}");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    assert_eq!(body["requestId"].as_str().map(str::to_owned), request_id, "{body}");
    body
}

/// The `errors` array as sorted (pointer, detail) pairs.
pub fn field_errors(body: &Value) -> Vec<(String, String)> {
    let mut errors: Vec<_> = body["errors"]
        .as_array()
        .expect("errors array")
        .iter()
        .map(|e| {
            assert_eq!(e.as_object().map(|o| o.len()), Some(2), "each error is {{pointer, detail}}: {e}");
            (e["pointer"].as_str().unwrap().to_owned(), e["detail"].as_str().unwrap().to_owned())
        })
        .collect();
    errors.sort();
    errors
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// A minimal Server-Sent Events reader over a streaming response.
pub struct SseClient {
    res: Response,
    buf: String,
}

impl SseClient {
    /// Reads the events of a `200` event-stream response.
    pub fn new(res: Response) -> Self {
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Self { res, buf: String::new() }
    }

    /// The next event (comments such as keep-alives are skipped); `None` when
    /// the stream ends or nothing arrives within 20 s.
    pub async fn next(&mut self) -> Option<SseEvent> {
        tokio::time::timeout(Duration::from_secs(20), self.next_inner()).await.ok().flatten()
    }

    /// The next event if one arrives within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<SseEvent> {
        tokio::time::timeout(wait, self.next_inner()).await.ok().flatten()
    }

    async fn next_inner(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = SseEvent { id: None, event: None, data: String::new() };
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        event.id = Some(v.trim().to_owned());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event.event = Some(v.trim().to_owned());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if !event.data.is_empty() {
                            event.data.push('\n');
                        }
                        event.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        any = true;
                    }
                }
                if any {
                    return Some(event);
                }
            }
            let chunk = self.res.chunk().await.ok()??;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
