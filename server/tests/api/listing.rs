//! Listing a page at a time, filters, and `validateOnly`.

use std::collections::HashSet;

use std::time::Duration;

use app::backend::store::{self, Db, ListFilter, Readers};
use app::domain::WorkstationStatus;
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

/// On SQLite a page is read on the request's own thread unless the read runs
/// past its budget; then it is read through the pool. Both give the same
/// page, field for field, whatever the filters.
#[tokio::test]
async fn a_page_read_on_the_calling_thread_is_the_page_read_through_the_pool() {
    let app = TestApp::spawn().await;
    let Db::Sqlite(pool, _) = &app.state.pool else { return };
    let token = app.token_for("alice").await;
    app.create(&token, &body("dev-a", "NVIDIA L4", "us-east-1")).await;
    let up = app.create(&token, &body("dev-b", "NVIDIA A10G", "us-east-1")).await;
    app.create(&token, &body("render", "NVIDIA L4", "eu-west-1")).await;
    let failing = app.create_unchecked(&token, &body("Dev_c", "NVIDIA H100 80GB", "ap-southeast-1")).await;
    app.follow_to_end(&token, &failing).await;
    app.follow_to_end(&token, &up).await;
    app.act_ok(&token, &up, "launch").await;
    app.wait_for_status(&token, &up, "running", Duration::from_secs(30)).await;

    let through_pool = Db::Sqlite(pool.clone(), Readers::none());
    let before = app.state.pool.reads_here();
    let owner = store::find_user(&app.state.pool, "alice").await.unwrap().unwrap().id;
    let filters = [
        ListFilter::default(),
        ListFilter { status: Some(WorkstationStatus::Running), ..ListFilter::default() },
        ListFilter {
            region: Some("us-east-1".into()),
            gpu: Some("NVIDIA L4".into()),
            ..ListFilter::default()
        },
        ListFilter { name_prefix: Some("dev".into()), ..ListFilter::default() },
        ListFilter { before_seq: Some(3), ..ListFilter::default() },
    ];
    for filter in &filters {
        for limit in [1, 2, 50] {
            let here = store::list_workstation_page(&app.state.pool, owner, filter, limit).await.unwrap();
            let pooled = store::list_workstation_page(&through_pool, owner, filter, limit).await.unwrap();
            assert!(!here.is_empty(), "{filter:?}");
            assert_eq!(here, pooled, "{filter:?}, limit {limit}");
        }
    }
    let (answered, passed) = app.state.pool.reads_here();
    assert_eq!(
        (answered - before.0, passed - before.1),
        (15, 0),
        "every page was read on the calling thread"
    );
    assert_eq!(through_pool.reads_here(), (0, 15));
    let all = store::list_workstation_page(&app.state.pool, owner, &ListFilter::default(), 50).await.unwrap();
    let names: Vec<&str> = all.iter().map(|(_, s)| s.workstation.name.as_str()).collect();
    assert_eq!(names, ["Dev_c", "render", "dev-b", "dev-a"]);
    let running = all.iter().find(|(_, s)| s.workstation.id == up).unwrap();
    assert_eq!(running.1.workstation.status, WorkstationStatus::Running);
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
