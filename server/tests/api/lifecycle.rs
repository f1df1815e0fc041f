//! Launch, stop, cancel, retry, delete: the state machine over HTTP.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::ProvisionerChoice;

use crate::helpers::{body_with, problem, valid_body, TestApp};

/// Polls until the workstation is `status` with nothing in progress.
async fn settle(app: &TestApp, token: &str, id: &str, status: &str) -> (Value, String) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let res = app.get(&format!("/v1/workstations/{id}"), token).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        let ws: Value = res.json().await.unwrap();
        if ws["status"] == status && ws.get("phase").is_none() {
            return (ws, etag);
        }
        assert!(Instant::now() < deadline, "never settled in {status}: {ws}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn act(app: &TestApp, token: &str, id: &str, action: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/workstations/{id}/{action}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn history(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let res = app.get(&format!("/v1/workstations/{id}/history"), token).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.json::<Value>().await.unwrap()["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn launch_stop_and_delete_a_workstation() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("cycle")).await;
    settle(&app, &token, &id, "stopped").await;

    let res = act(&app, &token, &id, "launch").await;
    assert_eq!(res.status().as_u16(), 202);
    assert!(res.headers().contains_key("etag"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "stopped");
    assert_eq!(body["phase"], "starting");
    settle(&app, &token, &id, "running").await;

    let res = act(&app, &token, &id, "stop").await;
    assert_eq!(res.status().as_u16(), 202);
    assert_eq!(res.json::<Value>().await.unwrap()["phase"], "stopping");
    settle(&app, &token, &id, "stopped").await;

    let res = app
        .client
        .delete(app.url(&format!("/v1/workstations/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    assert_eq!(res.json::<Value>().await.unwrap()["phase"], "deleting");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let res = app.get(&format!("/v1/workstations/{id}"), &token).send().await.unwrap();
        if res.status().as_u16() == 404 {
            break;
        }
        assert!(Instant::now() < deadline, "never deleted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Gone from the list, but its history stays readable by its owner.
    let list: Value = app.get("/v1/workstations", &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["workstations"], json!([]));
    let events = history(&app, &token, &id).await;
    let statuses: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["kind"] == "status")
        .map(|e| (e["status"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("provisioning", "Queued for provisioning"),
            ("stopped", "Ready: the workstation is provisioned and stopped"),
            ("running", "Running"),
            ("stopped", "Stopped"),
            ("stopped", "Deleted"),
        ]
    );
    assert_eq!(events.last().unwrap()["phase"], "deleted");
    // The name is free again.
    app.create(&token, &valid_body("cycle")).await;
}

#[tokio::test]
async fn deleting_a_running_workstation_stops_it_first() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("busy")).await;
    settle(&app, &token, &id, "stopped").await;
    assert_eq!(act(&app, &token, &id, "launch").await.status().as_u16(), 202);
    settle(&app, &token, &id, "running").await;
    app.delete_and_wait(&token, &id).await;
    let phases: Vec<String> = history(&app, &token, &id)
        .await
        .iter()
        .filter(|e| e["kind"] == "phase")
        .map(|e| e["phase"].as_str().unwrap().to_owned())
        .collect();
    let tail = &phases[phases.len() - 3..];
    assert_eq!(tail, ["deleting", "stopping", "deleting"], "{phases:?}");
}

#[tokio::test]
async fn forbidden_transitions_are_409_naming_the_status_and_the_way_out() {
    let app =
        TestApp::spawn_with(|o| o.provisioner = ProvisionerChoice::simulated(Duration::from_millis(300)))
            .await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("strict")).await;

    // While provisioning, only cancel is allowed.
    for action in ["launch", "stop", "retry"] {
        let body = problem(act(&app, &token, &id, action).await, 409).await;
        assert_eq!(body["type"], "/problems/invalid-transition");
        assert_eq!(body["currentStatus"], "provisioning");
        assert_eq!(body["allowedActions"], json!(["cancel"]));
        assert_eq!(
            body["detail"],
            format!("cannot {action} a workstation that is provisioning; allowed now: cancel")
        );
    }
    let res = app
        .client
        .delete(app.url(&format!("/v1/workstations/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    problem(res, 409).await;

    settle(&app, &token, &id, "stopped").await;
    let body = problem(act(&app, &token, &id, "stop").await, 409).await;
    assert_eq!(body["currentStatus"], "stopped");
    assert_eq!(body["allowedActions"], json!(["launch", "reconfigure", "delete"]));
    problem(act(&app, &token, &id, "cancel").await, 409).await;

    // While starting, nothing else may start.
    assert_eq!(act(&app, &token, &id, "launch").await.status().as_u16(), 202);
    let body = problem(act(&app, &token, &id, "stop").await, 409).await;
    assert_eq!(body["currentPhase"], "starting");
    assert_eq!(body["allowedActions"], json!([]));

    // Unknown actions and other users' workstations are 404.
    problem(act(&app, &token, &id, "reboot").await, 404).await;
    problem(act(&app, &token, &id, "delete").await, 404).await;
    let bob = app.token_for("bob").await;
    problem(act(&app, &bob, &id, "stop").await, 404).await;
    let res =
        app.client.delete(app.url(&format!("/v1/workstations/{id}"))).bearer_auth(&bob).send().await.unwrap();
    problem(res, 404).await;
}

#[tokio::test]
async fn if_match_guards_against_lost_updates() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("guarded")).await;
    let (_, etag) = settle(&app, &token, &id, "stopped").await;

    let res = app
        .client
        .post(app.url(&format!("/v1/workstations/{id}/launch")))
        .bearer_auth(&token)
        .header("if-match", "\"v1\"")
        .send()
        .await
        .unwrap();
    let body = problem(res, 412).await;
    assert_eq!(body["currentETag"], etag.as_str());

    let res = app
        .client
        .post(app.url(&format!("/v1/workstations/{id}/launch")))
        .bearer_auth(&token)
        .header("if-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    assert_ne!(res.headers()["etag"].to_str().unwrap(), etag, "the ETag changes with the state");
}

#[tokio::test]
async fn of_two_concurrent_transitions_one_wins() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("racy")).await;
    settle(&app, &token, &id, "stopped").await;
    let (a, b) = tokio::join!(act(&app, &token, &id, "launch"), act(&app, &token, &id, "launch"));
    let mut codes = [a.status().as_u16(), b.status().as_u16()];
    codes.sort_unstable();
    assert_eq!(codes, [202, 409]);
    let (c, d) = tokio::join!(
        act(&app, &token, &id, "stop"),
        app.client.delete(app.url(&format!("/v1/workstations/{id}"))).bearer_auth(&token).send()
    );
    // Still starting: both are refused, nothing is left half-done.
    assert_eq!(c.status().as_u16(), 409);
    assert_eq!(d.unwrap().status().as_u16(), 409);
    settle(&app, &token, &id, "running").await;
}

#[tokio::test]
async fn cancel_ends_provisioning_in_error_and_retry_gets_out_of_it() {
    let app =
        TestApp::spawn_with(|o| o.provisioner = ProvisionerChoice::simulated(Duration::from_millis(400)))
            .await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("regret")).await;
    // Let it start, then cancel the running job.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !history(&app, &token, &id).await.iter().any(|e| e["phase"] == "allocating") {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(act(&app, &token, &id, "cancel").await.status().as_u16(), 202);
    let (ws, _) = settle(&app, &token, &id, "error").await;
    assert_eq!(ws["status"], "error");
    let last = history(&app, &token, &id).await.last().unwrap().clone();
    assert_eq!(last["message"], "Cancelled");

    // No dead end: retry provisions it again.
    let res = act(&app, &token, &id, "retry").await;
    assert_eq!(res.status().as_u16(), 202);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "provisioning");
    settle(&app, &token, &id, "stopped").await;
}

