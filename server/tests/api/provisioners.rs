//! The `command` provisioner with the shipped example scripts, and timeouts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use server::ProvisionerChoice;

use crate::helpers::{valid_body, TestApp};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/provisioners")
}

/// A script in `dir` that runs `body` (sh).
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn the_qemu_example_creates_a_thin_disk_of_the_requested_size() {
    let dir = tempfile::tempdir().unwrap();
    let disks = dir.path().join("disks");
    let wrapper = script(
        dir.path(),
        "provision.sh",
        &format!(
            "ATELIER_DISK_DIR='{}' exec '{}' \"$@\"",
            disks.display(),
            examples().join("qemu-disk.sh").display()
        ),
    );
    let app = TestApp::spawn_with(|o| o.provisioner = ProvisionerChoice::Command { program: wrapper }).await;
    let token = app.token_for("alice").await;
    let mut body = valid_body("disk-box");
    body["configuration"]["storageGB"] = serde_json::json!(64);
    let id = app.create(&token, &body).await;
    let events = app.follow_to_end(&token, &id).await;
    let last = events.last().unwrap();
    assert_eq!(last["status"], "stopped", "{events:#?}");

    let phases: Vec<&str> =
        events.iter().filter(|e| e["kind"] == "phase").map(|e| e["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["preparing", "creating-disk", "verifying-disk", "ready"]);
    let logs: Vec<&str> =
        events.iter().filter(|e| e["kind"] == "log").map(|e| e["message"].as_str().unwrap()).collect();
    assert!(logs.iter().any(|l| l.contains("virtual size: 64 GiB")), "{logs:#?}");

    // The disk is a real, thin qcow2 image of the requested size.
    let disk = disks.join(format!("{id}.qcow2"));
    let info =
        std::process::Command::new("qemu-img").arg("info").arg("--output=json").arg(&disk).output().unwrap();
    assert!(info.status.success());
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["format"], "qcow2");
    assert_eq!(info["virtual-size"], 64u64 * 1024 * 1024 * 1024);
    assert!(info["actual-size"].as_u64().unwrap() < 10 * 1024 * 1024, "thin: {info}");
    // The spec arrived on stdin.
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(disks.join(format!("{id}.json"))).unwrap()).unwrap();
    assert_eq!(spec["name"], "disk-box");
    assert_eq!(spec["configuration"]["storageGB"], 64);

    // Launch checks the disk; delete removes it.
    let launch = app
        .client
        .post(app.url(&format!("/v1/workstations/{id}/launch")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(launch.status().as_u16(), 202);
    wait_for_message(&app, &token, &id, "Running").await;
    let delete = app
        .client
        .delete(app.url(&format!("/v1/workstations/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status().as_u16(), 202);
    wait_for_message(&app, &token, &id, "Deleted").await;
    assert!(!disk.exists(), "the disk is removed with the workstation");
}

/// Waits until a status event with `message` is in the history.
async fn wait_for_message(app: &TestApp, token: &str, id: &str, message: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let history: Value = app
            .get(&format!("/v1/workstations/{id}/history"), token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let events = history["events"].as_array().unwrap();
        if events.iter().any(|e| e["kind"] == "status" && e["message"] == message) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no {message:?} in {events:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_failing_command_ends_in_error_with_its_last_lines() {
    let app = TestApp::spawn_with(|o| {
        o.provisioner = ProvisionerChoice::Command { program: examples().join("always-fails.sh") }
    })
    .await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("doomed")).await;
    let events = app.follow_to_end(&token, &id).await;
    let last = events.last().unwrap();
    assert_eq!(last["status"], "error");
    let reason = last["message"].as_str().unwrap();
    assert!(reason.starts_with("The provisioner exited with status 3: "), "{reason}");
    assert!(reason.contains("quota exceeded: no NVIDIA RTX A5000 left in us-west-2"), "{reason}");
    assert!(events.iter().any(|e| e["kind"] == "phase" && e["phase"] == "allocating" && e["progress"] == 20));
}

#[tokio::test]
async fn a_command_past_the_deadline_is_killed_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let child_file = dir.path().join("child");
    // The work is a process the script starts and waits for.
    let slow = script(
        dir.path(),
        "slow.sh",
        &format!(
            "echo $$ > '{}'\necho '::progress 10 waiting'\nsleep 60 &\necho $! > '{}'\nwait",
            pid_file.display(),
            child_file.display()
        ),
    );
    let app = TestApp::spawn_with(|o| {
        o.provisioner = ProvisionerChoice::Command { program: slow };
        o.engine.job_timeout = Duration::from_secs(1);
    })
    .await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("slowpoke")).await;
    let events = app.follow_to_end(&token, &id).await;
    let last = events.last().unwrap();
    assert_eq!(last["status"], "error");
    assert_eq!(last["message"], "Provisioning took longer than 1 s and was stopped");

    for file in [pid_file, child_file] {
        let pid = std::fs::read_to_string(&file).unwrap().trim().to_owned();
        let mut gone = false;
        for _ in 0..50 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Gone, or a zombie waiting to be reaped.
            if stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z") {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(gone, "the provisioner's process {pid} ({}) was not killed", file.display());
    }
}

#[tokio::test]
async fn a_missing_provisioner_command_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let options = server::ServeOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.path().join("x.db").display()),
        catalog: None,
        site_root: String::new(),
        settings: Default::default(),
        engine: Default::default(),
        provisioner: ProvisionerChoice::Command { program: dir.path().join("nope.sh") },
        terminal_keep: std::time::Duration::from_secs(300),
    };
    let err = server::build_state(&options).await.err().expect("start must fail");
    assert!(err.to_string().contains("is not an executable file"), "{err}");
}

#[tokio::test]
async fn what_a_command_leaves_running_stays_and_its_job_ends_when_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    let child_file = dir.path().join("child");
    // A VM-like process left running, still holding the program's output open.
    let launcher = script(
        dir.path(),
        "launcher.sh",
        &format!(
            "echo '::progress 50 booting'\nsleep 60 &\necho $! > '{}'\necho 'left it running'",
            child_file.display()
        ),
    );
    let app = TestApp::spawn_with(|o| {
        o.provisioner = ProvisionerChoice::Command { program: launcher };
        o.engine.job_timeout = Duration::from_secs(10);
    })
    .await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("launched")).await;
    let started = std::time::Instant::now();
    let events = app.follow_to_end(&token, &id).await;
    let pid = std::fs::read_to_string(&child_file).unwrap().trim().to_owned();
    let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.split_whitespace().nth(2) != Some("Z"));
    let _ = std::process::Command::new("kill").arg(&pid).status();
    assert_eq!(events.last().unwrap()["status"], "stopped", "{events:#?}");
    assert!(started.elapsed() < Duration::from_secs(5), "the job waited for what it left running");
    assert!(events.iter().any(|e| e["message"] == "left it running"), "{events:#?}");
    assert!(alive, "what the program left running was killed");
}
