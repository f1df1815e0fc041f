//! One admission order for every way in: a create and `validateOnly` give
//! the same answer to each combination of failures, and it is the first
//! failure in the order the API document states (name, quota, capacity).

use std::time::Duration;

use app::backend::store;
use app::domain::QuotaOverrides;
use serde_json::Value;
use server::ProvisionerChoice;

use crate::helpers::{body_with, problem, valid_body, TestApp};

/// The admission checks a request can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failing {
    Name,
    Quota,
    Capacity,
}

/// eu-central-1 holds two A100s (the built-in catalog); another user takes both.
async fn fill_the_a100s(app: &TestApp) {
    let token = app.token_for("filler").await;
    for n in 0..2 {
        app.create(&token, &body_with(&format!("a100-{n}"), "NVIDIA A100 80GB", "eu-central-1")).await;
    }
}

/// A user for whom the request fails exactly `failing`, and the request.
async fn request_failing(app: &TestApp, user: &str, failing: &[Failing]) -> (String, Value) {
    let token = app.token_for(user).await;
    let mut held_gpus = 0;
    if failing.contains(&Failing::Name) {
        app.create(&token, &valid_body("taken")).await;
        held_gpus += 1;
    }
    if failing.contains(&Failing::Quota) {
        // No room for one more GPU.
        let owner = store::find_user(&app.state.pool, user).await.unwrap().unwrap();
        store::set_user_quota(
            &app.state.pool,
            owner.id,
            QuotaOverrides { gpus: Some(held_gpus), ..Default::default() },
        )
        .await
        .unwrap();
    }
    let name = if failing.contains(&Failing::Name) { "taken" } else { "fresh" };
    let body = if failing.contains(&Failing::Capacity) {
        body_with(name, "NVIDIA A100 80GB", "eu-central-1")
    } else {
        valid_body(name)
    };
    (token, body)
}

/// Status, problem type and the pointers of its field errors.
async fn answer(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, String, Vec<String>) {
    let res = app.post_json(path, token, body).send().await.unwrap();
    let status = res.status().as_u16();
    let body = problem(res, status).await;
    let pointers = body["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["pointer"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default();
    (status, body["type"].as_str().unwrap_or_default().to_owned(), pointers)
}

#[tokio::test]
async fn every_combination_of_failures_gets_the_same_first_answer_from_create_and_validate_only() {
    use Failing::*;
    let app = TestApp::spawn().await;
    fill_the_a100s(&app).await;
    let combinations: [&[Failing]; 7] = [
        &[Name],
        &[Quota],
        &[Capacity],
        &[Name, Quota],
        &[Name, Capacity],
        &[Quota, Capacity],
        &[Name, Quota, Capacity],
    ];
    for (n, failing) in combinations.into_iter().enumerate() {
        let (token, body) = request_failing(&app, &format!("user-{n}"), failing).await;
        let validated = answer(&app, "/v1/workstations?validateOnly=true", &token, &body).await;
        let created = answer(&app, "/v1/workstations", &token, &body).await;
        assert_eq!(validated, created, "{failing:?}: validateOnly and create disagree");
        // The first failure in the stated order answers.
        let expected = match failing[0] {
            Name => (409, "/problems/conflict".to_owned(), vec!["#/name".to_owned()]),
            Quota => (403, "/problems/quota-exceeded".to_owned(), vec![]),
            Capacity => (409, "/problems/insufficient-capacity".to_owned(), vec![]),
        };
        assert_eq!(created, expected, "{failing:?}");
    }
}

#[tokio::test]
async fn a_retry_checks_quota_before_capacity_as_a_create_does() {
    // Slow phases: the cancel lands while it provisions.
    let app =
        TestApp::spawn_with(|o| o.provisioner = ProvisionerChoice::simulated(Duration::from_secs(5))).await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &body_with("failed", "NVIDIA A100 80GB", "eu-central-1")).await;
    let act = |action: &str| app.post_json(&format!("/v1/workstations/{id}/{action}"), &token, &Value::Null);
    assert_eq!(act("cancel").send().await.unwrap().status().as_u16(), 202);
    // Failed, it holds nothing; then its place and its quota are taken.
    app.wait_for_status(&token, &id, "error", Duration::from_secs(10)).await;
    fill_the_a100s(&app).await;
    let owner = store::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    store::set_user_quota(&app.state.pool, owner.id, QuotaOverrides { gpus: Some(0), ..Default::default() })
        .await
        .unwrap();
    let body = problem(act("retry").send().await.unwrap(), 403).await;
    assert_eq!(body["type"], "/problems/quota-exceeded");
    // With the quota back, the place is what is missing.
    store::set_user_quota(&app.state.pool, owner.id, QuotaOverrides { gpus: Some(32), ..Default::default() })
        .await
        .unwrap();
    let body = problem(act("retry").send().await.unwrap(), 409).await;
    assert_eq!(body["type"], "/problems/insufficient-capacity");
}