#[tokio::test]
async fn a_queued_job_is_cancelled_at_once() {
    // One worker, busy with a slow job: the second job waits in the queue.
    let app = TestApp::spawn_with(|o| {
        o.provisioner = ProvisionerChoice::simulated(Duration::from_millis(500));
        o.engine.workers = 1;
    })
    .await;
    let token = app.token_for("alice").await;
    let _first = app.create(&token, &valid_body("first")).await;
    let second = app.create(&token, &valid_body("second")).await;
    let res = act(&app, &token, &second, "cancel").await;
    assert_eq!(res.status().as_u16(), 202);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "error");
    let events = history(&app, &token, &second).await;
    assert!(events.iter().all(|e| e["kind"] != "phase"), "it never started: {events:#?}");
}

async fn patch(
    app: &TestApp,
    token: &str,
    id: &str,
    body: Value,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut req = app.client.patch(app.url(&format!("/v1/workstations/{id}"))).bearer_auth(token).json(&body);
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn reconfigure_a_stopped_workstation_now() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("grow")).await;
    let (_, etag) = settle(&app, &token, &id, "stopped").await;

    let res =
        patch(&app, &token, &id, json!({"configuration": {"cpuCores": 16, "storageGB": 1024}}), Some(&etag))
            .await;
    assert_eq!(res.status().as_u16(), 200);
    let new_etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let ws: Value = res.json().await.unwrap();
    assert_eq!(
        ws["configuration"],
        json!({"cpuCores": 16, "memoryGB": 32, "gpu": "NVIDIA RTX A5000", "storageGB": 1024, "region": "us-west-2"})
    );
    assert!(ws.get("pendingConfiguration").is_none());

    // The old ETag is stale now.
    let res = patch(&app, &token, &id, json!({"configuration": {"cpuCores": 8}}), Some(&etag)).await;
    problem(res, 412).await;
    // Storage only grows; the region stays; the create rules apply.
    let res =
        patch(&app, &token, &id, json!({"configuration": {"storageGB": 512, "memoryGB": 0}}), None).await;
    let body = problem(res, 400).await;
    assert_eq!(
        crate::helpers::field_errors(&body),
        [
            ("#/configuration/memoryGB".to_owned(), "must be between 1 GB and 1024 GB".to_owned()),
            ("#/configuration/storageGB".to_owned(), "can only grow: it is 1024 GB now".to_owned()),
        ]
    );
    let res = patch(&app, &token, &id, json!({"configuration": {"region": "eu-west-1"}}), None).await;
    problem(res, 400).await;
    let res = app
        .client
        .patch(app.url(&format!("/v1/workstations/{id}")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
    let events = history(&app, &token, &id).await;
    assert_eq!(
        events.last().unwrap()["message"],
        "Reconfigured: 16 vCPUs, 32 GB memory, NVIDIA RTX A5000, 1024 GB storage"
    );
}

#[tokio::test]
async fn a_running_workstation_takes_changes_at_its_next_launch() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("later")).await;
    settle(&app, &token, &id, "stopped").await;
    assert_eq!(act(&app, &token, &id, "launch").await.status().as_u16(), 202);
    settle(&app, &token, &id, "running").await;

    // Now is refused with the way out.
    let body =
        problem(patch(&app, &token, &id, json!({"configuration": {"memoryGB": 64}}), None).await, 409).await;
    assert_eq!(body["currentStatus"], "running");
    assert!(body["detail"].as_str().unwrap().contains("nextStart"));

    let res =
        patch(&app, &token, &id, json!({"configuration": {"memoryGB": 64}, "apply": "nextStart"}), None)
            .await;
    assert_eq!(res.status().as_u16(), 200);
    let ws: Value = res.json().await.unwrap();
    assert_eq!(ws["configuration"]["memoryGB"], 32, "unchanged while running");
    assert_eq!(ws["pendingConfiguration"]["memoryGB"], 64);

    assert_eq!(act(&app, &token, &id, "stop").await.status().as_u16(), 202);
    settle(&app, &token, &id, "stopped").await;
    assert_eq!(act(&app, &token, &id, "launch").await.status().as_u16(), 202);
    let (ws, _) = settle(&app, &token, &id, "running").await;
    assert_eq!(ws["configuration"]["memoryGB"], 64, "applied at the launch");
    assert!(ws.get("pendingConfiguration").is_none());
}

