//! Two instances of the server sharing one PostgreSQL database: events
//! written by one reach streams on the other, and a job whose instance is
//! killed is finished by the other. Needs `ATELIER_TEST_POSTGRES` (`make test`
//! starts a PostgreSQL server and sets it); without it, this test says so and
//! passes.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

/// A live event stream read over plain HTTP/1.1.
struct Stream {
    socket: TcpStream,
    seen: String,
}

impl Stream {
    fn open(addr: &str, path: &str, token: &str) -> Self {
        let mut socket = TcpStream::connect(addr).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        write!(
            socket,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        Self { socket, seen: String::new() }
    }

    /// Reads until `what` has arrived (within `within`); returns everything read so far.
    fn wait_for(&mut self, what: &str, within: Duration) -> &str {
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 8192];
        while !self.seen.contains(what) {
            assert!(Instant::now() < deadline, "{what:?} never came; the stream so far:\n{}", self.seen);
            match self.socket.read(&mut buf) {
                Ok(0) => panic!("the stream ended before {what:?}:\n{}", self.seen),
                Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(e)
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("reading the stream: {e}"),
            }
        }
        &self.seen
    }
}

#[test]
fn a_job_of_a_killed_instance_is_finished_by_another_and_streams_follow_both() {
    let Some(db) = Db::postgres() else {
        eprintln!("ATELIER_TEST_POSTGRES is not set: the two-instance test needs PostgreSQL");
        return;
    };
    let token = text(&db.run(&["token", "create", "--user", "dana"]).stdout).trim().to_owned();
    assert!(is_token(&token), "{token}");
    // A runs each provisioning phase for 3 s, so it is killed mid-job.
    let (mut a, addr_a) = start_server(&db, &["--simulated-phase-ms", "3000", "--job-lease-secs", "2"]);
    let body = r#"{"name":"shared","configuration":{"cpuCores":4,"memoryGB":16,"gpu":"NVIDIA L4","storageGB":64,"region":"us-east-1"}}"#;
    let (status, created) = http(&addr_a, "POST", "/v1/workstations", &token, Some(body));
    assert_eq!(status, 201, "{created}");
    let id = created.split("\"id\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
    let mut on_a = Stream::open(&addr_a, &format!("/v1/workstations/{id}/events"), &token);
    on_a.wait_for("\"phase\":\"allocating\"", Duration::from_secs(10));

    // B starts while A runs the job, and follows the workstation from now on.
    let (mut b, addr_b) = start_server(&db, &["--simulated-phase-ms", "20", "--job-lease-secs", "2"]);
    let mut on_b = Stream::open(&addr_b, &format!("/v1/workstations/{id}/events"), &token);
    on_b.wait_for("\"phase\":\"allocating\"", Duration::from_secs(10));
    // A writes the next phase; it reaches B's stream live.
    on_b.wait_for("\"phase\":\"attaching-storage\"", Duration::from_secs(10));

    a.kill().unwrap(); // SIGKILL: A's lease is left to run out
    a.wait().unwrap();

    // B takes the job over once A's lease has run out, and finishes it.
    let seen = on_b
        .wait_for("Ready: the workstation is provisioned and stopped", Duration::from_secs(30))
        .to_owned();
    b.kill().unwrap();
    let _ = b.wait();
    assert!(
        seen.contains("The server running provisioning stopped; starting again (attempt 2 of 3)"),
        "{seen}"
    );
    let took_over = seen.find("starting again").unwrap();
    let done = seen.find("Ready: the workstation").unwrap();
    assert!(took_over < done, "{seen}");
}

/// Each instance remembers the credentials it accepted for at most a second:
/// a token revoked elsewhere (by the command line, as by another instance)
/// is refused by both within it; a user disabled elsewhere likewise. The
/// bound is asserted with a second's margin for this shared machine.
#[test]
fn a_token_revoked_elsewhere_is_refused_by_every_instance_within_a_second() {
    let Some(db) = Db::postgres() else {
        eprintln!("ATELIER_TEST_POSTGRES is not set: the two-instance test needs PostgreSQL");
        return;
    };
    let revoked = text(&db.run(&["token", "create", "--user", "rhea"]).stdout).trim().to_owned();
    let disabled = text(&db.run(&["token", "create", "--user", "dora"]).stdout).trim().to_owned();
    let (mut a, addr_a) = start_server(&db, &[]);
    let (mut b, addr_b) = start_server(&db, &[]);
    for addr in [&addr_a, &addr_b] {
        assert_eq!(http(addr, "GET", "/v1/workstations", &revoked, None).0, 200, "{addr}");
    }
    assert!(db.run(&["token", "revoke", &revoked[..12]]).status.success());
    let since = Instant::now();
    for addr in [&addr_a, &addr_b] {
        let took = refused_within(addr, &revoked, since, Duration::from_secs(2));
        eprintln!("{addr} refused the revoked token {took:?} after");
    }
    // Accepted again just before, so both remember it.
    for addr in [&addr_a, &addr_b] {
        assert_eq!(http(addr, "GET", "/v1/workstations", &disabled, None).0, 200, "{addr}");
    }
    assert!(db.run(&["user", "disable", "dora"]).status.success());
    let since = Instant::now();
    for addr in [&addr_a, &addr_b] {
        let took = refused_within(addr, &disabled, since, Duration::from_secs(2));
        eprintln!("{addr} refused the disabled user's token {took:?} after");
    }
    for child in [&mut a, &mut b] {
        child.kill().unwrap();
        let _ = child.wait();
    }
}
