//! Listing a page at a time, filters, and `validateOnly`.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::{field_errors, problem, valid_body, TestApp};

fn body(name: &str, gpu: &str, region: &str) -> Value {
    let mut b = valid_body(name);
    b["configuration"]["gpu"] = json!(gpu);
    b["configuration"]["region"] = json!(region);
    b
}

async fn page(app: &TestApp, token: &str, query: &str) -> Value {
    let res = app.get(&format!("/v1/workstations{query}"), token).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200, "{query}");
    res.json().await.unwrap()
}

fn names(page: &Value) -> Vec<String> {
    page["workstations"].as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn pages_have_no_skips_or_repeats_even_with_inserts_in_between() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    for n in 0..7 {
        app.create(&token, &valid_body(&format!("ws-{n}"))).await;
    }
    let first = page(&app, &token, "?limit=3").await;
    assert_eq!(names(&first), ["ws-6", "ws-5", "ws-4"]);
    let token1 = first["nextPageToken"].as_str().unwrap().to_owned();

    // Created between pages: newer than the cursor, so on no later page.
    app.create(&token, &valid_body("late")).await;

    let second = page(&app, &token, &format!("?limit=3&pageToken={token1}")).await;
    assert_eq!(names(&second), ["ws-3", "ws-2", "ws-1"]);
    let token2 = second["nextPageToken"].as_str().unwrap().to_owned();
    let third = page(&app, &token, &format!("?limit=3&pageToken={token2}")).await;
    assert_eq!(names(&third), ["ws-0"]);
    assert!(third.get("nextPageToken").is_none(), "the last page says so");

    let mut seen = HashSet::new();
    for p in [&first, &second, &third] {
        for n in names(p) {
            assert!(seen.insert(n.clone()), "{n} repeated");
        }
    }
    assert_eq!(seen.len(), 7);
    // The default page holds them all, newest first.
    assert_eq!(names(&page(&app, &token, "").await)[0], "late");
}

#[tokio::test]
async fn filters_by_status_region_gpu_and_name_prefix() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    app.create(&token, &body("dev-a", "NVIDIA L4", "us-east-1")).await;
    app.create(&token, &body("dev-b", "NVIDIA A10G", "us-east-1")).await;
    app.create(&token, &body("render", "NVIDIA L4", "eu-west-1")).await;
    let failing = app.create_unchecked(&token, &body("Dev_c", "NVIDIA H100 80GB", "ap-southeast-1")).await;
    app.follow_to_end(&token, &failing).await;

    assert_eq!(names(&page(&app, &token, "?region=us-east-1").await), ["dev-b", "dev-a"]);
    assert_eq!(names(&page(&app, &token, "?gpu=NVIDIA%20L4").await), ["render", "dev-a"]);
    assert_eq!(names(&page(&app, &token, "?namePrefix=dev").await), ["Dev_c", "dev-b", "dev-a"]);
    assert_eq!(names(&page(&app, &token, "?namePrefix=dev-").await), ["dev-b", "dev-a"]);
    assert_eq!(names(&page(&app, &token, "?namePrefix=de%25").await), Vec::<String>::new(), "% is literal");
    assert_eq!(names(&page(&app, &token, "?status=error").await), ["Dev_c"]);
    assert_eq!(names(&page(&app, &token, "?region=us-east-1&gpu=NVIDIA%20L4").await), ["dev-a"]);
}

#[tokio::test]
async fn bad_list_parameters_are_400_naming_each() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let res = app
        .get("/v1/workstations?limit=0&pageToken=nope&status=sleeping&region=mars-1&gpu=RTX%209090", &token)
        .send()
        .await
        .unwrap();
    let body = problem(res, 400).await;
    let pointers: Vec<String> = field_errors(&body).into_iter().map(|(p, _)| p).collect();
    assert_eq!(pointers, ["#/gpu", "#/limit", "#/pageToken", "#/region", "#/status"]);
    let res = app.get("/v1/workstations?limit=101", &token).send().await.unwrap();
    problem(res, 400).await;
    // Given empty is not the same as left out.
    let res =
        app.get("/v1/workstations?status=&limit=&region=&gpu=&pageToken=", &token).send().await.unwrap();
    let body = problem(res, 400).await;
    assert_eq!(field_errors(&body).len(), 5, "{body}");
}

#[tokio::test]
async fn validate_only_checks_everything_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let res = app
        .post_json("/v1/workstations?validateOnly=true", &token, &valid_body("dry-run"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let would: Value = res.json().await.unwrap();
    assert_eq!(would["name"], "dry-run");
    assert_eq!(would["status"], "provisioning");
    assert_eq!(would["configuration"]["cpuCores"], 8);
    assert!(would.get("id").is_none());
    assert_eq!(app.workstation_count().await, 0);

    // The same errors a real create gives.
    let mut bad = valid_body("dry-run");
    bad["configuration"]["cpuCores"] = json!(0);
    let res = app.post_json("/v1/workstations?validateOnly=true", &token, &bad).send().await.unwrap();
    problem(res, 400).await;
    app.create(&token, &valid_body("taken")).await;
    let res = app
        .post_json("/v1/workstations?validateOnly=true", &token, &valid_body("taken"))
        .send()
        .await
        .unwrap();
    problem(res, 409).await;
    let res =
        app.post_json("/v1/workstations?validateOnly=maybe", &token, &valid_body("x")).send().await.unwrap();
    problem(res, 400).await;
    assert_eq!(app.workstation_count().await, 1);
}
