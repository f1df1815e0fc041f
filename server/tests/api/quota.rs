//! Per-user quotas.

use app::backend::repo;
use serde_json::{json, Value};

use crate::helpers::{problem, valid_body, TestApp};

#[tokio::test]
async fn quotas_limit_creates_and_growth_and_are_reported() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let status: Value = app.get("/v1/quota", &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        status,
        json!({
            "limits": {"cpuCores": 512, "memoryGB": 4096, "gpus": 32, "storageGB": 65536},
            "used": {"cpuCores": 0, "memoryGB": 0, "gpus": 0, "storageGB": 0}
        })
    );

    let alice = repo::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    repo::set_user_quota(&app.state.pool, alice.id, [Some(16), None, None, None]).await.unwrap();
    let first = app.create(&token, &valid_body("one")).await;
    app.create(&token, &valid_body("two")).await;
    let res = app.post_json("/v1/workstations", &token, &valid_body("three")).send().await.unwrap();
    let body = problem(res, 403).await;
    assert_eq!(body["type"], "/problems/quota-exceeded");
    assert_eq!(body["quota"], "cpuCores");
    assert_eq!(body["limit"], 16);
    assert_eq!(body["requested"], 24);
    assert_eq!(body["detail"], "this would use 24 of your 16 CPU cores (quota cpuCores)");
    // validateOnly says the same.
    let res = app
        .post_json("/v1/workstations?validateOnly=true", &token, &valid_body("three"))
        .send()
        .await
        .unwrap();
    problem(res, 403).await;

    let status: Value = app.get("/v1/quota", &token).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["limits"]["cpuCores"], 16);
    assert_eq!(status["used"], json!({"cpuCores": 16, "memoryGB": 64, "gpus": 2, "storageGB": 1024}));

    // Growing past the limit is refused too; shrinking is fine.
    app.follow_to_end(&token, &first).await;
    let res = app
        .client
        .patch(app.url(&format!("/v1/workstations/{first}")))
        .bearer_auth(&token)
        .json(&json!({"configuration": {"cpuCores": 12}}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(res, 403).await["requested"], 20);
    let res = app
        .client
        .patch(app.url(&format!("/v1/workstations/{first}")))
        .bearer_auth(&token)
        .json(&json!({"configuration": {"cpuCores": 4, "memoryGB": 128}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);

    // Other users have their own.
    let bob = app.token_for("bob").await;
    app.create(&bob, &valid_body("three")).await;
}
