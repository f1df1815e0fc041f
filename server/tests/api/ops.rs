//! Operations: health, readiness, metrics, and the limits on event streams.

use std::time::{Duration, Instant};

use app::backend::auth;
use serde_json::Value;

use crate::helpers::{problem, valid_body, TestApp};

#[tokio::test]
async fn health_and_readiness_need_no_token() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");

    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    for check in ["database", "migrations", "workers"] {
        assert_eq!(body["checks"][check]["ok"], true, "{check}: {body}");
    }
    assert_eq!(body["checks"]["workers"]["detail"], "2 of 2 running");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.state.pool.close().await;
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["checks"]["database"]["ok"], false, "{body}");
    // Still alive, though.
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status().as_u16(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_jobs_and_streams() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body("counted")).await;
    app.follow_to_end(&token, &id).await;
    let res = app.get(&format!("/v1/workstations/{id}"), &token).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let _missing = app.get("/v1/workstations/ws-nope", &token).send().await.unwrap();
    let listed = app.get("/v1/workstations", &token).send().await.unwrap();
    assert_eq!(listed.status().as_u16(), 200);
    let mut stream = app.stream("/v1/events", &token, None).await;
    assert!(stream.next().await.is_some());

    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = res.text().await.unwrap();
    for line in [
        r#"atelier_http_requests_total{method="POST",route="/v1/workstations",status="201"} 1"#,
        r#"atelier_http_requests_total{method="GET",route="/v1/workstations/{id}",status="200"} 1"#,
        r#"atelier_http_requests_total{method="GET",route="/v1/workstations/{id}",status="404"} 1"#,
        r#"atelier_http_request_duration_seconds_count{method="POST",route="/v1/workstations",status="201"} 1"#,
        r#"atelier_jobs{state="succeeded"} 1"#,
        r#"atelier_job_duration_seconds_count{kind="provision",outcome="succeeded"} 1"#,
        r#"atelier_workers{state="running"} 2"#,
        "atelier_event_streams_open 1",
        "atelier_create_commits_total 1",
        "atelier_creates_stored_total 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    // The list page was read on the request's thread (SQLite) or through the
    // pool (PostgreSQL, where the counters stay at zero).
    let here = if app.state.pool.as_sqlite().is_some() { 1 } else { 0 };
    for line in [
        format!(r#"atelier_db_short_reads_total{{on="request_thread"}} {here}"#),
        r#"atelier_db_short_reads_total{on="pool"} 0"#.to_owned(),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    let max = format!(r#"atelier_db_connections{{state="max"}} {}"#, app.state.pool.max_connections());
    assert!(text.lines().any(|l| l == max), "missing {max:?} in:\n{text}");
    assert!(!text.contains(&id), "series are by route, not by workstation");
}

#[tokio::test]
async fn open_streams_are_limited_per_user_and_freed_on_close() {
    let app = TestApp::spawn_with(|o| o.settings.max_streams_per_user = 2).await;
    let alice = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    let first = app.stream("/v1/events", &alice, None).await;
    let _second = app.stream("/v1/events", &alice, None).await;

    let res = app.get("/v1/events", &alice).send().await.unwrap();
    assert_eq!(res.headers()["retry-after"], "5");
    let body = problem(res, 429).await;
    assert_eq!(body["type"], "/problems/too-many-requests");
    assert!(body["detail"].as_str().unwrap().contains("2 event streams open"), "{body}");
    // Another user has their own allowance.
    let _bobs = app.stream("/v1/events", &bob, None).await;

    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = app.get("/v1/events", &alice).send().await.unwrap();
        if res.status().as_u16() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "a closed stream never gave its slot back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_revoked_token_closes_its_open_stream() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let other = app.token_for("bob").await;
    let mut first = app.stream("/v1/events", &token, None).await;
    let mut second = app.stream("/v1/events", &token, None).await;
    let mut bobs = app.stream("/v1/events", &other, None).await;
    let revoked_at = Instant::now();
    assert_eq!(auth::revoke_token(&app.state.pool, &token).await.unwrap(), Some(1));
    for stream in [&mut first, &mut second] {
        let event = stream.next_within(Duration::from_secs(5)).await.expect("a closing event");
        assert_eq!(event.event.as_deref(), Some("unauthorized"), "{event:?}");
        assert!(stream.next_within(Duration::from_secs(2)).await.is_none(), "the stream ends");
    }
    // Checked every second (with slack for a loaded machine).
    assert!(revoked_at.elapsed() < Duration::from_secs(5), "{:?}", revoked_at.elapsed());
    assert_eq!(app.get("/v1/events", &token).send().await.unwrap().status().as_u16(), 401);
    // Another user's stream stays open.
    let id = app.create(&other, &valid_body("still-here")).await;
    let event = bobs.next_within(Duration::from_secs(5)).await.expect("bob's stream goes on");
    assert!(event.data.contains(&id), "{event:?}");
}

#[tokio::test]
async fn an_ended_session_closes_its_open_stream() {
    let app = TestApp::spawn().await;
    app.token_for("alice").await;
    let alice = app::backend::store::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    let cookie = auth::start_session(&app.state.pool, &alice, Duration::from_secs(3600)).await.unwrap();
    let res = app
        .client
        .get(app.url("/v1/events"))
        .header("cookie", format!("{}={cookie}", auth::SESSION_COOKIE))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let mut stream = crate::helpers::SseClient::new(res);
    auth::end_session(&app.state.pool, &cookie).await.unwrap();
    let event = stream.next_within(Duration::from_secs(5)).await.expect("a closing event");
    assert_eq!(event.event.as_deref(), Some("unauthorized"), "{event:?}");
}

#[tokio::test]
async fn a_disabled_user_is_shut_out_at_once_and_let_back_in_by_enabling() {
    use app::backend::accounts;
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let other = app.token_for("bob").await;
    let id = app.create(&token, &valid_body("kept")).await;
    let alice = accounts::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    let cookie = auth::start_session(&app.state.pool, &alice, Duration::from_secs(3600)).await.unwrap();
    let mut stream = app.stream("/v1/events", &token, None).await;
    let mut bobs = app.stream("/v1/events", &other, None).await;

    let disabled_at = Instant::now();
    accounts::set_disabled(&app.state.pool, &alice, true).await.unwrap();
    // Every request with the token is refused from now on, and her open stream closes.
    let res = app.get("/v1/workstations", &token).send().await.unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"atelier\", error=\"invalid_token\"");
    problem(res, 401).await;
    problem(app.post_json("/v1/workstations", &token, &valid_body("after")).send().await.unwrap(), 401).await;
    // (after the events of her workstation's provisioning, if any came)
    loop {
        let event = stream.next_within(Duration::from_secs(5)).await.expect("a closing event");
        if event.event.as_deref() == Some("unauthorized") {
            break;
        }
        assert!(event.event.is_none(), "{event:?}");
    }
    assert!(stream.next_within(Duration::from_secs(2)).await.is_none(), "the stream ends");
    assert!(disabled_at.elapsed() < Duration::from_secs(5), "{:?}", disabled_at.elapsed());
    // Her session is gone, not just refused, and so is her place in the list of users.
    assert!(auth::session_user(&app.state.pool, &cookie).await.unwrap().is_none());
    let users = accounts::users(&app.state.pool).await.unwrap();
    let shown = users.iter().find(|u| u.name == "alice").unwrap();
    assert!(shown.disabled_at.is_some() && shown.live_tokens == 1, "{shown:?}");
    // Bob goes on.
    let bobs_id = app.create(&other, &valid_body("bobs")).await;
    let event = bobs.next_within(Duration::from_secs(5)).await.expect("bob's stream goes on");
    assert!(event.data.contains(&bobs_id), "{event:?}");

    // Enabled again: the same token works, and her workstation was kept; the session stays ended.
    accounts::set_disabled(&app.state.pool, &alice, false).await.unwrap();
    let listed = app.get_json("/v1/workstations", &token).await;
    assert!(listed.to_string().contains(&id), "{listed}");
    assert!(auth::session_user(&app.state.pool, &cookie).await.unwrap().is_none());
}

#[tokio::test]
async fn each_token_has_a_request_budget_per_minute() {
    let app = TestApp::spawn_with(|o| o.settings.rate_limit_per_minute = 3).await;
    let alice = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    for remaining in [2, 1, 0] {
        let res = app.get("/v1/workstations", &alice).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(res.headers()["ratelimit-policy"], r#""per-token";q=3;w=60"#);
        let current = res.headers()["ratelimit"].to_str().unwrap().to_owned();
        assert!(current.starts_with(&format!(r#""per-token";r={remaining};t="#)), "{current}");
    }
    let res = app.get("/v1/workstations", &alice).send().await.unwrap();
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body = problem(res, 429).await;
    assert_eq!(body["type"], "/problems/too-many-requests");
    // Writes count too, and are refused before anything is stored.
    let res = app.post_json("/v1/workstations", &alice, &valid_body("over")).send().await.unwrap();
    problem(res, 429).await;
    assert_eq!(app.workstation_count().await, 0);
    // Another token has its own budget; health checks have none.
    assert_eq!(app.get("/v1/workstations", &bob).send().await.unwrap().status().as_u16(), 200);
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status().as_u16(), 200);
}

#[tokio::test]
async fn header_fields_over_the_limit_are_431_and_nothing_is_done() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    // One long field.
    let res = app
        .post_json("/v1/workstations", &token, &valid_body("big-header"))
        .header("x-padding", "a".repeat(17 * 1024))
        .send()
        .await
        .unwrap();
    let body = problem(res, 431).await;
    assert_eq!(body["type"], "/problems/headers-too-large");
    assert!(body["requestId"].is_string(), "{body}");
    // Many short ones.
    let mut req = app.post_json("/v1/workstations", &token, &valid_body("many-headers"));
    for n in 0..70 {
        req = req.header(format!("x-field-{n}"), "1");
    }
    problem(req.send().await.unwrap(), 431).await;
    assert_eq!(app.workstation_count().await, 0);
    // Pages too, with the usual security headers.
    let res = app.client.get(app.url("/")).header("cookie", "c".repeat(17 * 1024)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 431);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    // Just under the limit is fine.
    let res = app
        .post_json("/v1/workstations", &token, &valid_body("fits"))
        .header("x-padding", "a".repeat(8 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
}
