//! Authorization over every route: the OpenAPI document lists them, so a
//! route added later is covered without touching this file.

use serde_json::{json, Value};

use crate::helpers::{problem, valid_body, TestApp};

/// Every (method, path) of the API, with `{id}` and `{action}` filled in.
async fn operations(app: &TestApp, id: &str) -> Vec<(String, String)> {
    let doc: Value = app.client.get(app.url("/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            let actions: Vec<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == "action")
                .and_then(|p| p["schema"]["enum"].as_array().cloned())
                .map(|e| e.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect())
                .unwrap_or_else(|| vec![String::new()]);
            for action in actions {
                let concrete = format!("/v1{path}").replace("{id}", id).replace("{action}", &action);
                ops.push((method.to_uppercase(), concrete));
            }
        }
    }
    assert!(ops.len() >= 10, "the document lists the API: {ops:?}");
    ops
}

async fn send(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.request(method.parse().unwrap(), app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if method == "POST" && path.ends_with("/workstations") {
        req = req.json(&valid_body("intruder"));
    } else if method == "PATCH" || method == "PUT" {
        req = req.json(&json!({ "cpuCores": 4 }));
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn another_users_workstation_is_404_on_every_route_and_stays_untouched() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    let id = app.create(&alice, &valid_body("private")).await;
    app.follow_to_end(&alice, &id).await;
    let before: Value =
        app.get(&format!("/v1/workstations/{id}"), &alice).send().await.unwrap().json().await.unwrap();

    let mut checked = 0;
    for (method, path) in operations(&app, &id).await {
        if !path.contains(&id) {
            continue;
        }
        let res = send(&app, &method, &path, Some(&bob)).await;
        let body = problem(res, 404).await;
        assert!(!body.to_string().contains("private"), "{method} {path} leaks: {body}");
        checked += 1;
    }
    assert!(checked >= 8, "routes with an id: {checked}");
    let after: Value =
        app.get(&format!("/v1/workstations/{id}"), &alice).send().await.unwrap().json().await.unwrap();
    assert_eq!(before, after, "bob's attempts changed alice's workstation");

    // The routes without an id show bob none of it.
    let list: Value = app.get("/v1/workstations", &bob).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["workstations"], json!([]));
    let mut stream = app.stream("/v1/events", &bob, None).await;
    assert!(
        stream.next_within(std::time::Duration::from_millis(500)).await.is_none(),
        "bob's stream is empty"
    );
}

#[tokio::test]
async fn every_route_needs_a_valid_token() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let id = app.create(&alice, &valid_body("mine")).await;
    let revoked = app.token_for("carol").await;
    app::backend::auth::revoke_token(&app.state.pool, &revoked).await.unwrap();
    for (method, path) in operations(&app, &id).await {
        if path.ends_with("/openapi.json") {
            continue; // the document is public
        }
        for token in [None, Some("atl_not-a-real-token"), Some(revoked.as_str())] {
            let res = send(&app, &method, &path, token).await;
            let body = problem(res, 401).await;
            assert_eq!(body["type"], "/problems/unauthorized", "{method} {path}");
        }
    }
    assert_eq!(app.workstation_count().await, 1, "nothing was created without a token");
}
