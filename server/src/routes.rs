//! Assembles the whole router: REST API, pages, server functions, files.

use std::future::Future;

use app::{shell, App};
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;

use crate::{request_id, rest, security, AppState};

/// The service's router.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .nest("/v1", rest::router(&state))
        // A readable reference of the API, served from our own assets (no CDN).
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/docs/api")
                .config(utoipa_swagger_ui::Config::new(["/v1/openapi.json"])),
        )
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn(security::same_origin))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Event streams never end by themselves: close them when shutdown starts,
    // so the graceful shutdown only waits for ordinary requests.
    let bus = state.bus.clone();
    let shutdown = async move {
        shutdown.await;
        bus.close();
    };
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
