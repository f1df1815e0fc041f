//! Concurrent creates share one transaction and one fsync (group commit),
//! and every check stays as exact as one transaction per create.

use std::collections::HashSet;

use app::backend::store;
use app::backend::Error;
use app::domain::QuotaOverrides;
use app::domain::Workstation;
use futures_util::future::join_all;
use serde_json::Value;

use crate::helpers::{body_with, field_errors, valid_body, TestApp};

/// Sends every body at once over HTTP; the statuses and bodies, in order.
async fn create_all(app: &TestApp, token: &str, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let sends = bodies.iter().map(|body| {
        let req = app.post_json("/v1/workstations", token, body);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    });
    join_all(sends).await
}

/// Hands every body to the writer at once, so they are all in one batch
/// (this test's runtime has one thread: all are queued before the writer
/// runs); checks that one transaction stored what was stored.
async fn one_batch(app: &TestApp, user: &str, bodies: Vec<Value>) -> Vec<Result<Workstation, Error>> {
    let owner = store::find_user(&app.state.pool, user).await.unwrap().unwrap();
    let specs: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            app::domain::CreateWorkstationRequest::from_json(body).unwrap().parse(&app.state.catalog).unwrap()
        })
        .collect();
    let (commits, _) = app.state.creates.counts();
    let (one_statement, undone) = app.state.creates.one_statement_counts();
    let creates = specs
        .into_iter()
        .map(|spec| app.state.creates.create(owner.id, app::backend::workstations::new_id(), spec));
    let results = join_all(creates).await;
    assert_eq!(app.state.creates.counts().0 - commits, 1, "one commit: {results:?}");
    // On PostgreSQL a batch is first stored by one statement, kept when no
    // create is refused, else undone and stored the general way; SQLite
    // always goes the general way.
    let way = app.state.creates.one_statement_counts();
    let refused = results.iter().any(Result::is_err);
    let expected = match (&app.state.pool, refused) {
        (store::Db::Postgres(_), false) => (one_statement + 1, undone),
        (store::Db::Postgres(_), true) => (one_statement, undone + 1),
        (store::Db::Sqlite(..), _) => (0, 0),
    };
    assert_eq!(way, expected, "(one statement, undone): {results:?}");
    results
}

#[tokio::test]
async fn creates_waiting_together_are_stored_in_one_commit() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let before = app.state.creates.counts();
    let stored =
        one_batch(&app, "alice", (0..12).map(|n| valid_body(&format!("together-{n}"))).collect()).await;
    assert_eq!(app.state.creates.counts().1 - before.1, 12);
    // Each is a real record with its job and first event.
    for ws in stored.into_iter().map(Result::unwrap) {
        let res = app.get(&format!("/v1/workstations/{}", ws.id), &token).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let history = app.get_json(&format!("/v1/workstations/{}/history", ws.id), &token).await;
        assert_eq!(history["events"][0]["seq"], 1);
        assert_eq!(history["events"][0]["phase"], "queued");
    }
    assert_eq!(app.workstation_count().await, 12);
}

#[tokio::test]
async fn creates_never_take_more_capacity_than_there_is() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    // eu-central-1 holds two A100s: in one batch, the first two get them.
    let a100 = |n: usize| body_with(&format!("a100-{n}"), "NVIDIA A100 80GB", "eu-central-1");
    let results = one_batch(&app, "alice", (0..5).map(a100).collect()).await;
    let outcome: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(outcome, [true, true, false, false, false], "{results:?}");
    assert!(matches!(&results[2], Err(Error::InsufficientCapacity(s)) if !s.regions_with_gpu.is_empty()));
    // And over HTTP, concurrently: all refused, with the alternatives.
    let answers = create_all(&app, &token, (5..10).map(a100).collect()).await;
    for (status, body) in &answers {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(body["type"], "/problems/insufficient-capacity");
        assert!(body["regionsWithGpu"].as_array().is_some_and(|r| !r.is_empty()), "{body}");
    }
    assert_eq!(app.workstation_count().await, 2);
}

