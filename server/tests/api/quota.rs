//! Per-user quotas.

use app::backend::store;
use app::domain::QuotaOverrides;
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

    let alice = store::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    store::set_user_quota(
        &app.state.pool,
        alice.id,
        QuotaOverrides { cpu_cores: Some(16), ..Default::default() },
    )
    .await
    .unwrap();
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

/// The running totals the checks read equal a recount of the workstations,
/// after every kind of change: create, fail, retry, reconfigure, delete.
#[tokio::test]
async fn usage_totals_always_equal_a_recount() {
    use std::time::Duration;
    let app = TestApp::spawn_with(|o| {
        o.provisioner = server::ProvisionerChoice::simulated(Duration::from_millis(30));
    })
    .await;
    let pool = &app.state.pool;
    // What the domain says each workstation holds, summed: the triggers
    // must keep the same totals.
    let recount = || async {
        use app::domain::{held, holds_resources, Configuration, Quota, WorkstationStatus};
        use std::collections::BTreeMap;
        let rows: Vec<(i64, String, i64, i64, String, i64, String)> =
            app::on_pool!(pool, |pool, d| sqlx::query_as(
                "SELECT owner_id, status, cpu_cores, memory_gb, gpu, storage_gb, region FROM workstations",
            )
            .fetch_all(pool)
            .await)
            .unwrap();
        let mut by_owner: BTreeMap<i64, Quota> = BTreeMap::new();
        let mut by_place: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (owner, status, cpu, memory, gpu, storage, region) in rows {
            let status: WorkstationStatus = status.parse().unwrap();
            let n = |v: i64| u32::try_from(v).unwrap();
            let c = Configuration {
                cpu_cores: n(cpu),
                memory_gb: n(memory),
                gpu,
                storage_gb: n(storage),
                region,
            };
            let total = by_owner.entry(owner).or_default();
            *total = total.plus(held(status, &c));
            if holds_resources(status) {
                *by_place.entry((c.region, c.gpu)).or_default() += 1;
            }
        }
        let n = |v: u64| i64::try_from(v).unwrap();
        let owners: Vec<(i64, i64, i64, i64, i64)> = by_owner
            .into_iter()
            .filter(|(_, q)| q.gpus > 0)
            .map(|(owner, q)| (owner, n(q.cpu_cores), n(q.memory_gb), n(q.gpus), n(q.storage_gb)))
            .collect();
        let kept: Vec<(i64, i64, i64, i64, i64)> = app::on_pool!(pool, |pool, d| sqlx::query_as(
            "SELECT owner_id, cpu_cores, memory_gb, gpus, storage_gb FROM owner_usage WHERE gpus > 0 ORDER BY owner_id",
        )
        .fetch_all(pool)
        .await)
        .unwrap();
        assert_eq!(kept, owners, "owner totals");
        let places: Vec<(String, String, i64)> =
            by_place.into_iter().map(|((region, gpu), count)| (region, gpu, count)).collect();
        let kept: Vec<(String, String, i64)> = app::on_pool!(pool, |pool, d| sqlx::query_as(
            "SELECT region, gpu, count FROM placement_usage WHERE count > 0 ORDER BY 1, 2"
        )
        .fetch_all(pool)
        .await)
        .unwrap();
        assert_eq!(kept, places, "placement totals");
    };
    let alice = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    let a1 = app.create(&alice, &valid_body("a1")).await;
    let a2 = app.create(&alice, &valid_body("a2")).await;
    let b1 = app.create(&bob, &valid_body("b1")).await;
    recount().await;
    // Fails (holds nothing), then is retried (holds again).
    let post =
        |token: &str, path: String| app.client.post(app.url(&path)).bearer_auth(token.to_owned()).send();
    post(&alice, format!("/v1/workstations/{a2}/cancel")).await.unwrap();
    for (token, id) in [(&alice, &a1), (&alice, &a2), (&bob, &b1)] {
        app.follow_to_end(token, id).await;
    }
    recount().await;
    assert_eq!(post(&alice, format!("/v1/workstations/{a2}/retry")).await.unwrap().status().as_u16(), 202);
    app.follow_to_end(&alice, &a2).await;
    recount().await;
    // Reconfigured while stopped.
    let res = app
        .client
        .patch(app.url(&format!("/v1/workstations/{a1}")))
        .bearer_auth(&alice)
        .json(&serde_json::json!({ "configuration": { "cpuCores": 32, "gpu": "NVIDIA A10G" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "{}", res.text().await.unwrap());
    recount().await;
    // Deleted.
    app.delete_and_wait(&bob, &b1).await;
    recount().await;
}
