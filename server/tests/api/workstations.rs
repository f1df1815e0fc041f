use serde_json::{json, Value};

use crate::helpers::{body_with, field_errors, problem, valid_body, TestApp};

#[tokio::test]
async fn create_answers_201_with_the_contract_shape() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let res =
        app.post_json("/v1/workstations", &token, &valid_body("My-New-Workstation")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(res.headers()["content-type"], "application/json");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ws-") && id.len() == 15, "{id}");
    assert_eq!(location, format!("/v1/workstations/{id}"));
    assert_eq!(
        body,
        json!({
            "id": id,
            "name": "My-New-Workstation",
            "status": "provisioning",
            "configuration": {
                "cpuCores": 8, "memoryGB": 32, "gpu": "NVIDIA RTX A5000",
                "storageGB": 512, "region": "us-west-2"
            },
            "autoStop": {"idleTimeoutSeconds": 0, "runningTimeoutSeconds": 0},
            "owner": {"kind": "user", "id": body["owner"]["id"], "name": "alice"}
        })
    );
    assert!(body["owner"]["id"].is_i64(), "{body}");

    // The Location is readable and holds the same record (plus, while
    // something is happening, its `phase`), with an ETag.
    let res = app.get(&location, &token).send().await.unwrap();
    assert!(res.headers()["etag"].to_str().unwrap().starts_with("\"v"));
    let mut fetched: Value = res.json().await.unwrap();
    if let Some(phase) = fetched.as_object_mut().unwrap().remove("phase") {
        assert!(phase.is_string());
    }
    fetched["status"] = body["status"].clone();
    assert_eq!(fetched, body);
}

#[tokio::test]
async fn list_is_newest_first_and_only_the_callers() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    for name in ["first", "second", "third"] {
        let res = app.post_json("/v1/workstations", &alice, &valid_body(name)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 201);
    }
    let res = app.post_json("/v1/workstations", &bob, &valid_body("bobs")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let bobs_id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    let list: Value = app.get("/v1/workstations", &alice).send().await.unwrap().json().await.unwrap();
    let names: Vec<_> = list["workstations"].as_array().unwrap().iter().map(|w| w["name"].clone()).collect();
    assert_eq!(names, [json!("third"), json!("second"), json!("first")]);

    // Another user's workstation does not exist for alice.
    let res = app.get(&format!("/v1/workstations/{bobs_id}"), &alice).send().await.unwrap();
    let body = problem(res, 404).await;
    assert_eq!(body["type"], "/problems/not-found");
    // Same for an id nobody has.
    let res = app.get("/v1/workstations/ws-doesnotexist", &alice).send().await.unwrap();
    problem(res, 404).await;

    // A user may reuse a name another user has.
    let res = app.post_json("/v1/workstations", &bob, &valid_body("first")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
}

#[tokio::test]
async fn invalid_fields_are_400_with_every_error_and_nothing_stored() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let body = json!({
        "name": "bad name",
        "configuration": {
            "cpuCores": 0, "memoryGB": 32.5, "gpu": "RTX 9090",
            "storageGB": "512", "region": null
        }
    });
    let res = app.post_json("/v1/workstations", &token, &body).send().await.unwrap();
    let problem = problem(res, 400).await;
    assert_eq!(problem["type"], "/problems/validation-error");
    let errors = field_errors(&problem);
    let pointers: Vec<_> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "#/configuration/cpuCores",
            "#/configuration/gpu",
            "#/configuration/memoryGB",
            "#/configuration/region",
            "#/configuration/storageGB",
            "#/name",
        ]
    );
    assert!(errors.contains(&("#/configuration/cpuCores".into(), "must be between 1 and 128".into())));
    assert!(errors.contains(&("#/configuration/region".into(), "is required".into())));
    assert_eq!(app.workstation_count().await, 0);
}

#[tokio::test]
async fn missing_fields_are_named() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let res = app.post_json("/v1/workstations", &token, &json!({})).send().await.unwrap();
    let body = problem(res, 400).await;
    assert_eq!(
        field_errors(&body),
        [
            ("#/configuration".to_owned(), "is required".to_owned()),
            ("#/name".to_owned(), "is required".to_owned())
        ]
    );
}

