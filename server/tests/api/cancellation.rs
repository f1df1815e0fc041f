//! Work dropped half-way (a client hanging up, a job cancelled mid-write)
//! leaves nothing locked or stuck.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use app::backend::store;
use serde_json::Value;
use server::ProvisionerChoice;

use crate::helpers::{valid_body, TestApp};

/// Drops a write transaction's start after `polls` polls, at every point of
/// its progress, and checks that the next writer still gets the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_begin_never_keeps_the_write_lock() {
    let app = TestApp::spawn().await;
    let pool = &app.state.pool;
    for polls in 0..60 {
        {
            let mut begin = pin!(store::begin_write(pool));
            for _ in 0..polls {
                let polled = std::future::poll_fn(|cx| Poll::Ready(begin.as_mut().poll(cx))).await;
                if let Poll::Ready(tx) = polled {
                    drop(tx);
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        let tx = tokio::time::timeout(Duration::from_secs(3), store::begin_write(pool))
            .await
            .unwrap_or_else(|_| panic!("the write lock was still held after dropping at poll {polls}"))
            .expect("begin");
        tx.commit().await.expect("commit");
    }
}

/// Cancels provisioning at moments spread over its whole run; every job
/// ends: in `error`, or `stopped` when the cancel came as the work finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_at_any_moment_ends_the_job() {
    let app = TestApp::spawn_with(|o| {
        o.provisioner = ProvisionerChoice::simulated(Duration::from_millis(5));
        o.engine.workers = 4;
    })
    .await;
    let token = app.token_for("alice").await;
    let mut accepted = Vec::new();
    for i in 0..24u64 {
        let id = app.create(&token, &valid_body(&format!("ws-{i}"))).await;
        tokio::time::sleep(Duration::from_millis(i % 12 * 2)).await;
        let res = app
            .client
            .post(app.url(&format!("/v1/workstations/{id}/cancel")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            202 => accepted.push(id),
            409 => {} // already provisioned
            other => panic!("cancel answered {other}"),
        }
    }
    assert!(!accepted.is_empty(), "no cancel came in time to test anything");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut cancelled = 0;
    for id in &accepted {
        loop {
            let ws: Value = app
                .get(&format!("/v1/workstations/{id}"), &token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if ws.get("phase").is_none() {
                match ws["status"].as_str() {
                    Some("error") => cancelled += 1,
                    Some("stopped") => {}
                    _ => panic!("a cancelled job ended otherwise: {ws}"),
                }
                break;
            }
            assert!(Instant::now() < deadline, "a cancelled job never ended: {ws}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(cancelled > 0, "no cancel stopped its job");
}
