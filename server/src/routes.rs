//! Assembles the whole router: REST API, pages, server functions, files.

use std::future::Future;

use app::{shell, App};
use axum::response::IntoResponse;
use axum::Router;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tokio::net::TcpListener;

use crate::{ops, request_id, rest, security, AppState};

/// The pages' routes, listed once per process. Listing them renders the app
/// with resource loading switched off for the whole process (a global flag in
/// leptos_server): a page that another router of this process (tests run
/// several) renders meanwhile would wait forever for its data.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The service's router.
pub fn router(state: AppState) -> Router {
    let routes = page_routes();
    let options = state.leptos_options.clone();
    let sign_on = match state.settings.sign_on.clone() {
        Some(settings) => crate::oidc::router(settings),
        None => Router::new(),
    };
    Router::new()
        .nest("/v1", rest::router(&state))
        .merge(sign_on)
        // A readable reference of the API, served from our own assets (no CDN).
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/docs/api")
                .config(utoipa_swagger_ui::Config::new(["/v1/openapi.json"])),
        )
        .merge(ops::router())
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback_service(files(&state))
        .layer(compress_pages())
        .layer(axum::middleware::from_fn(ops::track))
        .layer(axum::Extension(std::sync::Arc::new(ops::RequestMetrics::default())))
        .layer(axum::middleware::from_fn(security::same_origin))
        .layer(axum::middleware::from_fn(security::header_limit))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn(request_id::assign))
        // Around the rest, so the request's id and everything else run in its task.
        .layer(axum::middleware::from_fn(run_to_completion))
        // Outside the task of a write, so a deadline never cuts one in half.
        .layer(axum::middleware::from_fn_with_state(state.settings.request_timeout, deadline))
        .with_state(state)
}

/// The site's files (the wasm, its JS and CSS, terminal.js, xterm.js), as
/// brotli or gzip when the browser takes it (`make build` writes both beside
/// each); any other address is the app's 404 page. `no-cache`: browsers ask
/// again on each use and get a 304 while the file is unchanged. The names
/// stay the same from one build to the next, and a browser that guessed a
/// file still fresh would run an older build's wasm against a newer server.
fn files(
    state: &AppState,
) -> impl tower::Service<
    axum::extract::Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
       + Send
       + Sync
       + 'static {
    use axum::handler::Handler;
    use axum::http::{header, HeaderValue};
    use tower::ServiceExt;
    use tower_http::set_header::SetResponseHeaderLayer;
    let not_found = leptos_axum::file_and_error_handler::<AppState, _>(shell).with_state(state.clone());
    let files = tower_http::services::ServeDir::new(&*state.leptos_options.site_root)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .call_fallback_on_method_not_allowed(true)
        .fallback(not_found);
    let files = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .service(files);
    ServiceExt::<axum::extract::Request>::map_response(files, IntoResponse::into_response)
}

/// Pages go out as gzip or brotli (their fastest levels) to browsers that
/// take it: a home page of 48 KB is about 5 KB. Only HTML: compressing a
/// 14 KB JSON list doubled the server's CPU time per request (126 against
/// about 300 µs, BENCHMARKS.md), and API clients mostly sit next to the
/// server. Event streams are not HTML; the site's files go out precompressed.
fn compress_pages() -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{DefaultPredicate, Predicate};
    let html = |_: axum::http::StatusCode,
                _: axum::http::Version,
                headers: &axum::http::HeaderMap,
                _: &axum::http::Extensions| security::is_html(headers);
    tower_http::compression::CompressionLayer::new()
        .quality(tower_http::CompressionLevel::Fastest)
        .compress_when(DefaultPredicate::new().and(html))
}

/// Requests that change state run to their end in a task of their own: a
/// client that hangs up cannot stop a write half-way (between its commit and
/// the publishing of its events, or before its idempotency record is saved).
async fn run_to_completion(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if req.method().is_safe() {
        return next.run(req).await;
    }
    match tokio::spawn(next.run(req)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "a request's handler stopped");
            rest::problem::ApiError::internal(e).into_response()
        }
    }
}

/// Answers 503 when a request has no response by its deadline. A write goes
/// on in its own task (see `run_to_completion`) and lands or not as a whole;
/// an `Idempotency-Key` makes the retry safe.
async fn deadline(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(seconds = limit.as_secs_f64(), "request past its deadline");
            rest::problem::ApiError::Unavailable {
                detail: "the request took too long; retry it (with the same Idempotency-Key)",
                retry_after_secs: 2,
            }
            .into_response()
        }
    }
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
    let audit = state.audit.clone();
    let shutdown = async move {
        shutdown.await;
        bus.close();
    };
    // Every route turned into its final service once (`with_state`), then one
    // cheap clone of the router per connection; serving the `Router` itself
    // would rebuild every route for each new connection.
    crate::connections::serve(listener, router(state).with_state(()), shutdown).await?;
    // The last requests' records are written before the process goes.
    audit.flush().await;
    Ok(())
}