#[tokio::test]
async fn malformed_bodies_are_problem_json_400() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let cases: [(&str, &str); 5] = [
        ("{\"name\": ", "the request body is not valid JSON"),
        ("", "the request body is empty"),
        ("   ", "the request body is empty"),
        ("[1, 2]", "the request body must be a JSON object"),
        ("\"text\"", "the request body must be a JSON object"),
    ];
    for (raw, expected) in cases {
        let res = app
            .client
            .post(app.url("/v1/workstations"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let body = problem(res, 400).await;
        let errors = field_errors(&body);
        assert_eq!(errors.len(), 1, "{raw:?}: {body}");
        assert_eq!(errors[0].0, "#");
        assert!(errors[0].1.starts_with(expected), "{raw:?}: {}", errors[0].1);
    }
    // Invalid UTF-8 is malformed too.
    let res = app
        .client
        .post(app.url("/v1/workstations"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b'{', 0xff, b'}'])
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
    assert_eq!(app.workstation_count().await, 0);
}

#[tokio::test]
async fn non_json_content_type_is_415() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut req = app
            .client
            .post(app.url("/v1/workstations"))
            .bearer_auth(&token)
            .body(valid_body("x").to_string());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let body = problem(req.send().await.unwrap(), 415).await;
        assert_eq!(body["type"], "/problems/unsupported-media-type");
    }
    assert_eq!(app.workstation_count().await, 0);
}

#[tokio::test]
async fn bodies_over_64_kib_are_413() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let mut body = valid_body("big");
    body["padding"] = json!("x".repeat(70 * 1024));
    let res = app.post_json("/v1/workstations", &token, &body).send().await.unwrap();
    let problem = problem(res, 413).await;
    assert_eq!(problem["type"], "/problems/payload-too-large");

    // Just under the limit is read (and rejected for the unknown field, not the size).
    let mut body = valid_body("big");
    body["padding"] = json!("x".repeat(60 * 1024));
    let res = app.post_json("/v1/workstations", &token, &body).send().await.unwrap();
    problem_400_unknown(res).await;
    assert_eq!(app.workstation_count().await, 0);
}

async fn problem_400_unknown(res: reqwest::Response) {
    let body = problem(res, 400).await;
    assert_eq!(field_errors(&body), [("#/padding".to_owned(), "is not a field of this request".to_owned())]);
}

#[tokio::test]
async fn duplicate_name_is_409_on_name() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let res = app.post_json("/v1/workstations", &token, &valid_body("dup")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let res = app.post_json("/v1/workstations", &token, &valid_body("dup")).send().await.unwrap();
    let body = problem(res, 409).await;
    assert_eq!(body["type"], "/problems/conflict");
    assert_eq!(
        field_errors(&body),
        [("#/name".to_owned(), "you already have a workstation named \"dup\"".to_owned())]
    );
    assert_eq!(app.workstation_count().await, 1);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problem_json() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let res = app.get("/v1/nothing-here", &token).send().await.unwrap();
    problem(res, 404).await;
    let res = app.client.delete(app.url("/v1/workstations")).bearer_auth(&token).send().await.unwrap();
    let body = problem(res, 405).await;
    assert_eq!(body["type"], "/problems/method-not-allowed");
}

