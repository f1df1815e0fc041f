//! Several instances on one PostgreSQL database, as behind a load balancer:
//! what goes through one is seen through the others. SQLite has one
//! instance, so on SQLite these tests say so and pass.

use std::time::Duration;

use app::backend::store::Backend;
use serde_json::Value;
use server::ServeOptions;

use crate::helpers::*;

/// A first instance, or `None` (saying why) on SQLite.
async fn first(configure: impl Fn(&mut ServeOptions)) -> Option<TestApp> {
    let a = TestApp::spawn_with(configure).await;
    if a.state.pool.backend() != Backend::Postgres {
        eprintln!("several instances need PostgreSQL (set ATELIER_TEST_POSTGRES)");
        return None;
    }
    Some(a)
}

/// Two instances on one PostgreSQL database, or `None` on SQLite.
async fn pair(configure: impl Fn(&mut ServeOptions) + Copy) -> Option<(TestApp, TestApp)> {
    let a = first(configure).await?;
    let b = a.spawn_beside(configure).await;
    Some((a, b))
}

#[tokio::test]
async fn events_written_through_one_instance_reach_streams_on_another_in_order() {
    let Some((a, b)) = pair(|_| {}).await else { return };
    let token = a.token_for("alice").await;
    let mut on_b = b.stream("/v1/events", &token, None).await;
    let id = a.create(&token, &valid_body("shared")).await;
    // The job runs on either instance; B's stream sees each step, in order, to the end.
    let (mut statuses, mut last_id) = (Vec::new(), 0);
    loop {
        let event = on_b.next_within(Duration::from_secs(10)).await.expect("the stream on B went quiet");
        let event_id: i64 = event.id.as_deref().unwrap().parse().unwrap();
        assert!(event_id > last_id, "ids go up: {event_id} after {last_id}");
        last_id = event_id;
        let data: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(data["workstationId"], id.as_str());
        if data["kind"] == "status" {
            statuses.push(data["status"].as_str().unwrap().to_owned());
            if data["status"] == "stopped" {
                break;
            }
        }
    }
    assert_eq!(statuses, ["provisioning", "stopped"]);
    // Both instances read the same workstation.
    let on_a = a.get_json(&format!("/v1/workstations/{id}"), &token).await;
    assert_eq!(on_a, b.get_json(&format!("/v1/workstations/{id}"), &token).await);
    assert_eq!(on_a["status"], "stopped");
}

#[tokio::test]
async fn a_browser_session_started_on_one_instance_works_on_another() {
    let Some((a, b)) = pair(|_| {}).await else { return };
    let alice = app::backend::store::create_user(&a.state.pool, "alice").await.unwrap();
    let session =
        app::backend::auth::start_session(&a.state.pool, &alice, Duration::from_secs(3600)).await.unwrap();
    let cookie = format!("{}={session}", app::backend::auth::SESSION_COOKIE);
    let home = |app: &TestApp| {
        app.client.get(app.url("/")).header("accept", "text/html").header("cookie", &cookie).send()
    };
    assert_eq!(home(&b).await.unwrap().status().as_u16(), 200, "signed in on B");
    app::backend::auth::end_session(&b.state.pool, &session).await.unwrap();
    let res = home(&a).await.unwrap();
    assert_eq!(res.status().as_u16(), 302, "signed out on A too");
    assert_eq!(res.headers()["location"], "/sign-in");
}

#[tokio::test]
async fn the_rate_limit_budget_is_shared_by_the_instances() {
    let Some((a, b)) = pair(|o| o.settings.rate_limit_per_minute = 3).await else { return };
    let token = a.token_for("alice").await;
    let remaining = |res: &reqwest::Response| res.headers()["ratelimit"].to_str().unwrap().to_owned();
    let first = a.get("/v1/workstations", &token).send().await.unwrap();
    assert!(remaining(&first).starts_with(r#""per-token";r=2;"#), "{}", remaining(&first));
    let second = b.get("/v1/workstations", &token).send().await.unwrap();
    assert!(remaining(&second).starts_with(r#""per-token";r=1;"#), "{}", remaining(&second));
    assert_eq!(a.get("/v1/workstations", &token).send().await.unwrap().status().as_u16(), 200);
    problem(b.get("/v1/workstations", &token).send().await.unwrap(), 429).await;
    problem(a.get("/v1/workstations", &token).send().await.unwrap(), 429).await;
}

#[tokio::test]
async fn an_idempotency_key_replays_on_another_instance() {
    let Some((a, b)) = pair(|_| {}).await else { return };
    let token = a.token_for("alice").await;
    let send = |app: &TestApp| {
        app.post_json("/v1/workstations", &token, &valid_body("once")).header("idempotency-key", "k-1").send()
    };
    let first = send(&a).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send(&b).await.unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    assert_eq!(a.workstation_count().await, 1);
}

#[tokio::test]
async fn a_cancel_through_one_instance_stops_the_job_running_on_another() {
    let slow = |o: &mut ServeOptions| {
        // Phases long enough that only a cancel ends the job in time.
        o.provisioner = server::ProvisionerChoice::simulated(Duration::from_secs(60));
        // Renewed every 20 s: the cancel has to arrive sooner (10 s), with its event.
        o.engine.lease = Duration::from_secs(60);
    };
    let Some(a) = first(slow).await else { return };
    let token = a.token_for("alice").await;
    let id = a.create(&token, &valid_body("long")).await;
    let mut on_a = a.stream(&format!("/v1/workstations/{id}/events"), &token, None).await;
    // A runs the job (B is not up yet to claim it).
    loop {
        let event = on_a.next_within(Duration::from_secs(10)).await.expect("the job started");
        if serde_json::from_str::<Value>(&event.data).unwrap()["phase"] == "allocating" {
            break;
        }
    }
    let b = a.spawn_beside(slow).await;
    let res = b.client.post(b.url(&format!("/v1/workstations/{id}/cancel"))).bearer_auth(&token).send().await;
    assert_eq!(res.unwrap().status().as_u16(), 202);
    b.wait_for_status(&token, &id, "error", Duration::from_secs(10)).await;
    let history = b.get_json(&format!("/v1/workstations/{id}/history"), &token).await;
    let last = history["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["message"], "Cancelled", "{history}");
}
