//! Provisioning seen from outside: streams, history, resumption, isolation.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{body_with, problem, valid_body, TestApp};

#[tokio::test]
async fn a_new_workstation_streams_its_phases_to_stopped() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("streamed")).await;
    let events = app.follow_to_end(&token, &id).await;

    // Sequence numbers start at 1 and have no gaps.
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    assert_eq!(events[0]["kind"], "status");
    assert_eq!(events[0]["status"], "provisioning");
    let phases: Vec<&str> =
        events.iter().filter(|e| e["kind"] == "phase").map(|e| e["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["allocating", "attaching-storage", "booting", "configuring"]);
    let progress: Vec<i64> =
        events.iter().filter(|e| e["kind"] == "phase").map(|e| e["progress"].as_i64().unwrap()).collect();
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "progress only grows: {progress:?}");
    assert!(events.iter().any(|e| e["kind"] == "log"));
    let last = events.last().unwrap();
    assert_eq!(last["status"], "stopped");
    assert_eq!(last["progress"], 100);
    for e in &events {
        assert_eq!(e["workstationId"], id.as_str());
        assert!(e["at"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    // The record says the same, and the history holds exactly the streamed events.
    let ws: Value =
        app.get(&format!("/v1/workstations/{id}"), &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(ws["status"], "stopped");
    let history = app.get_json(&format!("/v1/workstations/{id}/history"), &token).await;
    assert_eq!(history["events"].as_array().unwrap(), &events);
}

#[tokio::test]
async fn last_event_id_resumes_without_gap_or_duplicate() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("resumed")).await;
    let all = app.follow_to_end(&token, &id).await;
    let n = all.len() as i64;
    assert!(n >= 6, "{n} events");

    for from in [0, 1, n / 2, n - 1] {
        let mut stream =
            app.stream(&format!("/v1/workstations/{id}/events"), &token, Some(&from.to_string())).await;
        let mut seen = Vec::new();
        while let Some(event) = stream.next_within(Duration::from_millis(500)).await {
            let data: Value = serde_json::from_str(&event.data).unwrap();
            assert_eq!(
                event.id.as_deref(),
                Some(data["seq"].to_string().as_str()),
                "id: is the sequence number"
            );
            seen.push(data["seq"].as_i64().unwrap());
        }
        assert_eq!(seen, (from + 1..=n).collect::<Vec<_>>(), "resuming after {from}");
    }

    // The query parameter works for clients that cannot set headers.
    let res =
        app.get(&format!("/v1/workstations/{id}/events?lastEventId={}", n - 1), &token).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);

    // A resume point that is not a number is a 400, not a silent restart.
    let res = app
        .client
        .get(app.url(&format!("/v1/workstations/{id}/events")))
        .bearer_auth(&token)
        .header("last-event-id", "abc")
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
}

#[tokio::test]
async fn the_user_stream_carries_all_and_only_the_users_workstations() {
    let app = TestApp::spawn_with(|o| {
        o.provisioner = server::ProvisionerChoice::simulated(Duration::from_millis(100));
    })
    .await;
    let alice = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    let mut stream = app.stream("/v1/events", &alice, None).await;
    let a1 = app.create(&alice, &valid_body("a1")).await;
    let b1 = app.create(&bob, &valid_body("b1")).await;
    let a2 = app.create(&alice, &valid_body("a2")).await;

    let mut done = HashSet::new();
    let mut last_id = 0;
    while done.len() < 2 {
        let event = stream.next().await.expect("events for both workstations");
        let data: Value = serde_json::from_str(&event.data).unwrap();
        let ws = data["workstationId"].as_str().unwrap().to_owned();
        assert_ne!(ws, b1, "bob's workstation must not reach alice");
        assert!(ws == a1 || ws == a2);
        let id: i64 = event.id.unwrap().parse().unwrap();
        assert!(id > last_id, "ids increase on the user stream");
        assert_eq!(id, data["id"].as_i64().unwrap());
        last_id = id;
        if data["kind"] == "status" && data["status"] == "stopped" {
            done.insert(ws);
        }
    }
}

#[tokio::test]
async fn streams_and_history_of_other_users_are_404_and_need_auth() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    let id = app.create(&alice, &valid_body("private")).await;
    for path in [format!("/v1/workstations/{id}/events"), format!("/v1/workstations/{id}/history")] {
        let res = app.get(&path, &bob).send().await.unwrap();
        problem(res, 404).await;
        let res = app.client.get(app.url(&path)).send().await.unwrap();
        problem(res, 401).await;
    }
    let res = app.client.get(app.url("/v1/events")).send().await.unwrap();
    problem(res, 401).await;
}