#[tokio::test]
async fn database_failure_is_a_generic_500_with_request_id() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    // Break the table the insert needs; auth still works (other tables).
    app.state.pool.execute_script("ALTER TABLE workstations RENAME TO workstations_gone").await.unwrap();
    let res = app
        .post_json("/v1/workstations", &token, &valid_body("boom"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    let body = problem(res, 500).await;
    assert_eq!(body["requestId"], "trace-me-123");
    assert_eq!(body["type"], "/problems/internal-error");
    let text = body.to_string();
    assert!(!text.contains("workstations"), "the cause must not leak: {text}");
    assert!(body.get("errors").is_none());
    // Nothing half-written.
    let rows: i64 = app::on_pool!(&app.state.pool, |pool, d| sqlx::query_scalar(
        "SELECT COUNT(*) FROM workstations_gone"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn a_locked_database_is_503_nothing_half_written_and_the_server_recovers() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    // Another process holds the write lock past the busy timeout (5 s).
    let other = app.hold_write_lock().await;
    let res = app.post_json("/v1/workstations", &token, &valid_body("waits")).send().await.unwrap();
    assert!(res.headers().contains_key("retry-after"), "{res:?}");
    assert_eq!(res.headers()["retry-after"], "2");
    let body = problem(res, 503).await;
    assert_eq!(body["type"], "/problems/unavailable");
    // Reads still work meanwhile (WAL).
    assert_eq!(app.get("/v1/workstations", &token).send().await.unwrap().status().as_u16(), 200);
    other.release().await;
    assert_eq!(app.workstation_count().await, 0, "nothing half-written");
    // The lock is gone: the same request now succeeds.
    app.create(&token, &valid_body("waits")).await;
    assert_eq!(app.workstation_count().await, 1);
}

#[tokio::test]
async fn a_request_past_its_deadline_is_503_and_its_write_lands_whole() {
    let app = TestApp::spawn_with(|o| o.settings.request_timeout = std::time::Duration::from_secs(1)).await;
    let token = app.token_for("alice").await;
    let other = app.hold_write_lock().await;
    let send = || {
        app.post_json("/v1/workstations", &token, &valid_body("slow"))
            .header("idempotency-key", "slow-1")
            .send()
    };
    let started = std::time::Instant::now();
    let body = problem(send().await.unwrap(), 503).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "answered at the deadline");
    assert!(body["detail"].as_str().unwrap().contains("took too long"), "{body}");
    // The lock goes away before the busy timeout: the create goes on and lands.
    other.release().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.workstation_count().await == 0 {
        assert!(std::time::Instant::now() < deadline, "the create never landed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The retry with the same key gets the create's answer, not a second
    // workstation (409 while the first is still being recorded).
    let res = loop {
        let res = send().await.unwrap();
        if res.status().as_u16() != 409 || std::time::Instant::now() > deadline {
            break res;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(res.status().as_u16(), 201);
    assert_eq!(app.workstation_count().await, 1);
}

#[tokio::test]
async fn a_full_disk_is_503_nothing_half_written_and_the_server_recovers() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let Some(pool) = app.state.pool.as_sqlite() else {
        eprintln!("SQLite only: a page limit stands in for a full disk");
        return;
    };
    // Every pooled connection may not grow the file past its size now: the
    // next pages a write needs are "out of space" (SQLITE_FULL).
    let set_limit = |pages: i64| async move {
        let mut held = Vec::new();
        for _ in 0..pool.options().get_max_connections() {
            let mut conn = pool.acquire().await.unwrap();
            sqlx::query(&format!("PRAGMA max_page_count = {pages}")).execute(&mut *conn).await.unwrap();
            held.push(conn);
        }
    };
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(pool).await.unwrap();
    set_limit(pages).await;
    let mut created = 0;
    let gpus = ["NVIDIA RTX A4000", "NVIDIA RTX A5000", "NVIDIA RTX A6000", "NVIDIA L4", "NVIDIA A10G"];
    let regions = ["us-west-2", "us-east-1", "eu-west-1"];
    let full = loop {
        // Spread over GPU types and regions, so capacity is not what runs out.
        let mut body = valid_body(&format!("fill-{created}"));
        body["configuration"]["gpu"] = gpus[created as usize % gpus.len()].into();
        body["configuration"]["region"] = regions[created as usize / gpus.len() % regions.len()].into();
        let res = app.post_json("/v1/workstations", &token, &body).send().await.unwrap();
        match res.status().as_u16() {
            201 => created += 1,
            503 => break res,
            other => panic!("create answered {other}: {}", res.text().await.unwrap()),
        }
        assert!(created < 200, "the database never filled up");
    };
    assert_eq!(full.headers()["retry-after"], "2");
    let body = problem(full, 503).await;
    assert!(body["detail"].as_str().unwrap().contains("storage is full"), "{body}");
    // Nothing half-written: every stored workstation has its job and first event.
    let (workstations, jobs, firsts): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM workstations), (SELECT COUNT(*) FROM jobs),
                (SELECT COUNT(*) FROM events WHERE seq = 1)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!((workstations, jobs, firsts), (created, created, created));
    // Space again: the server goes on by itself, on every connection it holds.
    set_limit(1_073_741_823).await;
    let token = app.token_for("bob").await;
    for n in 0..2 * pool.options().get_max_connections() as usize {
        let (gpu, region) = (gpus[n % gpus.len()], ["eu-central-1", "ap-southeast-1"][n / gpus.len() % 2]);
        app.create(&token, &body_with(&format!("after-{n}"), gpu, region)).await;
    }
}

#[tokio::test]
async fn a_connection_whose_transaction_sqlite_ended_is_not_handed_out_again() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let Some(pool) = app.state.pool.as_sqlite() else {
        eprintln!("SQLite only: it ends a transaction by itself when a write finds the disk full");
        return;
    };
    // What a full disk leaves behind: SQLite ended the transaction (here a
    // COMMIT sqlx does not see), so the ROLLBACK sent when it is dropped
    // fails and the connection still counts itself inside one. Every
    // pooled connection is left so.
    let mut open = Vec::new();
    for _ in 0..pool.options().get_max_connections() {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("COMMIT").execute(&mut *tx).await.unwrap();
        open.push(tx);
    }
    drop(open);
    // Creates still begin their transactions; so do the other writers.
    for n in 0..2 * pool.options().get_max_connections() {
        app.create(&token, &valid_body(&format!("after-{n}"))).await;
    }
    app.token_for("bob").await;
}
