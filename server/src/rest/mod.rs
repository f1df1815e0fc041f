//! The REST API under `/v1`: plain axum handlers over the same domain parse
//! and backend functions as the pages.

pub mod audit;
pub mod auth;
pub mod catalog;
pub mod events;
pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod problem;
pub mod projects;
pub mod ratelimit;
pub mod terminal;
pub mod usage;
pub mod workstations;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
pub use problem::ApiError;

/// The largest request body the API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Routes of the API, relative to `/v1`, with `/openapi.json` describing them.
pub fn router(state: &AppState) -> Router<AppState> {
    let (routes, paths) = OpenApiRouter::new()
        .merge(workstations::router())
        .merge(events::router())
        .merge(catalog::router())
        .merge(terminal::router())
        .merge(usage::router())
        .merge(projects::router())
        .merge(audit::router())
        .split_for_parts();
    // Serialized once: the router is cloned for every connection, and with
    // it whatever its handlers hold (a document by value cost ~0.7 MB each).
    let document = axum::body::Bytes::from(
        serde_json::to_vec(&openapi::document(paths)).expect("the API document serializes"),
    );
    routes
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::guard))
        // Outside the idempotency guard, so that it sees (and skips) replays.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), audit::record))
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
                std::future::ready((json, document.clone()))
            }),
        )
        .fallback(|| async { ApiError::NotFound("there is no API endpoint at this path".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            ratelimit::RateLimiter::for_database(state.settings.rate_limit_per_minute, &state.pool),
            ratelimit::limit,
        ))
}