#[tokio::test]
async fn reconfigure_is_refused_while_provisioning_and_for_others() {
    let app =
        TestApp::spawn_with(|o| o.provisioner = ProvisionerChoice::simulated(Duration::from_millis(300)))
            .await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("early")).await;
    let body =
        problem(patch(&app, &token, &id, json!({"configuration": {"cpuCores": 4}}), None).await, 409).await;
    assert_eq!(body["allowedActions"], json!(["cancel"]));
    let bob = app.token_for("bob").await;
    problem(patch(&app, &bob, &id, json!({"configuration": {"cpuCores": 4}}), None).await, 404).await;
}

/// Many writers at once (requests and workers): no request fails with a
/// locked database.
#[tokio::test]
async fn concurrent_actions_and_jobs_never_fail_on_a_busy_database() {
    let app = TestApp::spawn_with(|o| {
        o.provisioner = ProvisionerChoice::simulated(Duration::from_millis(5));
        o.engine.workers = 4;
    })
    .await;
    let token = app.token_for("alice").await;
    let creates = (0..12).map(|n| {
        let body = valid_body(&format!("busy-{n}"));
        let req = app.post_json("/v1/workstations", &token, &body);
        async move { req.send().await.unwrap() }
    });
    let mut ids = Vec::new();
    for res in futures_util::future::join_all(creates).await {
        assert_eq!(res.status().as_u16(), 201);
        ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        settle(&app, &token, id, "stopped").await;
    }
    let launches = ids.iter().map(|id| act(&app, &token, id, "launch"));
    for res in futures_util::future::join_all(launches).await {
        assert_eq!(res.status().as_u16(), 202);
    }
    for id in &ids {
        settle(&app, &token, id, "running").await;
    }
    let deletes = ids.iter().map(|id| {
        let req = app.client.delete(app.url(&format!("/v1/workstations/{id}"))).bearer_auth(&token);
        async move { req.send().await.unwrap() }
    });
    for res in futures_util::future::join_all(deletes).await {
        assert_eq!(res.status().as_u16(), 202);
    }
}

