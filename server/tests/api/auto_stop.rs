//! Auto-stop with short timeouts: idle workstations stop with the reason,
//! activity keeps them running until the running timeout, one instance of
//! several stops a workstation once, and a restart keeps the deadline.

use std::time::{Duration, Instant};

use app::backend::auto_stop::AutoStopPolicy;
use serde_json::Value;

use crate::helpers::{problem, valid_body, TestApp};

fn policy(idle_secs: u64, running_secs: u64) -> impl FnOnce(&mut server::ServeOptions) {
    move |o| o.settings.auto_stop = AutoStopPolicy { idle_secs, running_secs, warn_secs: 300 }
}

/// A running workstation of `ada`'s.
async fn running(app: &TestApp) -> (String, String) {
    let token = app.token_for("ada").await;
    let id = app.create(&token, &valid_body("sleepy")).await;
    app.wait_for_status(&token, &id, "stopped", Duration::from_secs(10)).await;
    app.act_ok(&token, &id, "launch").await;
    app.wait_for_status(&token, &id, "running", Duration::from_secs(10)).await;
    (token, id)
}

async fn messages(app: &TestApp, token: &str, id: &str) -> Vec<String> {
    let history = app.get_json(&format!("/v1/workstations/{id}/history"), token).await;
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["message"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn an_idle_workstation_is_warned_then_stopped_with_the_reason() {
    let app = TestApp::spawn_with(policy(5, 0)).await;
    let (token, id) = running(&app).await;
    let began = Instant::now();
    app.wait_for_status(&token, &id, "stopped", Duration::from_secs(10)).await;
    let took = began.elapsed();
    assert!(took >= Duration::from_secs(4), "stopped after {took:?}, before its 5 s");
    let said = messages(&app, &token, &id).await;
    let warned =
        said.iter().position(|m| m == "Stops in 1 second if idle").unwrap_or_else(|| panic!("{said:?}"));
    let stopping =
        said.iter().position(|m| m == "Auto-stop: idle for 5 seconds; stopping").expect("stop queued");
    assert!(warned < stopping);
    assert_eq!(said.last().unwrap(), "Stopped after 5 seconds idle");
}

#[tokio::test]
async fn activity_keeps_it_running_but_not_past_the_running_timeout() {
    let app = TestApp::spawn_with(policy(2, 6)).await;
    let (token, id) = running(&app).await;
    let began = Instant::now();
    let activity = format!("/v1/workstations/{id}/activity");
    let mut reasons = Vec::new();
    loop {
        let res = app.post(&activity, &token).send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        if status == 409 {
            break; // stopped (or stopping) by now
        }
        assert_eq!(status, 200, "{body}");
        reasons.push(body["autoStopReason"].as_str().unwrap().to_owned());
        assert!(body["autoStopAt"].as_str().unwrap().ends_with('Z'));
        if began.elapsed() < Duration::from_secs(4) {
            // Past the idle timeout, thanks to the activity.
            assert_eq!(app.get_json(&format!("/v1/workstations/{id}"), &token).await["status"], "running");
        }
        assert!(began.elapsed() < Duration::from_secs(12), "never stopped");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    app.wait_for_status(&token, &id, "stopped", Duration::from_secs(10)).await;
    assert!(began.elapsed() >= Duration::from_secs(5), "stopped after {:?}", began.elapsed());
    assert_eq!(reasons.first().map(String::as_str), Some("idle"));
    assert_eq!(
        reasons.last().map(String::as_str),
        Some("running"),
        "the running timeout comes first at the end"
    );
    assert_eq!(messages(&app, &token, &id).await.last().unwrap(), "Stopped: running for 6 seconds");

    // Activity on a stopped workstation, or someone else's.
    let res = app.post(&activity, &token).send().await.unwrap();
    assert_eq!(problem(res, 409).await["currentStatus"], "stopped");
    let other = app.token_for("bo").await;
    let res = app.post(&activity, &other).send().await.unwrap();
    problem(res, 404).await;
}

#[tokio::test]
async fn a_restart_keeps_the_deadline() {
    let mut first = TestApp::spawn_with(policy(4, 0)).await;
    let (token, id) = running(&first).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    first.shut_down();
    assert!(first.stopped().await);
    let second = first.spawn_beside(policy(4, 0)).await;
    let restarted = Instant::now();
    second.wait_for_status(&token, &id, "stopped", Duration::from_secs(10)).await;
    // A timer started again would take 4 s; the stored deadline is ~1.5 s away.
    assert!(
        restarted.elapsed() < Duration::from_millis(3500),
        "stopped {:?} after the restart",
        restarted.elapsed()
    );
    assert_eq!(messages(&second, &token, &id).await.last().unwrap(), "Stopped after 4 seconds idle");
}

#[tokio::test]
async fn several_instances_stop_it_once() {
    if std::env::var("ATELIER_TEST_POSTGRES").map_or(true, |v| v.is_empty()) {
        return; // several instances share PostgreSQL only
    }
    let a = TestApp::spawn_with(policy(2, 0)).await;
    let b = a.spawn_beside(policy(2, 0)).await;
    let c = a.spawn_beside(policy(2, 0)).await;
    let (token, id) = running(&a).await;
    a.wait_for_status(&token, &id, "stopped", Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let said = messages(&b, &token, &id).await;
    assert_eq!(said.iter().filter(|m| m.starts_with("Auto-stop:")).count(), 1, "{said:?}");
    assert_eq!(said.iter().filter(|m| *m == "Stopped after 2 seconds idle").count(), 1, "{said:?}");
    drop(c);
}
