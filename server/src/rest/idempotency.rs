//! `Idempotency-Key` on POST: a retry with the same key and body gets the
//! first response again (with `Idempotent-Replayed: true`); the same key with
//! another body is a 422; a retry while the first still runs is a 409. Keys
//! are scoped to the credential that sent them and kept for 24 hours.

use app::backend::idempotency::{self, Answer, Claimed, IdempotentRecord};
use app::backend::{auth, AppState};
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::Credential;
use super::{ApiError, MAX_BODY_BYTES};

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The header on a replayed response.
pub const REPLAYED: &str = "idempotent-replayed";
/// Responses are small JSON documents; anything larger is not stored.
const MAX_STORED_BODY: usize = 256 * 1024;

fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// The middleware.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw_key) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let Some(key) = raw_key.to_str().ok().filter(|k| valid_key(k)).map(str::to_owned) else {
        return ApiError::Validation(vec![app::domain::FieldError::new(
            "#/Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        )])
        .into_response();
    };
    // Keys belong to the credential that sent them; unauthenticated requests
    // are left to fail in the handler as usual.
    let Some(scope) = Credential::of(req.headers()).map(|c| c.key()) else {
        return next.run(req).await;
    };

    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return ApiError::PayloadTooLarge.into_response(),
    };
    let fingerprint = format!(
        "{} {}\n{}\n",
        parts.method,
        parts.uri.path_and_query().map_or("", |p| p.as_str()),
        parts.headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).unwrap_or("")
    );
    let mut hashed = fingerprint.into_bytes();
    hashed.extend_from_slice(&bytes);
    let request_hash = auth::hash_bytes(&hashed);

    let claim = match idempotency::claim(&state.pool, &scope, &key, &request_hash).await {
        Err(e) => return ApiError::internal(e).into_response(),
        Ok(Claimed::Existing(record)) if record.status.is_none() => {
            return ApiError::IdempotencyInFlight.into_response()
        }
        Ok(Claimed::Existing(record)) if record.request_hash != request_hash => {
            return ApiError::IdempotencyMismatch.into_response();
        }
        Ok(Claimed::Existing(record)) => return replay(record),
        Ok(Claimed::New(claim)) => claim,
    };

    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let status = response.status();
    if status.is_server_error() || status == StatusCode::UNAUTHORIZED {
        // Nothing happened that a retry could repeat: let it run again.
        if let Err(e) = idempotency::release(&state.pool, &claim).await {
            tracing::error!(error = %e, "cannot release an idempotency key");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes: Bytes = match to_bytes(body, MAX_STORED_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            let _ = idempotency::release(&state.pool, &claim).await;
            return ApiError::internal(format!("response body unreadable: {e}")).into_response();
        }
    };
    let text =
        |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (content_type, location, etag) =
        (text(header::CONTENT_TYPE), text(header::LOCATION), text(header::ETAG));
    let answer = Answer {
        status: parts.status.as_u16(),
        content_type: content_type.as_deref(),
        location: location.as_deref(),
        etag: etag.as_deref(),
        body: &bytes,
    };
    if let Err(e) = idempotency::answer(&state.pool, &claim, answer).await {
        tracing::error!(error = %e, "cannot store an idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(record: IdempotentRecord) -> Response {
    let Some(status) =
        record.status.and_then(|s| u16::try_from(s).ok()).and_then(|s| StatusCode::from_u16(s).ok())
    else {
        return ApiError::IdempotencyInFlight.into_response();
    };
    let mut response = (status, record.body.unwrap_or_default()).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, record.content_type),
        (header::LOCATION, record.location),
        (header::ETAG, record.etag),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::valid_key;

    #[test]
    fn keys() {
        assert!(valid_key("a"));
        assert!(valid_key("0b9f5c1e-7d4a-4a4b-9c1e-2f2b5d6a7e8f"));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
        assert!(!valid_key(&"x".repeat(256)));
    }
}
