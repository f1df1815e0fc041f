//! For operators: `/healthz` (the process answers), `/readyz` (it can serve:
//! database reachable, migrations applied, workers running) and Prometheus
//! `/metrics` (requests by route and status with latency histograms, jobs by
//! state and duration, open event streams, database pool use).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use app::backend::metrics::{label, Histogram, REQUEST_BUCKETS};
use app::backend::{health, AppState};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::json;

/// Request counts and latencies, by method, route and status.
#[derive(Default)]
pub struct RequestMetrics {
    by_route: Mutex<BTreeMap<(String, String, u16), Histogram>>,
}

/// Records each request's route, status and time to its response head.
pub async fn track(Extension(metrics): Extension<Arc<RequestMetrics>>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    // Routes, not paths: ids would make a series per workstation.
    let route = req.extensions().get::<MatchedPath>().map_or("other", MatchedPath::as_str).to_owned();
    let began = Instant::now();
    let res = next.run(req).await;
    let elapsed = began.elapsed().as_secs_f64();
    let mut by_route = metrics.by_route.lock().unwrap_or_else(PoisonError::into_inner);
    by_route
        .entry((method, route, res.status().as_u16()))
        .or_insert_with(|| Histogram::new(REQUEST_BUCKETS))
        .observe(elapsed);
    res
}

