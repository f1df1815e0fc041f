//! Auto-stop with short timeouts: idle workstations stop with the reason,
//! activity keeps them running until the running timeout, one instance of
//! several stops a workstation once, and a restart keeps the deadline.

use std::time::{Duration, Instant};

use app::backend::auto_stop::AutoStopPolicy;
use serde_json::{json, Value};

use crate::helpers::{problem, valid_body, TestApp};

fn policy(idle_secs: u64, running_secs: u64) -> impl FnOnce(&mut server::ServeOptions) {
    move |o| o.settings.auto_stop = AutoStopPolicy { idle_secs, running_secs, min_secs: 1, warn_secs: 300 }
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
    // 5 s: long enough for a warning a second before (a fifth of it).
    let a = TestApp::spawn_with(policy(5, 0)).await;
    let b = a.spawn_beside(policy(5, 0)).await;
    let c = a.spawn_beside(policy(5, 0)).await;
    let (token, id) = running(&a).await;
    a.wait_for_status(&token, &id, "stopped", Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let said = messages(&b, &token, &id).await;
    assert_eq!(said.iter().filter(|m| m.starts_with("Auto-stop:")).count(), 1, "{said:?}");
    assert_eq!(said.iter().filter(|m| *m == "Stopped after 5 seconds idle").count(), 1, "{said:?}");
    // The warning too is said once, by whichever instance saw it first.
    assert_eq!(said.iter().filter(|m| m.starts_with("Stops in")).count(), 1, "{said:?}");
    drop(c);
}

/// `ada`'s workstation made from `body`, launched and running.
async fn running_from(app: &TestApp, token: &str, body: &Value) -> String {
    let id = app.create(token, body).await;
    app.wait_for_status(token, &id, "stopped", Duration::from_secs(10)).await;
    app.act_ok(token, &id, "launch").await;
    app.wait_for_status(token, &id, "running", Duration::from_secs(10)).await;
    id
}

fn with_auto_stop(name: &str, auto_stop: Value) -> Value {
    let mut body = valid_body(name);
    body["autoStop"] = auto_stop;
    body
}

#[tokio::test]
async fn each_workstation_stops_by_its_own_timeouts() {
    // The server's defaults: never.
    let app = TestApp::spawn_with(policy(0, 0)).await;
    let token = app.token_for("ada").await;
    let res = app
        .post_json("/v1/workstations", &token, &with_auto_stop("brief", json!({"idleTimeoutSeconds": 3})))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["autoStop"], json!({"idleTimeoutSeconds": 3, "runningTimeoutSeconds": 0}));
    let brief = created["id"].as_str().unwrap().to_owned();
    app.wait_for_status(&token, &brief, "stopped", Duration::from_secs(10)).await;
    let lasting = running_from(&app, &token, &valid_body("lasting")).await;
    app.act_ok(&token, &brief, "launch").await;
    let shown = app.wait_for_status(&token, &brief, "running", Duration::from_secs(10)).await;
    let began = Instant::now();
    assert_eq!(shown["autoStopReason"], "idle", "{shown}");
    let at = shown["autoStopAt"].as_str().unwrap();
    assert!(at.len() == 24 && at.ends_with('Z'), "{at}");

    app.wait_for_status(&token, &brief, "stopped", Duration::from_secs(10)).await;
    assert!(began.elapsed() >= Duration::from_secs(2), "stopped after {:?}", began.elapsed());
    assert_eq!(messages(&app, &token, &brief).await.last().unwrap(), "Stopped after 3 seconds idle");
    let stopped = app.get_json(&format!("/v1/workstations/{brief}"), &token).await;
    assert!(stopped.get("autoStopAt").is_none(), "{stopped}");

    // The one without timeouts of its own has the server's: it keeps running.
    let other = app.get_json(&format!("/v1/workstations/{lasting}"), &token).await;
    assert_eq!(other["status"], "running");
    assert_eq!(other["autoStop"], json!({"idleTimeoutSeconds": 0, "runningTimeoutSeconds": 0}));
    assert!(other.get("autoStopAt").is_none(), "{other}");
    let listed = app.get_json("/v1/workstations", &token).await;
    let row = listed["workstations"].as_array().unwrap().iter().find(|w| w["id"] == brief.as_str()).unwrap();
    assert_eq!(row["autoStop"]["idleTimeoutSeconds"], 3);
}

