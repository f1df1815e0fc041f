//! Usage: every running stretch is recorded with the configuration it held,
//! and `GET /v1/usage` sums them over a period.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{field_errors, problem, valid_body, TestApp};

/// Runs the workstation for about `for_how_long`; how long the API showed it running.
async fn run_for(app: &TestApp, token: &str, id: &str, for_how_long: Duration) -> Duration {
    app.act_ok(token, id, "launch").await;
    app.wait_for_status(token, id, "running", Duration::from_secs(10)).await;
    let began = Instant::now();
    tokio::time::sleep(for_how_long).await;
    app.act_ok(token, id, "stop").await;
    app.wait_for_status(token, id, "stopped", Duration::from_secs(10)).await;
    began.elapsed()
}

#[tokio::test]
async fn two_runs_are_two_intervals_and_the_totals_follow_the_configuration() {
    let app = TestApp::spawn().await;
    let token = app.token_for("ada").await;
    let created = Instant::now();
    let id = app.create(&token, &valid_body("metered")).await; // 8 cores, 32 GB, an RTX A5000, 512 GB
    app.wait_for_status(&token, &id, "stopped", Duration::from_secs(10)).await;
    let first = run_for(&app, &token, &id, Duration::from_millis(1200)).await;
    let second = run_for(&app, &token, &id, Duration::from_millis(800)).await;
    let existed = created.elapsed();

    let report = app.get_json("/v1/usage", &token).await;
    let ws =
        report["workstations"].as_array().unwrap().iter().find(|w| w["id"] == id.as_str()).cloned().unwrap();
    assert_eq!(ws["name"], "metered");
    assert_eq!(ws["runningIntervals"], 2, "{ws}");
    let ran = ws["runningHours"].as_f64().unwrap() * 3600.0;
    let measured = (first + second).as_secs_f64();
    assert!((ran - measured).abs() < 1.0, "ran {ran} s by the report, {measured} s as seen");
    // What the configuration held, times the time the test saw it run (within a second).
    let hours = measured / 3600.0;
    let second = 1.0 / 3600.0;
    assert!((ws["cpuCoreHours"].as_f64().unwrap() - 8.0 * hours).abs() < 8.0 * second, "{ws}");
    assert!((ws["memoryGbHours"].as_f64().unwrap() - 32.0 * hours).abs() < 32.0 * second, "{ws}");
    assert!((ws["gpuHours"]["NVIDIA RTX A5000"].as_f64().unwrap() - hours).abs() < second, "{ws}");
    let stored_days = ws["storageGbDays"].as_f64().unwrap() / 512.0 * 86_400.0;
    assert!(
        (stored_days - existed.as_secs_f64()).abs() < 1.0,
        "storage for {stored_days} s, existed {existed:?}"
    );
    assert_eq!(report["total"]["runningIntervals"], 2);
    // One workstation: the totals are its figures.
    for field in ["runningHours", "cpuCoreHours", "memoryGbHours", "storageGbDays"] {
        assert_eq!(report["total"][field], ws[field], "{field}: {report}");
    }
    assert_eq!(report["total"]["gpuHours"], ws["gpuHours"], "{report}");

    // A deleted workstation's usage stays; another user's is not yours.
    app.delete_and_wait(&token, &id).await;
    let after = app.get_json(&format!("/v1/usage?workstation={id}"), &token).await;
    assert_eq!(after["workstations"][0]["runningIntervals"], 2, "{after}");
    let other = app.token_for("bo").await;
    let theirs = app.get_json("/v1/usage", &other).await;
    assert_eq!(theirs["workstations"], Value::Array(vec![]));
    assert_eq!(theirs["total"]["runningHours"], 0.0);
}

#[tokio::test]
async fn periods_are_checked_and_clip_what_they_count() {
    let app = TestApp::spawn().await;
    let token = app.token_for("ada").await;
    let res = app.get("/v1/usage?from=yesterday&to=2026-01-01", &token).send().await.unwrap();
    let body = problem(res, 400).await;
    assert_eq!(field_errors(&body)[0].0, "#/from");
    let res = app.get("/v1/usage?from=2026-11-02&to=2026-11-01", &token).send().await.unwrap();
    let body = problem(res, 400).await;
    assert_eq!(field_errors(&body), vec![("#/to".to_owned(), "must be after from".to_owned())]);
    // A period long past holds nothing of today's.
    let id = app.create(&token, &valid_body("now")).await;
    app.wait_for_status(&token, &id, "stopped", Duration::from_secs(10)).await;
    let old = app.get_json("/v1/usage?from=2000-01-01&to=2000-02-01T00:00:00Z", &token).await;
    assert_eq!(old["workstations"], Value::Array(vec![]), "{old}");
    assert_eq!(old["from"], "2000-01-01T00:00:00.000Z");
    assert_eq!(old["to"], "2000-02-01T00:00:00.000Z");
}
