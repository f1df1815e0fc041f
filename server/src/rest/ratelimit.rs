//! A per-credential request budget for the API: each token (or browser
//! session) gets `limit` requests per minute. Answers carry the budget in
//! `RateLimit-Policy` / `RateLimit` (draft-ietf-httpapi-ratelimit-headers);
//! past it, `429` problem+json with `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::Credential;
use super::ApiError;

/// The window budgets are counted over.
const WINDOW: Duration = Duration::from_secs(60);

/// Budgets by credential, in fixed one-minute windows.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    limit: u32,
    windows: Mutex<Windows>,
}

#[derive(Default)]
struct Windows {
    /// Per credential: when its window started, and how much of it is used.
    by_key: HashMap<String, (Instant, u32)>,
    /// When finished windows were last forgotten.
    swept: Option<Instant>,
}

/// Where a credential stands in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Standing {
    allowed: bool,
    remaining: u32,
    reset: Duration,
}

impl RateLimiter {
    /// `limit` requests per minute per credential; 0 turns limiting off.
    pub fn new(limit: u32) -> Self {
        Self { inner: Arc::new(Inner { limit, windows: Mutex::new(Windows::default()) }) }
    }

    fn take(&self, key: &str, now: Instant) -> Standing {
        let limit = self.inner.limit;
        let mut guard = self.inner.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let windows = &mut *guard;
        // Forget finished windows so the map stays bounded: once a window at
        // most, and only when it is large, so a request never pays it often.
        if windows.by_key.len() > 10_000 && windows.swept.is_none_or(|at| now.duration_since(at) >= WINDOW) {
            windows.by_key.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            windows.swept = Some(now);
        }
        let (start, used) = windows.by_key.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *used = 0;
        }
        let reset = WINDOW.saturating_sub(now.duration_since(*start));
        if *used >= limit {
            return Standing { allowed: false, remaining: 0, reset };
        }
        *used += 1;
        Standing { allowed: true, remaining: limit - *used, reset }
    }
}

/// The budget key of a request: a hash of its credential, so no secret is
/// kept; requests without one are not counted (they are refused with 401).
fn key(headers: &HeaderMap) -> Option<String> {
    Credential::of(headers).map(|c| c.key())
}

/// Counts the request against its credential's budget.
pub async fn limit(State(limiter): State<RateLimiter>, req: Request, next: Next) -> Response {
    if limiter.inner.limit == 0 {
        return next.run(req).await;
    }
    let Some(key) = key(req.headers()) else {
        return next.run(req).await;
    };
    let standing = limiter.take(&key, Instant::now());
    let reset_secs = standing.reset.as_secs_f64().ceil() as u64;
    let mut res = if standing.allowed {
        next.run(req).await
    } else {
        ApiError::TooManyRequests {
            detail: format!(
                "this token made {} requests in the last minute, the most allowed; retry in {reset_secs} s",
                limiter.inner.limit
            ),
            retry_after_secs: reset_secs.max(1),
        }
        .into_response()
    };
    let headers = res.headers_mut();
    let policy = format!("\"per-token\";q={};w={}", limiter.inner.limit, WINDOW.as_secs());
    let current = format!("\"per-token\";r={};t={reset_secs}", standing.remaining);
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", current)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header::HeaderName::from_static(name), value);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_per_key_and_refill_each_window() {
        let limiter = RateLimiter::new(2);
        let t0 = Instant::now();
        assert_eq!(limiter.take("a", t0), Standing { allowed: true, remaining: 1, reset: WINDOW });
        assert!(limiter.take("a", t0 + Duration::from_secs(1)).allowed);
        let refused = limiter.take("a", t0 + Duration::from_secs(20));
        assert_eq!(refused, Standing { allowed: false, remaining: 0, reset: Duration::from_secs(40) });
        assert!(limiter.take("b", t0 + Duration::from_secs(20)).allowed, "another key has its own");
        let next = limiter.take("a", t0 + WINDOW);
        assert_eq!(next, Standing { allowed: true, remaining: 1, reset: WINDOW });
    }

    #[test]
    fn finished_windows_are_forgotten() {
        let limiter = RateLimiter::new(5);
        let t0 = Instant::now();
        for n in 0..10_001 {
            limiter.take(&format!("k{n}"), t0);
        }
        let size = || limiter.inner.windows.lock().unwrap().by_key.len();
        assert_eq!(size(), 10_001, "all still in their window");
        limiter.take("late", t0 + WINDOW);
        assert_eq!(size(), 1, "only the new window is kept");
    }
}
