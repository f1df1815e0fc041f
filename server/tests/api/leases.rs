//! Job leases, on the repository: how an instance claims, renews, loses and
//! finishes jobs (on SQLite, and on PostgreSQL under `make test-postgres`).

use std::time::Duration;

use app::backend::store::{self, Cancelling, Renewed};
use app::domain::JobState;
use serde_json::Value;

use crate::helpers::*;

/// Creates a workstation for a new user and waits for the engine to start
/// its job (its first phase): the token, the workstation and its stream.
async fn started(app: &TestApp, name: &str) -> (String, String, SseClient) {
    let token = app.token_for("alice").await;
    let id = app.create(&token, &valid_body(name)).await;
    let mut events = app.stream(&format!("/v1/workstations/{id}/events"), &token, None).await;
    loop {
        let event = events.next_within(Duration::from_secs(10)).await.expect("the engine started the job");
        if serde_json::from_str::<Value>(&event.data).unwrap()["phase"] == "allocating" {
            return (token, id, events);
        }
    }
}

#[tokio::test]
async fn a_job_taken_over_is_renewed_cancelled_and_finished_only_by_its_current_holder() {
    let app = TestApp::spawn_with(|o| {
        // The engine claims the job and then sleeps in its first phase.
        o.provisioner = server::ProvisionerChoice::simulated(Duration::from_secs(60));
        o.engine.lease = Duration::from_secs(60);
    })
    .await;
    let db = &app.state.pool;
    let (_, id, _) = started(&app, "leased").await;
    // Held by the engine, with a live lease: nobody else can claim it.
    assert!(store::claim_job(db, "thief", 60).await.unwrap().is_none());
    // Its lease runs out (its holder died): the next claim takes it over.
    store::expire_leases(db).await.unwrap();
    let job = store::claim_job(db, "thief", 60).await.unwrap().expect("taken over");
    assert_eq!((job.workstation_id.as_str(), job.attempts), (id.as_str(), 2));
    assert!(job.taken_over());
    assert!(store::claim_job(db, "third", 60).await.unwrap().is_none(), "leased again");

    // Only the new holder renews it, and learns of a cancel through the database.
    let renewed = |attempts, cancel_requested| vec![Renewed { id: job.id, attempts, cancel_requested }];
    assert_eq!(store::renew_leases(db, "thief", &[job.id], 60).await.unwrap(), renewed(2, false));
    let mut tx = store::begin_write(db).await.unwrap();
    assert_eq!(store::cancel_job(&mut tx, &id).await.unwrap(), Cancelling::Running(job.id));
    tx.commit().await.unwrap();
    assert_eq!(store::renew_leases(db, "thief", &[job.id], 60).await.unwrap(), renewed(2, true));
    assert_eq!(store::renew_leases(db, "someone-else", &[job.id], 60).await.unwrap(), vec![]);
    // Only the jobs named: one its holder gave up on is left to run out.
    assert_eq!(store::renew_leases(db, "thief", &[job.id + 1], 60).await.unwrap(), vec![]);
    // Its holder dies before acting on it: the cancel stays asked for after the next takeover.
    store::expire_leases(db).await.unwrap();
    let again = store::claim_job(db, "heir", 60).await.unwrap().expect("taken over again");
    assert_eq!((again.id, again.attempts), (job.id, 3));
    assert_eq!(store::renew_leases(db, "heir", &[job.id], 60).await.unwrap(), renewed(3, true));

    // Earlier holders and starts cannot end it; the current one can, once.
    let mut tx = store::begin_write(db).await.unwrap();
    assert!(!store::finish_job(&mut tx, &again, "someone-else", None).await.unwrap());
    assert!(!store::finish_job(&mut tx, &again, "thief", Some("Cancelled")).await.unwrap());
    assert!(!store::finish_job(&mut tx, &job, "heir", Some("Cancelled")).await.unwrap());
    assert!(store::finish_job(&mut tx, &again, "heir", Some("Cancelled")).await.unwrap());
    assert!(!store::finish_job(&mut tx, &again, "heir", Some("Cancelled")).await.unwrap());
    tx.commit().await.unwrap();
    let counts = store::job_counts(db).await.unwrap();
    assert_eq!(counts, [(JobState::Failed, 1)]);
}

