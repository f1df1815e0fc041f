//! Browser-facing protections: response headers on everything, and an
//! Origin check on state-changing requests that a session cookie may carry.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The API reference's policy: Swagger UI styles elements inline and draws
/// icons from data: URLs; its scripts are files served from here.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
/// Everything that is not a page (JSON, event streams, files) runs nothing.
const DATA_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds headers that keep pages from being framed, sniffed or leaking URLs,
/// and a Content-Security-Policy on everything (pages set their own, with
/// the nonce of their inline scripts).
pub async fn headers(req: Request, next: Next) -> Response {
    let docs = req.uri().path().starts_with("/docs/");
    let mut res = next.run(req).await;
    let html = is_html(res.headers());
    let h = res.headers_mut();
    h.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("same-origin"));
    h.entry(header::X_FRAME_OPTIONS).or_insert(HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        let policy = if docs {
            HeaderValue::from_static(DOCS_CSP)
        } else if html {
            // A page rendered without a nonce: no inline script may run.
            HeaderValue::from_str(&app::page_csp(None)).unwrap_or(HeaderValue::from_static(DATA_CSP))
        } else {
            HeaderValue::from_static(DATA_CSP)
        };
        h.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    res
}

/// Whether a response is a page (`text/html`).
pub fn is_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// The most header bytes (names and values) a request may send.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most header fields a request may send.
pub const MAX_HEADER_FIELDS: usize = 64;

/// Refuses a request whose header fields are over the limits with `431`
/// (problem+json), before anything reads them.
pub async fn header_limit(req: Request, next: Next) -> Response {
    if over_header_limits(req.headers()) {
        return crate::rest::ApiError::HeadersTooLarge.into_response();
    }
    next.run(req).await
}

fn over_header_limits(headers: &axum::http::HeaderMap) -> bool {
    let bytes: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    bytes > MAX_HEADER_BYTES || headers.len() > MAX_HEADER_FIELDS
}

/// Refuses a state-changing request whose `Origin` names another site: the
/// pages' server functions act on the session cookie, so a form on another
/// site must not be able to post to them. Requests without `Origin` (API
/// clients, old browsers) are left to their credentials.
pub async fn same_origin(req: Request, next: Next) -> Response {
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes_state && same_site(req.headers()) == Some(false) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    next.run(req).await
}

/// Whether the request's `Origin` is this server (the `Host` it was sent
/// to); `None` when it carries no `Origin`.
pub fn same_site(headers: &axum::http::HeaderMap) -> Option<bool> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.and_then(|o| o.split_once("://")).map(|(_, rest)| rest.trim_end_matches('/'));
    Some(origin.is_some_and(|o| o != "null") && origin_host.is_some() && origin_host == host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderName};

    #[test]
    fn header_limits_count_names_and_values() {
        let mut headers = HeaderMap::new();
        // "x-pad" is 5 bytes: the value fills the rest of the budget exactly.
        let value = "a".repeat(MAX_HEADER_BYTES - 5);
        headers.insert("x-pad", HeaderValue::from_str(&value).unwrap());
        assert!(!over_header_limits(&headers), "exactly at the limit");
        headers.insert("x-pad", HeaderValue::from_str(&format!("{value}a")).unwrap());
        assert!(over_header_limits(&headers), "one byte over");

        let mut headers = HeaderMap::new();
        for n in 0..MAX_HEADER_FIELDS {
            headers.insert(HeaderName::try_from(format!("x-{n}")).unwrap(), HeaderValue::from_static("1"));
        }
        assert!(!over_header_limits(&headers), "exactly the most fields");
        headers.insert("x-one-more", HeaderValue::from_static("1"));
        assert!(over_header_limits(&headers), "one field over");
    }
}