#[tokio::test]
async fn patch_changes_the_timeouts_of_a_running_workstation_at_once() {
    let app = TestApp::spawn_with(policy(0, 0)).await;
    let token = app.token_for("ada").await;
    let id = running_from(&app, &token, &valid_body("patched")).await;
    let url = format!("/v1/workstations/{id}");
    let before = app.get(&url, &token).send().await.unwrap().headers()["etag"].clone();
    let res = app
        .client
        .patch(app.url(&url))
        .bearer_auth(&token)
        .json(&json!({"autoStop": {"runningTimeoutSeconds": 4}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_ne!(res.headers()["etag"], before, "a change is a new version");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "running");
    assert_eq!(body["autoStop"], json!({"idleTimeoutSeconds": 0, "runningTimeoutSeconds": 4}));
    assert_eq!(body["autoStopReason"], "running");
    app.wait_for_status(&token, &id, "stopped", Duration::from_secs(10)).await;
    let said = messages(&app, &token, &id).await;
    assert!(said.contains(&"Auto-stop settings: after 4 seconds running".to_owned()), "{said:?}");
    assert_eq!(said.last().unwrap(), "Stopped: running for 4 seconds");
}

#[tokio::test]
async fn timeouts_out_of_range_are_400_and_nothing_changes() {
    // The default minimum: a minute.
    let app = TestApp::spawn_with(|o| {
        o.settings.auto_stop =
            AutoStopPolicy { idle_secs: 1800, running_secs: 0, min_secs: 60, warn_secs: 300 }
    })
    .await;
    let token = app.token_for("ada").await;
    let catalog = app.get_json("/v1/catalog", &token).await;
    assert_eq!(
        catalog["autoStop"],
        json!({"minSeconds": 60, "defaults": {"idleTimeoutSeconds": 1800, "runningTimeoutSeconds": 0}})
    );
    let bad = with_auto_stop("hasty", json!({"idleTimeoutSeconds": 30, "runningTimeoutSeconds": "1h"}));
    let res = app.post_json("/v1/workstations", &token, &bad).send().await.unwrap();
    let body = problem(res, 400).await;
    assert_eq!(
        crate::helpers::field_errors(&body),
        [
            (
                "#/autoStop/idleTimeoutSeconds".to_owned(),
                "must be 0 (never) or from 1 minute to 30 days (60–2592000 seconds)".to_owned()
            ),
            (
                "#/autoStop/runningTimeoutSeconds".to_owned(),
                "must be a whole number, not a string".to_owned()
            ),
        ]
    );
    assert_eq!(app.workstation_count().await, 0);

    // Without autoStop, the server's defaults.
    let res = app.post_json("/v1/workstations", &token, &valid_body("defaulted")).send().await.unwrap();
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["autoStop"], json!({"idleTimeoutSeconds": 1800, "runningTimeoutSeconds": 0}));
    let url = format!("/v1/workstations/{}", created["id"].as_str().unwrap());
    for (patch, pointer) in [
        (json!({"autoStop": {}}), "#/autoStop"),
        (json!({"autoStop": {"runningTimeoutSeconds": 59}}), "#/autoStop/runningTimeoutSeconds"),
        (json!({"autoStop": {"idleTimeoutSeconds": -1}}), "#/autoStop/idleTimeoutSeconds"),
        (json!({"autoStop": [600]}), "#/autoStop"),
    ] {
        let res = app.client.patch(app.url(&url)).bearer_auth(&token).json(&patch).send().await.unwrap();
        let body = problem(res, 400).await;
        let pointers: Vec<String> = crate::helpers::field_errors(&body).into_iter().map(|(p, _)| p).collect();
        assert_eq!(pointers, [pointer], "{patch}: {body}");
    }
    let after = app.get_json(&url, &token).await;
    assert_eq!(after["autoStop"], created["autoStop"]);
}