/// The operations routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up and answering.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Whether this instance can serve: 200 when every check passes, else 503.
async fn readyz(State(state): State<AppState>) -> Response {
    let database = match health::ping(&state.pool).await {
        Ok(_) => Ok("reachable".to_owned()),
        Err(e) => Err(format!("unreachable: {e}")),
    };
    let expected: Vec<i64> = state.pool.migrator().iter().map(|m| m.version).collect();
    let migrations = match health::applied_migrations(&state.pool).await {
        Ok(applied) if expected.iter().all(|v| applied.contains(v)) => {
            Ok(format!("{} of {} applied", applied.len(), expected.len()))
        }
        Ok(applied) => Err(format!("{} of {} applied", applied.len(), expected.len())),
        Err(e) => Err(format!("cannot read: {e}")),
    };
    let (running, started) = state.engine.workers();
    let workers = if running == started {
        Ok(format!("{running} of {started} running"))
    } else {
        Err(format!("{running} of {started} running"))
    };
    let checks = [("database", database), ("migrations", migrations), ("workers", workers)];
    let ready = checks.iter().all(|(_, c)| c.is_ok());
    // Shown, not counted: every instance drives the same engines, so one
    // engine down is not a reason to stop sending this instance requests.
    let engines: Vec<serde_json::Value> = state
        .engine
        .provisioner()
        .engines()
        .await
        .into_iter()
        .map(|e| {
            // Names only: this answers without a token, and an engine's
            // address (a Docker API) is not for everyone to know.
            json!({
                "name": e.name,
                "ok": e.state.is_ok(),
                "detail": e.state.unwrap_or_else(|e| e),
            })
        })
        .collect();
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": checks
            .into_iter()
            .map(|(name, c)| (name.to_owned(), json!({ "ok": c.is_ok(), "detail": c.unwrap_or_else(|e| e) })))
            .collect::<serde_json::Map<_, _>>(),
        "engines": engines,
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

/// Prometheus text exposition.
async fn metrics(
    State(state): State<AppState>,
    Extension(requests): Extension<Arc<RequestMetrics>>,
) -> Response {
    let mut out = String::with_capacity(8192);
    out.push_str("# HELP atelier_http_request_duration_seconds Time to the response head, by method, route and status.\n");
    out.push_str("# TYPE atelier_http_request_duration_seconds histogram\n");
    {
        let by_route = requests.by_route.lock().unwrap_or_else(PoisonError::into_inner);
        for ((method, route, status), histogram) in by_route.iter() {
            let labels = format!("method=\"{method}\",route=\"{}\",status=\"{status}\"", label(route));
            histogram.write(&mut out, "atelier_http_request_duration_seconds", &labels);
        }
    }
    out.push_str("# HELP atelier_http_requests_total Requests answered, by method, route and status.\n");
    out.push_str("# TYPE atelier_http_requests_total counter\n");
    {
        let by_route = requests.by_route.lock().unwrap_or_else(PoisonError::into_inner);
        for ((method, route, status), histogram) in by_route.iter() {
            let _ = writeln!(
                out,
                "atelier_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                label(route),
                histogram.count()
            );
        }
    }

    out.push_str("# HELP atelier_jobs Jobs by state (of workstations not deleted).\n");
    out.push_str("# TYPE atelier_jobs gauge\n");
    match health::job_counts(&state.pool).await {
        Ok(counts) => {
            for (job_state, n) in counts {
                let _ = writeln!(out, "atelier_jobs{{state=\"{}\"}} {n}", job_state.as_str());
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot count jobs for the metrics"),
    }
    out.push_str("# HELP atelier_job_duration_seconds How long finished jobs took, by kind and outcome.\n");
    out.push_str("# TYPE atelier_job_duration_seconds histogram\n");
    state.engine.write_job_durations(&mut out);
    state.engine.provisioner().write_metrics(&mut out);

    let (running, started) = state.engine.workers();
    out.push_str(
        "# HELP atelier_workers Job workers, running and configured.\n# TYPE atelier_workers gauge\n",
    );
    let _ = writeln!(out, "atelier_workers{{state=\"running\"}} {running}");
    let _ = writeln!(out, "atelier_workers{{state=\"configured\"}} {started}");

    let (commits, stored) = state.creates.counts();
    out.push_str("# HELP atelier_create_commits_total Transactions that stored creates (group commits).\n");
    out.push_str("# TYPE atelier_create_commits_total counter\n");
    let _ = writeln!(out, "atelier_create_commits_total {commits}");
    out.push_str("# HELP atelier_creates_stored_total Workstations stored by those transactions.\n");
    out.push_str("# TYPE atelier_creates_stored_total counter\n");
    let _ = writeln!(out, "atelier_creates_stored_total {stored}");
    let (one_statement, undone) = state.creates.one_statement_counts();
    out.push_str(
        "# HELP atelier_create_batches_one_statement_total Batches stored by one statement that also read \
         what they were checked against (PostgreSQL).\n",
    );
    out.push_str("# TYPE atelier_create_batches_one_statement_total counter\n");
    let _ = writeln!(out, "atelier_create_batches_one_statement_total {one_statement}");
    out.push_str(
        "# HELP atelier_create_batches_undone_total Such statements rolled back because a create was refused \
         (the others then stored the general way).\n",
    );
    out.push_str("# TYPE atelier_create_batches_undone_total counter\n");
    let _ = writeln!(out, "atelier_create_batches_undone_total {undone}");
    out.push_str("# HELP atelier_event_streams_open Server-Sent Event streams open now.\n");
    out.push_str("# TYPE atelier_event_streams_open gauge\n");
    let _ = writeln!(out, "atelier_event_streams_open {}", state.streams.open_count());

    let (size, idle) = state.pool.connections();
    out.push_str("# HELP atelier_db_connections Database pool connections by state.\n");
    out.push_str("# TYPE atelier_db_connections gauge\n");
    let _ =
        writeln!(out, "atelier_db_connections{{state=\"in_use\"}} {}", (size as usize).saturating_sub(idle));
    let _ = writeln!(out, "atelier_db_connections{{state=\"idle\"}} {idle}");
    let _ = writeln!(out, "atelier_db_connections{{state=\"max\"}} {}", state.pool.max_connections());

    let (here, pooled) = state.pool.reads_here();
    out.push_str(
        "# HELP atelier_db_short_reads_total Short reads (list pages) by where they ran: on the request's own \
         thread, or through the pool when one ran past its budget or failed there (SQLite).\n",
    );
    out.push_str("# TYPE atelier_db_short_reads_total counter\n");
    let _ = writeln!(out, "atelier_db_short_reads_total{{on=\"request_thread\"}} {here}");
    let _ = writeln!(out, "atelier_db_short_reads_total{{on=\"pool\"}} {pooled}");

    let mut res = out.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    res
}