#[tokio::test]
async fn beyond_capacity_a_create_fails_fast_with_the_alternatives() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;

    // The default catalog offers no H100 in ap-southeast-1.
    let res = app
        .post_json("/v1/workstations", &token, &body_with("no-h100", "NVIDIA H100 80GB", "ap-southeast-1"))
        .send()
        .await
        .unwrap();
    let body = problem(res, 409).await;
    assert_eq!(body["type"], "/problems/insufficient-capacity");
    assert_eq!(
        body["detail"],
        "No NVIDIA H100 80GB capacity in ap-southeast-1 (Asia Pacific (Singapore)): that GPU is not offered there"
    );
    assert_eq!(body["regionsWithGpu"], json!(["us-west-2", "us-east-1", "eu-west-1", "eu-central-1"]));
    let gpus: Vec<&str> =
        body["gpusInRegion"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    assert!(gpus.contains(&"NVIDIA L4") && !gpus.contains(&"NVIDIA H100 80GB"), "{gpus:?}");
    assert_eq!(app.workstation_count().await, 0);

    // eu-central-1 holds two A100s: the third is refused until one is gone.
    for n in 0..2 {
        app.create(&token, &body_with(&format!("a100-{n}"), "NVIDIA A100 80GB", "eu-central-1")).await;
    }
    let res = app
        .post_json("/v1/workstations", &token, &body_with("a100-2", "NVIDIA A100 80GB", "eu-central-1"))
        .send()
        .await
        .unwrap();
    let body = problem(res, 409).await;
    assert_eq!(
        body["detail"],
        "No NVIDIA A100 80GB capacity left in eu-central-1 (Europe (Frankfurt)): all 2 are in use"
    );
    // validateOnly gives the same answer.
    let res = app
        .post_json(
            "/v1/workstations?validateOnly=true",
            &token,
            &body_with("a100-2", "NVIDIA A100 80GB", "eu-central-1"),
        )
        .send()
        .await
        .unwrap();
    problem(res, 409).await;

    // The catalog shows it.
    let catalog: Value = app.get("/v1/catalog", &token).send().await.unwrap().json().await.unwrap();
    let entry = catalog["capacity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["region"] == "eu-central-1" && e["gpu"] == "NVIDIA A100 80GB")
        .unwrap()
        .clone();
    assert_eq!(
        entry,
        json!({"region": "eu-central-1", "gpu": "NVIDIA A100 80GB", "total": 2, "used": 2, "free": 0})
    );
    assert_eq!(catalog["ranges"]["cpuCores"], json!({"min": 1, "max": 128}));
    assert_eq!(catalog["gpus"].as_array().unwrap().len(), 7);
    assert_eq!(catalog["gpus"][0]["memoryGB"], 16);
    assert_eq!(catalog["regions"][0], json!({"id": "us-west-2", "name": "US West (Oregon)"}));
}

#[tokio::test]
async fn the_provisioner_still_refuses_what_has_no_capacity() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create_unchecked(&token, &body_with("no-h100", "NVIDIA H100 80GB", "ap-southeast-1")).await;
    let events = app.follow_to_end(&token, &id).await;
    let last = events.last().unwrap();
    assert_eq!(last["status"], "error");
    assert_eq!(
        last["message"],
        "No NVIDIA H100 80GB capacity in ap-southeast-1 (Asia Pacific (Singapore)): that GPU is not offered there"
    );
    let ws: Value =
        app.get(&format!("/v1/workstations/{id}"), &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(ws["status"], "error");
}

#[tokio::test]
async fn shutdown_closes_streams_with_a_final_event_and_finishes() {
    let mut app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("bye")).await;
    app.follow_to_end(&token, &id).await;
    let mut stream = app.stream("/v1/events", &token, None).await;
    // Drain the stored history first.
    while stream.next_within(Duration::from_millis(300)).await.is_some() {}

    app.shut_down();
    let last = stream.next().await.expect("a final event");
    assert_eq!(last.event.as_deref(), Some("shutdown"));
    assert!(stream.next_within(Duration::from_secs(5)).await.is_none(), "the stream ends");
    assert!(app.stopped().await, "the server stops once streams are closed");
}

#[tokio::test]
async fn a_stream_resuming_far_back_gets_every_stored_event_across_batches() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("chatty")).await;
    app.follow_to_end(&token, &id).await;
    // Pad the history past one read batch.
    let user = app::backend::store::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    let extra = app::backend::store::EVENT_BATCH + 5;
    for n in 0..extra {
        let mut tx = app::backend::store::begin_write(&app.state.pool).await.unwrap();
        let line = format!("line {n}");
        app::backend::store::append_event(
            &mut tx,
            app::backend::store::NewEvent {
                workstation_id: &id,
                owner_id: user.id,
                kind: app::domain::EventKind::Log,
                status: app::domain::WorkstationStatus::Stopped,
                phase: None,
                progress: None,
                message: Some(&line),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let total = app::backend::store::count_events(&app.state.pool).await.unwrap();
    let mut stream = app.stream("/v1/events", &token, Some("0")).await;
    let mut ids = Vec::new();
    while let Some(event) = stream.next_within(Duration::from_millis(1000)).await {
        ids.push(event.id.unwrap().parse::<i64>().unwrap());
    }
    assert_eq!(ids.len() as i64, total, "every stored event arrives once");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}
