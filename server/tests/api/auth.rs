use app::backend::auth;

use crate::helpers::{problem, valid_body, TestApp};

#[tokio::test]
async fn missing_token_is_401_with_challenge() {
    let app = TestApp::spawn().await;
    for res in [
        app.client.get(app.url("/v1/workstations")).send().await.unwrap(),
        app.client.post(app.url("/v1/workstations")).json(&valid_body("x")).send().await.unwrap(),
        app.client.get(app.url("/v1/workstations/ws-abc")).send().await.unwrap(),
    ] {
        assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"atelier\"");
        let body = problem(res, 401).await;
        assert_eq!(body["type"], "/problems/unauthorized");
    }
    assert_eq!(app.workstation_count().await, 0);
}

#[tokio::test]
async fn malformed_unknown_and_revoked_tokens_are_401() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let ok = app.get("/v1/workstations", &token).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);

    let bad_headers = [
        format!("Basic {token}"),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer atl_0000000000000000000000000000000".to_owned(),
        "Bearer not-a-token".to_owned(),
        format!("Bearer {token}x"),
    ];
    for header in bad_headers {
        let res = app
            .client
            .get(app.url("/v1/workstations"))
            .header("authorization", &header)
            .send()
            .await
            .unwrap();
        assert!(
            res.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer realm=\"atelier\""),
            "{header}"
        );
        problem(res, 401).await;
    }

    assert_eq!(auth::revoke_token(&app.state.pool, &token).await.unwrap(), Some(1));
    let res = app.get("/v1/workstations", &token).send().await.unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"atelier\", error=\"invalid_token\"");
    problem(res, 401).await;
    let res = app.post_json("/v1/workstations", &token, &valid_body("after-revoke")).send().await.unwrap();
    problem(res, 401).await;
    assert_eq!(app.workstation_count().await, 0);
}

#[tokio::test]
async fn auth_is_checked_before_the_body() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .post(app.url("/v1/workstations"))
        .header("content-type", "text/plain")
        .body("nonsense")
        .send()
        .await
        .unwrap();
    problem(res, 401).await;
}

#[tokio::test]
async fn tokens_are_stored_only_as_hashes_and_revocable_by_prefix() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let stored: Vec<(String, String)> =
        app::on_pool!(&app.state.pool, |pool, d| sqlx::query_as("SELECT token_hash, prefix FROM api_tokens")
            .fetch_all(pool)
            .await)
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, auth::hash_secret(&token));
    assert_ne!(stored[0].0, token);
    assert!(token.starts_with(&stored[0].1) && stored[0].1.len() == 12);

    assert_eq!(auth::revoke_token(&app.state.pool, &stored[0].1).await.unwrap(), Some(1));
    assert_eq!(auth::revoke_token(&app.state.pool, "atl_").await.unwrap(), None);
    let res = app.get("/v1/workstations", &token).send().await.unwrap();
    problem(res, 401).await;
}

#[tokio::test]
async fn read_only_tokens_read_and_are_refused_changes() {
    use app::backend::auth::{issue_token_with, Scope};
    let app = TestApp::spawn().await;
    let full = app.token_for("alice").await;
    let id = app.create(&full, &crate::helpers::valid_body("shared")).await;
    let user = app::backend::store::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    let read = issue_token_with(&app.state.pool, &user, Some("ci"), Scope::Read, None).await.unwrap().token;

    for path in [
        "/v1/workstations".to_owned(),
        format!("/v1/workstations/{id}"),
        format!("/v1/workstations/{id}/history"),
    ] {
        assert_eq!(app.get(&path, &read).send().await.unwrap().status().as_u16(), 200, "{path}");
    }
    let _stream = app.stream("/v1/events", &read, None).await;

    let before: serde_json::Value =
        app.get(&format!("/v1/workstations/{id}"), &full).send().await.unwrap().json().await.unwrap();
    let attempts = [
        app.post_json("/v1/workstations", &read, &crate::helpers::valid_body("nope")),
        app.client.post(app.url(&format!("/v1/workstations/{id}/cancel"))).bearer_auth(&read),
        app.client
            .patch(app.url(&format!("/v1/workstations/{id}")))
            .bearer_auth(&read)
            .json(&serde_json::json!({"configuration": {"cpuCores": 2}})),
        app.client.delete(app.url(&format!("/v1/workstations/{id}"))).bearer_auth(&read),
    ];
    for attempt in attempts {
        let res = attempt.send().await.unwrap();
        assert_eq!(
            res.headers()["www-authenticate"],
            r#"Bearer realm="atelier", error="insufficient_scope""#
        );
        let body = problem(res, 403).await;
        assert_eq!(body["type"], "/problems/insufficient-scope");
    }
    let after: serde_json::Value =
        app.get(&format!("/v1/workstations/{id}"), &full).send().await.unwrap().json().await.unwrap();
    assert_eq!(before["configuration"], after["configuration"]);
    assert_eq!(app.workstation_count().await, 1);
}

#[tokio::test]
async fn expired_tokens_stop_working() {
    use app::backend::auth::{issue_token_with, Scope};
    let app = TestApp::spawn().await;
    let user = app::backend::store::create_user(&app.state.pool, "alice").await.unwrap();
    let day = std::time::Duration::from_secs(86_400);
    let token = issue_token_with(&app.state.pool, &user, None, Scope::Full, Some(day)).await.unwrap().token;
    assert_eq!(app.get("/v1/workstations", &token).send().await.unwrap().status().as_u16(), 200);
    // A day passes.
    app::backend::store::set_token_expiry(&app.state.pool, &auth::hash_secret(&token), -1).await.unwrap();
    let res = app.get("/v1/workstations", &token).send().await.unwrap();
    let body = problem(res, 401).await;
    assert!(body["detail"].as_str().unwrap().contains("expired"), "{body}");
}
