//! What the tests of the `atelier` binary share: a database in a temp
//! directory, the binary run against it, and plain HTTP/1.1 calls.

#![allow(dead_code)] // each test file uses a part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Db {
    pub dir: tempfile::TempDir,
    /// A PostgreSQL database's URL; SQLite in `dir` when `None`.
    postgres: Option<String>,
}

impl Db {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap(), postgres: None }
    }

    /// A new database on the PostgreSQL server `ATELIER_TEST_POSTGRES` names
    /// (created with `psql`), if it names one.
    pub fn postgres() -> Option<Self> {
        let admin = std::env::var("ATELIER_TEST_POSTGRES").ok().filter(|url| !url.is_empty())?;
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("atelier_cli_{}_{nanos}", std::process::id());
        let created =
            Command::new("psql").arg(&admin).args(["-qc", &format!("CREATE DATABASE {name}")]).status();
        assert!(created.is_ok_and(|s| s.success()), "cannot create a database with psql at {admin}");
        let (server, _) = admin.rsplit_once('/').expect("ATELIER_TEST_POSTGRES is a postgres:// URL");
        Some(Self { dir: tempfile::tempdir().unwrap(), postgres: Some(format!("{server}/{name}")) })
    }

    pub fn url(&self) -> String {
        match &self.postgres {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.dir.path().join("cli.db").display()),
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_atelier"))
            .arg("--database")
            .arg(self.url())
            .args(args)
            .env_remove("DATABASE_URL")
            .env("ATELIER_LOG", "warn")
            .output()
            .unwrap()
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn is_token(s: &str) -> bool {
    s.len() == 36 && s.starts_with("atl_") && s[4..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A plain HTTP/1.1 exchange; returns the status code and the body.
pub fn http(addr: &str, method: &str, path: &str, token: &str, body: Option<&str>) -> (u16, String) {
    try_http(addr, method, path, token, body).unwrap()
}

/// The same, with connection failures (a killed server) as errors; a
/// response cut short has status 0.
pub fn try_http(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// Starts `atelier serve` on a free port and returns it with its address.
pub fn start_server(db: &Db, extra: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["--database", &db.url(), "serve", "--addr", "127.0.0.1:0", "--no-demo-user", "--site-root"])
        .arg(db.dir.path().join("site"))
        .args(extra)
        .env("ATELIER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("server printed its address").unwrap();
        if let Some(rest) = line.trim().strip_prefix("Atelier is listening on http://") {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    (child, addr)
}

/// Asks `addr` for the list with `token` until it answers `401`; panics if
/// it still accepts the token `bound` after `since`. Returns how long it took.
pub fn refused_within(addr: &str, token: &str, since: Instant, bound: Duration) -> Duration {
    loop {
        let (status, body) = http(addr, "GET", "/v1/workstations", token, None);
        if status == 401 {
            return since.elapsed();
        }
        assert_eq!(status, 200, "{body}");
        assert!(
            since.elapsed() < bound,
            "{addr} still accepts the token {:?} after it was revoked",
            since.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