#[tokio::test]
async fn a_job_cancelled_before_its_worker_starts_it_ends_at_once() {
    let app = TestApp::spawn_with(|o| {
        o.provisioner = server::ProvisionerChoice::simulated(Duration::from_secs(60));
        // Renewal (a third of the lease) comes long after the deadline below.
        o.engine.lease = Duration::from_secs(60);
    })
    .await;
    let db = &app.state.pool;
    let (token, id, _) = started(&app, "doomed").await;
    // Its holder dies, another claims it and dies too, after someone asked to cancel it.
    store::expire_leases(db).await.unwrap();
    let job = store::claim_job(db, "gone", 60).await.unwrap().expect("taken over");
    let mut tx = store::begin_write(db).await.unwrap();
    assert_eq!(store::cancel_job(&mut tx, &id).await.unwrap(), Cancelling::Running(job.id));
    tx.commit().await.unwrap();
    store::expire_leases(db).await.unwrap();
    app.state.engine.wake();

    // The worker that takes it over reads the mark before starting it.
    app.wait_for_status(&token, &id, "error", Duration::from_secs(8)).await;
    let history = app.get_json(&format!("/v1/workstations/{id}/history"), &token).await;
    let messages: Vec<&str> =
        history["events"].as_array().unwrap().iter().filter_map(|e| e["message"].as_str()).collect();
    assert!(messages.ends_with(&["Cancelled"]), "{messages:?}");
}

#[tokio::test]
async fn a_job_whose_lease_was_taken_over_stops_where_it_ran_before() {
    let app = TestApp::spawn_with(|o| {
        o.provisioner = server::ProvisionerChoice::simulated(Duration::from_secs(5));
        // Renewed every second.
        o.engine.lease = Duration::from_secs(3);
        // The only worker is busy with the job: none here claims it back.
        o.engine.workers = 1;
    })
    .await;
    let db = &app.state.pool;
    let (token, id, mut events) = started(&app, "stolen").await;
    // Its lease runs out (the database could not be reached, say) and another instance takes it over.
    store::expire_leases(db).await.unwrap();
    let job = store::claim_job(db, "elsewhere", 600).await.unwrap().expect("taken over");
    assert_eq!(job.attempts, 2);

    // The first start learns it at its next renewal and stops: its next phase (5 s on) never comes.
    let until = tokio::time::Instant::now() + Duration::from_secs(6);
    while let Some(event) = events.next_within(until - tokio::time::Instant::now()).await {
        let event: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(event["phase"], "allocating", "the job went on where it lost its lease: {event}");
    }
    let ws = app.get_json(&format!("/v1/workstations/{id}"), &token).await;
    assert_eq!((ws["status"].as_str(), ws["phase"].as_str()), (Some("provisioning"), Some("allocating")));
    // Its end is the new holder's to record.
    assert_eq!(store::job_counts(db).await.unwrap(), [(JobState::Running, 1)]);
}

#[tokio::test]
async fn a_job_whose_lease_cannot_be_renewed_stops_before_another_instance_takes_it_over() {
    let app = TestApp::spawn_with(|o| {
        o.provisioner = server::ProvisionerChoice::simulated(Duration::from_secs(8));
        // Renewed every second; stopped after 2 s without a renewal.
        o.engine.lease = Duration::from_secs(3);
        o.engine.workers = 1;
    })
    .await;
    let store::Db::Postgres(pool) = &app.state.pool else {
        eprintln!("SQLite has one instance, which keeps its jobs (set ATELIER_TEST_POSTGRES)");
        return;
    };
    let (_, id, mut events) = started(&app, "cut-off").await;
    // The job's row is locked from elsewhere: its lease cannot be renewed, as with the database out of reach.
    use sqlx::{ConnectOptions, Connection};
    let mut other = (*pool.connect_options()).clone().connect().await.unwrap();
    let mut lock = other.begin().await.unwrap();
    sqlx::query("SELECT id FROM jobs WHERE workstation_id = $1 FOR UPDATE")
        .bind(&id)
        .fetch_one(&mut *lock)
        .await
        .unwrap();
    // The job stops within two thirds of its lease: its next phase (8 s on) never comes.
    let until = tokio::time::Instant::now() + Duration::from_millis(8500);
    while let Some(event) = events.next_within(until - tokio::time::Instant::now()).await {
        let event: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(event["phase"], "allocating", "the job went on without its lease: {event}");
    }
    // Once the database answers, the job is taken over as after a crash.
    lock.rollback().await.unwrap();
    let takeover = "The server running provisioning stopped; starting again (attempt 2 of 3)";
    loop {
        let event = events.next_within(Duration::from_secs(30)).await.expect("the job was taken over");
        let event: Value = serde_json::from_str(&event.data).unwrap();
        if event["message"] == takeover {
            break;
        }
        assert_eq!(event["phase"], "allocating", "before the takeover: {event}");
    }
}