#[tokio::test]
async fn a_failed_workstation_can_be_deleted() {
    let app =
        TestApp::spawn_with(|o| o.provisioner = ProvisionerChoice::simulated(Duration::from_millis(300)))
            .await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("doomed")).await;
    assert_eq!(act(&app, &token, &id, "cancel").await.status().as_u16(), 202);
    settle(&app, &token, &id, "error").await;
    app.delete_and_wait(&token, &id).await;
    assert_eq!(history(&app, &token, &id).await.last().unwrap()["message"], "Deleted");
}

/// Capacity is held per GPU type and region: changing a workstation's GPU
/// type (now, or for its next launch) needs room for the new one.
#[tokio::test]
async fn moving_a_workstation_needs_room_where_it_goes() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    // eu-central-1 holds two A100s: take both.
    for n in 0..2 {
        let id =
            app.create(&token, &body_with(&format!("a100-{n}"), "NVIDIA A100 80GB", "eu-central-1")).await;
        settle(&app, &token, &id, "stopped").await;
    }
    let id = app.create(&token, &body_with("mover", "NVIDIA L4", "eu-central-1")).await;
    settle(&app, &token, &id, "stopped").await;
    let to_full = json!({"configuration": {"gpu": "NVIDIA A100 80GB"}});
    let body = problem(patch(&app, &token, &id, to_full.clone(), None).await, 409).await;
    assert_eq!(body["type"], "/problems/insufficient-capacity");
    let (ws, _) = settle(&app, &token, &id, "stopped").await;
    assert_eq!(ws["configuration"]["gpu"], "NVIDIA L4", "unchanged");

    // Asked for while running (to apply at the next launch): refused as well.
    assert_eq!(act(&app, &token, &id, "launch").await.status().as_u16(), 202);
    settle(&app, &token, &id, "running").await;
    let mut later = to_full.clone();
    later["apply"] = json!("nextStart");
    let body = problem(patch(&app, &token, &id, later, None).await, 409).await;
    assert_eq!(body["type"], "/problems/insufficient-capacity");

    // Once one is gone, the move is fine.
    let first = app.get_json("/v1/workstations?namePrefix=a100-0", &token).await;
    app.delete_and_wait(&token, first["workstations"][0]["id"].as_str().unwrap()).await;
    assert_eq!(act(&app, &token, &id, "stop").await.status().as_u16(), 202);
    settle(&app, &token, &id, "stopped").await;
    let res = patch(&app, &token, &id, to_full, None).await;
    assert_eq!(res.status().as_u16(), 200);
    let ws: Value = res.json().await.unwrap();
    assert_eq!(ws["configuration"]["gpu"], "NVIDIA A100 80GB");
}

