//! The container provisioner survives its server being killed: a job
//! interrupted by SIGKILL mid-provisioning is run again by the restarted
//! server and ends with exactly one container and one volume. Needs the real
//! engine `ATELIER_TEST_DOCKER_HOST` names (`make test` starts one with
//! scripts/engine.sh); without it, this test says so and passes outside CI.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::*;

/// The engine `ATELIER_TEST_DOCKER_HOST` names; `None` (the test is
/// skipped, and says so) without one, except under CI.
fn engine_url() -> Option<String> {
    match std::env::var("ATELIER_TEST_DOCKER_HOST") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(std::env::var("CI").is_err(), "CI runs this test with ATELIER_TEST_DOCKER_HOST set");
            eprintln!("skipped: no ATELIER_TEST_DOCKER_HOST (scripts/engine.sh start prints one)");
            None
        }
    }
}

/// `GET path` on the engine's API; the body.
fn engine_get(socket: &str, path: &str) -> String {
    let mut stream = UnixStream::connect(socket).expect("the engine's socket");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: engine\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default()
}

/// How many containers and volumes carry the workstation's label.
fn made_for(socket: &str, id: &str) -> (usize, usize) {
    // {"label":["atelier.workstation=<id>"]}, URL-encoded.
    let filter = format!("%7B%22label%22%3A%5B%22atelier.workstation%3D{id}%22%5D%7D");
    let containers = engine_get(socket, &format!("/v1.41/containers/json?all=1&filters={filter}"));
    let volumes = engine_get(socket, &format!("/v1.41/volumes?filters={filter}"));
    (containers.matches("\"Id\":").count(), volumes.matches("\"Name\":").count())
}

#[test]
fn a_provisioning_killed_mid_way_finishes_with_one_container() {
    let Some(url) = engine_url() else { return };
    let socket = url.strip_prefix("unix://").expect("a unix:// engine").to_owned();
    let db = Db::new();
    let token = text(&db.run(&["token", "create", "--user", "kim"]).stdout).trim().to_owned();
    assert!(is_token(&token), "{token}");
    // The probe takes a few seconds, so the server is killed while it runs:
    // after the container was made and started.
    let flags = [
        "--provisioner",
        "docker",
        "--docker-host",
        &url,
        "--workstation-probe",
        "sleep 3",
        "--stop-timeout-secs",
        "1",
    ];
    let (mut first, addr) = start_server(&db, &flags);
    let body = r#"{"name":"sturdy","configuration":{"cpuCores":1,"memoryGB":1,"gpu":"NVIDIA L4","storageGB":16,"region":"us-east-1"}}"#;
    let (status, created) = http(&addr, "POST", "/v1/workstations", &token, Some(body));
    assert_eq!(status, 201, "{created}");
    let id = created.split("\"id\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
    let history = format!("/v1/workstations/{id}/history");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http(&addr, "GET", &history, &token, None).1.contains("\"phase\":\"probing\"") {
        assert!(Instant::now() < deadline, "never reached the probe");
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill().unwrap(); // SIGKILL, mid-probe
    first.wait().unwrap();
    assert_eq!(made_for(&socket, &id), (1, 1), "the container and volume were made before the kill");

    // Restarted on the same database: the job runs again and finishes.
    let (mut second, addr) = start_server(&db, &flags);
    let deadline = Instant::now() + Duration::from_secs(60);
    let seen = loop {
        let (_, seen) = http(&addr, "GET", &history, &token, None);
        if seen.contains("Ready: the workstation is provisioned and stopped") {
            break seen;
        }
        assert!(!seen.contains("\"status\":\"error\""), "{seen}");
        assert!(Instant::now() < deadline, "never finished: {seen}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(seen.contains("starting again (attempt 2 of"), "{seen}");
    assert_eq!(made_for(&socket, &id), (1, 1), "exactly one container and one volume");

    let (status, _) = http(&addr, "DELETE", &format!("/v1/workstations/{id}"), &token, None);
    assert_eq!(status, 202);
    let deadline = Instant::now() + Duration::from_secs(30);
    while made_for(&socket, &id) != (0, 0) {
        assert!(Instant::now() < deadline, "the delete never removed them");
        std::thread::sleep(Duration::from_millis(100));
    }
    second.kill().unwrap();
    let _ = second.wait();
}

/// Waits until the workstation's JSON contains `what`.
fn wait_until(addr: &str, token: &str, id: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = http(addr, "GET", &format!("/v1/workstations/{id}"), token, None);
        if body.contains(what) && !body.contains("\"phase\"") {
            return;
        }
        assert!(Instant::now() < deadline, "never {what}: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn atelier_exec_and_shell_reach_a_running_workstation() {
    let Some(url) = engine_url() else { return };
    let db = Db::new();
    let token = text(&db.run(&["token", "create", "--user", "lee"]).stdout).trim().to_owned();
    let (mut server, addr) =
        start_server(&db, &["--provisioner", "docker", "--docker-host", &url, "--stop-timeout-secs", "1"]);
    let body = r#"{"name":"cli-box","configuration":{"cpuCores":1,"memoryGB":1,"gpu":"NVIDIA L4","storageGB":16,"region":"us-east-1"}}"#;
    let (status, created) = http(&addr, "POST", "/v1/workstations", &token, Some(body));
    assert_eq!(status, 201, "{created}");
    let id = created.split("\"id\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
    wait_until(&addr, &token, &id, "\"status\":\"stopped\"");
    assert_eq!(http(&addr, "POST", &format!("/v1/workstations/{id}/launch"), &token, None).0, 202);
    wait_until(&addr, &token, &id, "\"status\":\"running\"");

    let remote = |args: &[&str], stdin: &str| {
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_atelier"))
            .args(args)
            .env("ATELIER_URL", format!("http://{addr}"))
            .env("ATELIER_TOKEN", &token)
            .env("ATELIER_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };

    // By name: its output, and its exit status as the CLI's.
    let out = remote(&["exec", "cli-box", "--", "sh", "-c", "echo from-$((40+2)); exit 3"], "");
    assert_eq!(text(&out.stdout).trim(), "from-42", "{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(3));
    // Its standard input is the command's.
    let out = remote(&["exec", &id, "--", "cat"], "piped in\n");
    assert_eq!(text(&out.stdout), "piped in\n");
    assert_eq!(out.status.code(), Some(0));
    // An interactive shell, fed from a pipe here.
    let out = remote(&["shell", "cli-box"], "echo $((6*7))\nexit 5\n");
    assert!(text(&out.stdout).contains("42"), "{}", text(&out.stdout));
    assert_eq!(out.status.code(), Some(5));
    // A name that is not there.
    let out = remote(&["exec", "no-such-box", "--", "true"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no workstation named"), "{}", text(&out.stderr));

    let (status, _) = http(&addr, "DELETE", &format!("/v1/workstations/{id}"), &token, None);
    assert_eq!(status, 202);
    wait_until(&addr, &token, &id, "not-found");
    server.kill().unwrap();
    let _ = server.wait();
}
