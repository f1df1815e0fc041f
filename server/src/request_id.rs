//! Gives every request an id: taken from a sane incoming `X-Request-Id`, or
//! made up. It is echoed in the response, written in the logs, and put in
//! every problem document so a user's report finds the log lines.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::distr::{Alphanumeric, SampleString};

/// The header carrying the id.
pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The current request's id, inside a request.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Middleware that assigns the id and runs the request inside its scope.
pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| Alphanumeric.sample_string(&mut rand::rng(), 16));
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    // Server functions read it from the request headers.
    req.headers_mut().insert(HEADER, value.clone());
    let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
    let mut res = tracing::Instrument::instrument(REQUEST_ID.scope(id, next.run(req)), span).await;
    res.headers_mut().insert(HEADER, value);
    res
}