/// A change recorded for the next launch, and a retry of a failed
/// workstation, take capacity only when they apply: checked again then.
#[tokio::test]
async fn a_recorded_move_and_a_retry_are_checked_when_they_apply() {
    let app = TestApp::spawn_with(|o| {
        o.provisioner = ProvisionerChoice::simulated(Duration::from_millis(100));
        o.engine.workers = 1;
    })
    .await;
    let token = app.token_for("alice").await;
    // A failed A100 in eu-central-1 holds nothing.
    let blocker = app.create(&token, &body_with("blocker", "NVIDIA L4", "us-east-1")).await;
    let doomed = app.create(&token, &body_with("doomed", "NVIDIA A100 80GB", "eu-central-1")).await;
    assert_eq!(act(&app, &token, &doomed, "cancel").await.status().as_u16(), 202);
    settle(&app, &token, &doomed, "error").await;
    settle(&app, &token, &blocker, "stopped").await;
    // A running L4 asks for an A100 at its next launch, while there is room.
    let mover = app.create(&token, &body_with("mover", "NVIDIA L4", "eu-central-1")).await;
    settle(&app, &token, &mover, "stopped").await;
    assert_eq!(act(&app, &token, &mover, "launch").await.status().as_u16(), 202);
    settle(&app, &token, &mover, "running").await;
    let later = json!({"configuration": {"gpu": "NVIDIA A100 80GB"}, "apply": "nextStart"});
    assert_eq!(patch(&app, &token, &mover, later, None).await.status().as_u16(), 200);
    // Then both A100s are taken.
    for n in 0..2 {
        app.create(&token, &body_with(&format!("a100-{n}"), "NVIDIA A100 80GB", "eu-central-1")).await;
    }
    let body = problem(act(&app, &token, &doomed, "retry").await, 409).await;
    assert_eq!(body["type"], "/problems/insufficient-capacity");
    assert_eq!(act(&app, &token, &mover, "stop").await.status().as_u16(), 202);
    settle(&app, &token, &mover, "stopped").await;
    let body = problem(act(&app, &token, &mover, "launch").await, 409).await;
    assert_eq!(body["type"], "/problems/insufficient-capacity");
    let (ws, _) = settle(&app, &token, &mover, "stopped").await;
    assert_eq!(ws["configuration"]["gpu"], "NVIDIA L4", "nothing applied");
}