#[tokio::test]
async fn creates_never_pass_a_quota() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let alice = store::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    // Room for three of the eight-core workstations.
    store::set_user_quota(
        &app.state.pool,
        alice.id,
        QuotaOverrides { cpu_cores: Some(24), ..Default::default() },
    )
    .await
    .unwrap();
    let results = one_batch(&app, "alice", (0..5).map(|n| valid_body(&format!("q-{n}"))).collect()).await;
    let outcome: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(outcome, [true, true, true, false, false], "{results:?}");
    assert!(matches!(&results[3], Err(Error::QuotaExceeded(e)) if e.resource == "cpuCores"));
    // Over HTTP: the quota is used up.
    let answers = create_all(&app, &token, (5..8).map(|n| valid_body(&format!("q-{n}"))).collect()).await;
    for (status, body) in &answers {
        assert_eq!(*status, 403, "{body}");
        assert_eq!(body["quota"], "cpuCores");
    }
    let quota = app.get_json("/v1/quota", &token).await;
    assert_eq!(quota["used"]["cpuCores"], 24);
}

#[tokio::test]
async fn of_creates_with_one_name_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    let results = one_batch(&app, "alice", (0..4).map(|_| valid_body("twin")).collect()).await;
    let outcome: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(outcome, [true, false, false, false], "{results:?}");
    assert!(matches!(&results[1], Err(Error::Conflict(e)) if e.pointer == "#/name"));
    // A name taken before the batch: refused, and the rest of the batch stored.
    let results = one_batch(&app, "alice", vec![valid_body("twin"), valid_body("fresh")]).await;
    let outcome: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(outcome, [false, true], "{results:?}");
    assert!(matches!(&results[0], Err(Error::Conflict(e)) if e.pointer == "#/name"));
    // Over HTTP, concurrently, with a name taken and one new.
    let answers = create_all(&app, &token, (0..4).map(|_| valid_body("twin-2")).collect()).await;
    assert_eq!(answers.iter().filter(|(status, _)| *status == 201).count(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(field_errors(body)[0].0, "#/name", "{body}");
    }
    // Another user's name is their own.
    let mixed = create_all(&app, &bob, vec![valid_body("twin"), valid_body("other")]).await;
    assert!(mixed.iter().all(|(status, _)| *status == 201), "{mixed:?}");
    let ids: HashSet<_> = mixed.iter().map(|(_, body)| body["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 2);
}

#[tokio::test]
async fn a_create_for_a_deleted_user_fails_alone() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let gone_user = store::create_user(&app.state.pool, "gone").await.unwrap();
    let spec = app::domain::CreateWorkstationRequest::from_json(valid_body("orphan"))
        .unwrap()
        .parse(&app.state.catalog)
        .unwrap();
    store::delete_user(&app.state.pool, gone_user.id).await.unwrap();
    let alice_spec = app::domain::CreateWorkstationRequest::from_json(valid_body("kept"))
        .unwrap()
        .parse(&app.state.catalog)
        .unwrap();
    let alice = store::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    let new_id = app::backend::workstations::new_id;
    // Queued together (one test thread): the batch fails on the orphan's
    // foreign key, and each is then stored on its own.
    let (orphan, kept) = tokio::join!(
        app.state.creates.create(gone_user.id, new_id(), spec),
        app.state.creates.create(alice.id, new_id(), alice_spec),
    );
    match &orphan {
        Err(Error::Database(sqlx::Error::Database(e))) => {
            assert_eq!(e.kind(), sqlx::error::ErrorKind::ForeignKeyViolation, "{e}");
        }
        other => panic!("expected the orphan's own foreign-key failure, got {other:?}"),
    }
    let kept = kept.unwrap();
    let res = app.get(&format!("/v1/workstations/{}", kept.id), &token).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(app.workstation_count().await, 1);
}
