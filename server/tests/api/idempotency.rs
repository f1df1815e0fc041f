//! `Idempotency-Key` on POST.

use app::backend::store;
use serde_json::Value;

use crate::helpers::{problem, valid_body, TestApp};

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_first_response() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let send = || {
        app.post_json("/v1/workstations", &token, &valid_body("once"))
            .header("idempotency-key", "create-once-1")
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = first.headers()["location"].clone();
    let first_body: Value = first.json().await.unwrap();

    let again = send().await.unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], location);
    assert_eq!(again.headers()["content-type"], "application/json");
    assert_eq!(again.json::<Value>().await.unwrap(), first_body);
    assert_eq!(app.workstation_count().await, 1, "created once");

    // Without a key the same body is a new request (here: a duplicate name).
    let res = app.post_json("/v1/workstations", &token, &valid_body("once")).send().await.unwrap();
    problem(res, 409).await;
    // Keys are per credential: another user's same key is independent.
    let bob = app.token_for("bob").await;
    let res = app
        .post_json("/v1/workstations", &bob, &valid_body("once"))
        .header("idempotency-key", "create-once-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    assert!(res.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let res = app
        .post_json("/v1/workstations", &token, &valid_body("a"))
        .header("idempotency-key", "k1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let res = app
        .post_json("/v1/workstations", &token, &valid_body("b"))
        .header("idempotency-key", "k1")
        .send()
        .await
        .unwrap();
    let body = problem(res, 422).await;
    assert_eq!(body["type"], "/problems/idempotency-key-reused");
    assert_eq!(app.workstation_count().await, 1);
}

#[tokio::test]
async fn a_retry_while_the_first_runs_is_409() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    // The first request has claimed the key and not finished.
    let scope = server::rest::auth::Credential::Token(token.clone()).key();
    let claimed = store::idempotency_claim(&app.state.pool, &scope, "busy", "h").await.unwrap();
    assert!(matches!(claimed, store::Claimed::New(_)));
    let res = app
        .post_json("/v1/workstations", &token, &valid_body("c"))
        .header("idempotency-key", "busy")
        .send()
        .await
        .unwrap();
    let body = problem(res, 409).await;
    assert_eq!(body["type"], "/problems/idempotency-key-in-flight");
    assert_eq!(app.workstation_count().await, 0);
}

#[tokio::test]
async fn errors_are_replayed_too_but_not_server_failures_or_bad_keys() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let mut bad = valid_body("x");
    bad["configuration"]["cpuCores"] = 0.into();
    let res = app
        .post_json("/v1/workstations", &token, &bad)
        .header("idempotency-key", "bad-1")
        .send()
        .await
        .unwrap();
    let first = problem(res, 400).await;
    // The replay is the first response, body and all (its requestId included).
    let res = app
        .post_json("/v1/workstations", &token, &bad)
        .header("idempotency-key", "bad-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(res.json::<Value>().await.unwrap(), first);
    let res = app
        .post_json("/v1/workstations", &token, &valid_body("x"))
        .header("idempotency-key", "has space")
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
}

#[tokio::test]
async fn actions_are_idempotent_with_a_key() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("act-once")).await;
    app.follow_to_end(&token, &id).await;
    let launch = || {
        app.client
            .post(app.url(&format!("/v1/workstations/{id}/launch")))
            .bearer_auth(&token)
            .header("idempotency-key", "launch-1")
            .send()
    };
    assert_eq!(launch().await.unwrap().status().as_u16(), 202);
    let again = launch().await.unwrap();
    assert_eq!(again.status().as_u16(), 202, "replayed, not a 409");
    assert_eq!(again.headers()["idempotent-replayed"], "true");
}

#[tokio::test]
async fn keys_expire_after_a_day() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let res = app
        .post_json("/v1/workstations", &token, &valid_body("old"))
        .header("idempotency-key", "k-old")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    app::on_pool!(&app.state.pool, |pool, d| sqlx::query(&format!(
        "UPDATE idempotency_keys SET created_at = {day_ago}",
        day_ago = d.now_plus("-25 * 3600")
    ))
    .execute(pool)
    .await
    .map(drop))
    .unwrap();
    // A day later the key is free: a different request with it is a new request.
    let res = app
        .post_json("/v1/workstations", &token, &valid_body("new"))
        .header("idempotency-key", "k-old")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    assert!(res.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_key_claimed_again_is_answered_only_by_its_new_claim() {
    let app = TestApp::spawn().await;
    let db = &app.state.pool;
    let claim = |hash: &'static str| async move {
        match store::idempotency_claim(db, "scope", "slow", hash).await.unwrap() {
            store::Claimed::New(claim) => claim,
            store::Claimed::Existing(record) => panic!("not claimed: {record:?}"),
        }
    };
    let first = claim("first").await;
    // The first request outlived its claim (its process stalled): the key was
    // forgotten (as after a minute in flight, or a day) and is claimed again.
    db.execute_script(
        "UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000Z' WHERE key = 'slow'",
    )
    .await
    .unwrap();
    let second = claim("second").await;
    assert_ne!(first, second);
    // The first request ends late: it neither answers nor releases the second's claim.
    store::idempotency_store(db, &first, 201, None, None, None, b"first").await.unwrap();
    store::idempotency_forget(db, &first).await.unwrap();
    match store::idempotency_claim(db, "scope", "slow", "third").await.unwrap() {
        store::Claimed::Existing(record) => {
            assert_eq!((record.request_hash.as_str(), record.status), ("second", None));
        }
        store::Claimed::New(_) => panic!("the second claim was released by the first request"),
    }
    store::idempotency_store(db, &second, 201, None, None, None, b"second").await.unwrap();
    match store::idempotency_claim(db, "scope", "slow", "second").await.unwrap() {
        store::Claimed::Existing(record) => assert_eq!(record.body.as_deref(), Some(&b"second"[..])),
        store::Claimed::New(_) => panic!("the answer was not stored"),
    }
}
