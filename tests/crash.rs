//! Crash test (`make test-crash`): under create load, `kill -9` the server,
//! start it again, and check that every workstation whose `201` a client
//! received exists, and that no job is left in `provisioning` without a
//! worker. `ATELIER_CRASH_ROUNDS` rounds (default 20) on one database.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{start_server, text, try_http, Db};

const CLIENTS: usize = 8;

/// A create body for a unique name.
fn body(name: &str) -> String {
    format!(
        r#"{{"name":"{name}","configuration":{{"cpuCores":1,"memoryGB":1,"gpu":"NVIDIA L4","storageGB":16,"region":"us-east-1"}}}}"#
    )
}

fn id_of(created: &str) -> Option<String> {
    created.split("\"id\":\"").nth(1).and_then(|r| r.split('"').next()).map(str::to_owned)
}

/// Waits (up to 60 s) until no workstation is provisioning; returns how many
/// still were at the deadline.
fn provisioning_left(addr: &str, token: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, list) =
            try_http(addr, "GET", "/v1/workstations?status=provisioning&limit=100", token, None)
                .unwrap_or((0, String::new()));
        assert_eq!(status, 200, "{list}");
        let left = list.matches("\"status\":\"provisioning\"").count();
        if left == 0 || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// After the restart that follows round `round`: how many acknowledged
/// creates are missing, and how many workstations stay provisioning.
fn check_after_restart(addr: &str, token: &str, acknowledged: &[String], round: usize) -> (usize, usize) {
    let lost = acknowledged
        .iter()
        .filter(|id| {
            try_http(addr, "GET", &format!("/v1/workstations/{id}"), token, None).map(|r| r.0).ok()
                != Some(200)
        })
        .count();
    let stuck = provisioning_left(addr, token);
    if round > 0 {
        println!(
            "round {round:2}: {} acknowledged so far, {lost} missing after restart, {stuck} left provisioning",
            acknowledged.len()
        );
    }
    (lost, stuck)
}

#[test]
#[ignore = "long: run by `make test-crash`"]
fn acknowledged_creates_survive_kill_9() {
    let rounds: usize = std::env::var("ATELIER_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
    let db = Db::new();
    let token = text(&db.run(&["token", "create", "--user", "crash"]).stdout).trim().to_owned();
    // Room for every create: the built-in catalog with no capacity limit.
    let catalog = db.dir.path().join("catalog.toml");
    let toml = include_str!("../app/catalog.toml").replace("default = 16", "default = 1000000");
    std::fs::write(&catalog, toml).unwrap();
    // Fast phases keep jobs in flight at every kill; no rate limit on the load.
    #[rustfmt::skip]
    let flags = [
        "--catalog", catalog.to_str().unwrap(), "--simulated-phase-ms", "40", "--workers", "16",
        "--rate-limit-per-minute", "0", "--quota-gpus", "1000000", "--quota-cpu-cores", "1000000",
        "--quota-memory-gb", "1000000", "--quota-storage-gb", "100000000",
    ];
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let (mut totals_acked, mut totals_lost, mut totals_stuck) = (0, 0, 0);
    for round in 0..rounds {
        let (mut server, addr) = start_server(&db, &flags);
        // What the previous round's clients were told is all there.
        let (lost, stuck) = check_after_restart(&addr, &token, &acknowledged.lock().unwrap(), round);
        totals_lost += lost;
        totals_stuck += stuck;

        // Load, then kill -9 at a moment that moves from round to round.
        let stop_at = Instant::now() + Duration::from_millis(300 + (round as u64 * 137) % 700);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (addr, token, acked) = (addr.clone(), token.clone(), acknowledged.clone());
                std::thread::spawn(move || {
                    for n in 0.. {
                        let name = format!("r{round}-c{c}-n{n}");
                        match try_http(&addr, "POST", "/v1/workstations", &token, Some(&body(&name))) {
                            Ok((201, created)) => acked.lock().unwrap().extend(id_of(&created)),
                            Ok((0, _)) | Err(_) => return, // the server is gone
                            Ok((status, other)) => panic!("create answered {status}: {other}"),
                        }
                    }
                })
            })
            .collect();
        while Instant::now() < stop_at {
            std::thread::sleep(Duration::from_millis(10));
        }
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        for client in clients {
            client.join().unwrap();
        }
        totals_acked = acknowledged.lock().unwrap().len();
    }
    // The last round's creates, after one more restart.
    let (mut server, addr) = start_server(&db, &flags);
    let (lost, stuck) = check_after_restart(&addr, &token, &acknowledged.lock().unwrap(), rounds);
    server.kill().unwrap();
    let _ = server.wait();
    totals_lost += lost;
    totals_stuck += stuck;
    println!(
        "crash test: {rounds} kill -9 rounds, {totals_acked} creates acknowledged, {totals_lost} lost, \
         {totals_stuck} left provisioning"
    );
    assert_eq!(totals_lost, 0, "acknowledged creates were lost");
    assert_eq!(totals_stuck, 0, "jobs were left in provisioning");
}
