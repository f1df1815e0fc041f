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
        sqlx::query_as("SELECT token_hash, prefix FROM api_tokens").fetch_all(&app.state.pool).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, auth::hash_secret(&token));
    assert_ne!(stored[0].0, token);
    assert!(token.starts_with(&stored[0].1) && stored[0].1.len() == 12);

    assert_eq!(auth::revoke_token(&app.state.pool, &stored[0].1).await.unwrap(), Some(1));
    assert_eq!(auth::revoke_token(&app.state.pool, "atl_").await.unwrap(), None);
    let res = app.get("/v1/workstations", &token).send().await.unwrap();
    problem(res, 401).await;
}
