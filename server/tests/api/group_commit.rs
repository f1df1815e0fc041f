//! Concurrent creates share one transaction and one fsync (group commit),
//! and every check stays as exact as one transaction per create.

use std::collections::HashSet;

use app::backend::repo;
use futures_util::future::join_all;
use serde_json::Value;

use crate::helpers::{body_with, field_errors, valid_body, TestApp};

/// Sends every body at once; the statuses and bodies, in order.
async fn create_all(app: &TestApp, token: &str, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let sends = bodies.iter().map(|body| {
        let req = app.post_json("/v1/workstations", token, body);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    });
    join_all(sends).await
}

#[tokio::test]
async fn creates_waiting_together_are_stored_in_one_commit() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let alice = repo::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    let specs: Vec<_> = (0..12)
        .map(|n| {
            app::domain::CreateWorkstationRequest::from_json(valid_body(&format!("together-{n}")))
                .unwrap()
                .parse(&app.state.catalog)
                .unwrap()
        })
        .collect();
    let before = app.state.creates.counts();
    // All twelve are queued before the writer runs (one test thread).
    let creates = specs
        .iter()
        .map(|spec| app.state.creates.create(alice.id, app::backend::workstations::new_id(), spec.clone()));
    let stored = join_all(creates).await;
    assert!(stored.iter().all(Result::is_ok), "{:?}", stored.iter().find(|r| r.is_err()));
    let after = app.state.creates.counts();
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 12), "one commit for twelve creates");
    // Each is a real record with its job and first event.
    for ws in stored.into_iter().map(Result::unwrap) {
        let res = app.get(&format!("/v1/workstations/{}", ws.id), &token).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let history = app.get_json(&format!("/v1/workstations/{}/history", ws.id), &token).await;
        assert_eq!(history["events"][0]["seq"], 1);
        assert_eq!(history["events"][0]["phase"], "queued");
    }
    assert_eq!(app.workstation_count().await, 12);
}

#[tokio::test]
async fn concurrent_creates_never_take_more_capacity_than_there_is() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    // eu-central-1 holds two A100s.
    let bodies =
        (0..10).map(|n| body_with(&format!("a100-{n}"), "NVIDIA A100 80GB", "eu-central-1")).collect();
    let answers = create_all(&app, &token, bodies).await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 2, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(body["type"], "/problems/insufficient-capacity");
        assert!(body["regionsWithGpu"].as_array().is_some_and(|r| !r.is_empty()), "{body}");
    }
    assert_eq!(app.workstation_count().await, 2);
}

#[tokio::test]
async fn concurrent_creates_never_pass_a_quota() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let alice = repo::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    // Room for three of the eight-core workstations.
    repo::set_user_quota(&app.state.pool, alice.id, [Some(24), None, None, None]).await.unwrap();
    let answers = create_all(&app, &token, (0..10).map(|n| valid_body(&format!("q-{n}"))).collect()).await;
    assert_eq!(answers.iter().filter(|(status, _)| *status == 201).count(), 3, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 403, "{body}");
        assert_eq!(body["quota"], "cpuCores");
    }
    let quota: Value = app.get("/v1/quota", &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(quota["used"]["cpuCores"], 24);
}

#[tokio::test]
async fn of_concurrent_creates_with_one_name_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    let answers = create_all(&app, &token, (0..8).map(|_| valid_body("twin")).collect()).await;
    assert_eq!(answers.iter().filter(|(status, _)| *status == 201).count(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(field_errors(body)[0].0, "#/name", "{body}");
    }
    // Another user's name is their own, even in the same commit.
    let mixed = create_all(&app, &bob, vec![valid_body("twin"), valid_body("other")]).await;
    assert!(mixed.iter().all(|(status, _)| *status == 201), "{mixed:?}");
    let ids: HashSet<_> = mixed.iter().map(|(_, body)| body["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 2);
}

#[tokio::test]
async fn a_create_for_a_deleted_user_fails_alone() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let gone_user = repo::create_user(&app.state.pool, "gone").await.unwrap();
    let spec = app::domain::CreateWorkstationRequest::from_json(valid_body("orphan"))
        .unwrap()
        .parse(&app.state.catalog)
        .unwrap();
    sqlx::query("DELETE FROM users WHERE id = ?").bind(gone_user.id).execute(&app.state.pool).await.unwrap();
    let alice_spec = app::domain::CreateWorkstationRequest::from_json(valid_body("kept"))
        .unwrap()
        .parse(&app.state.catalog)
        .unwrap();
    let alice = repo::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    let new_id = app::backend::workstations::new_id;
    let (orphan, kept) = tokio::join!(
        app.state.creates.create(gone_user.id, new_id(), spec),
        app.state.creates.create(alice.id, new_id(), alice_spec),
    );
    assert!(orphan.is_err(), "{orphan:?}");
    let kept = kept.unwrap();
    let res = app.get(&format!("/v1/workstations/{}", kept.id), &token).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(app.workstation_count().await, 1);
}
