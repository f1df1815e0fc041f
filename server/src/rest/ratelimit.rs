//! A per-credential request budget for the API: each token (or browser
//! session) gets `limit` requests per minute. Answers carry the budget in
//! `RateLimit-Policy` / `RateLimit` (draft-ietf-httpapi-ratelimit-headers);
//! past it, `429` problem+json with `Retry-After`.
//!
//! On SQLite the one instance counts in memory. On PostgreSQL the counts live
//! in the database (`rate_limits`), in windows of the wall-clock minute, so
//! every instance behind a load balancer draws on the same budget.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use app::backend::rate_limits;
use app::backend::store::Db;

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
    counts: Counts,
}

/// Where the requests are counted.
enum Counts {
    /// In this process (SQLite: one instance).
    Memory(Mutex<Windows>),
    /// In the database, shared by every instance (PostgreSQL).
    Database {
        db: Db,
        /// When (Unix milliseconds) finished windows were last forgotten.
        swept_ms: std::sync::atomic::AtomicI64,
    },
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
        Self::with(limit, Counts::Memory(Mutex::default()))
    }

    /// Counts shared through the database when `db` is PostgreSQL, else in memory.
    pub fn for_database(limit: u32, db: &Db) -> Self {
        if db.shared() {
            Self::with(limit, Counts::Database { db: db.clone(), swept_ms: Default::default() })
        } else {
            Self::new(limit)
        }
    }

    fn with(limit: u32, counts: Counts) -> Self {
        Self { inner: Arc::new(Inner { limit, counts }) }
    }

    /// Counts a request in the database, in windows as [`take`](Self::take)'s.
    /// A database that cannot count lets the request through: the limit
    /// guards the service, and a failing database fails the request anyway.
    async fn take_shared(&self, db: &Db, swept_ms: &std::sync::atomic::AtomicI64, key: &str) -> Standing {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let now_ms = i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX);
        let window_ms = i64::try_from(WINDOW.as_millis()).unwrap_or(i64::MAX);
        let limit = self.inner.limit;
        // Forget finished windows, at most once a window per instance.
        let swept = swept_ms.load(std::sync::atomic::Ordering::Relaxed);
        if now_ms - swept >= window_ms {
            swept_ms.store(now_ms, std::sync::atomic::Ordering::Relaxed);
            let db = db.clone();
            tokio::spawn(async move {
                if let Err(e) = rate_limits::forget_request_counts(&db, now_ms, window_ms).await {
                    tracing::warn!(error = %e, "cannot forget finished rate-limit windows");
                }
            });
        }
        match rate_limits::count_request(db, key, now_ms, window_ms).await {
            Ok((started, used)) => {
                let used = u32::try_from(used).unwrap_or(u32::MAX);
                let left_ms = u64::try_from(started + window_ms - now_ms).unwrap_or(0);
                let reset = Duration::from_millis(left_ms).min(WINDOW);
                Standing { allowed: used <= limit, remaining: limit.saturating_sub(used), reset }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot count a request against its rate limit");
                Standing { allowed: true, remaining: limit, reset: WINDOW }
            }
        }
    }
}

impl Windows {
    /// Counts a request of `key` at `now` against `limit` a window.
    fn take(&mut self, limit: u32, key: &str, now: Instant) -> Standing {
        // Forget finished windows so the map stays bounded: once a window at
        // most, and only when it is large, so a request never pays it often.
        if self.by_key.len() > 10_000 && self.swept.is_none_or(|at| now.duration_since(at) >= WINDOW) {
            self.by_key.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            self.swept = Some(now);
        }
        let (start, used) = self.by_key.entry(key.to_owned()).or_insert((now, 0));
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
    let standing = match &limiter.inner.counts {
        Counts::Database { db, swept_ms } => limiter.take_shared(db, swept_ms, &key).await,
        Counts::Memory(windows) => windows.lock().unwrap_or_else(PoisonError::into_inner).take(
            limiter.inner.limit,
            &key,
            Instant::now(),
        ),
    };
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
        let mut windows = Windows::default();
        let mut take = |key: &str, at: Instant| windows.take(2, key, at);
        let t0 = Instant::now();
        assert_eq!(take("a", t0), Standing { allowed: true, remaining: 1, reset: WINDOW });
        assert!(take("a", t0 + Duration::from_secs(1)).allowed);
        let refused = take("a", t0 + Duration::from_secs(20));
        assert_eq!(refused, Standing { allowed: false, remaining: 0, reset: Duration::from_secs(40) });
        assert!(take("b", t0 + Duration::from_secs(20)).allowed, "another key has its own");
        let next = take("a", t0 + WINDOW);
        assert_eq!(next, Standing { allowed: true, remaining: 1, reset: WINDOW });
    }

    #[test]
    fn finished_windows_are_forgotten() {
        let mut windows = Windows::default();
        let t0 = Instant::now();
        for n in 0..10_001 {
            windows.take(5, &format!("k{n}"), t0);
        }
        assert_eq!(windows.by_key.len(), 10_001, "all still in their window");
        windows.take(5, "late", t0 + WINDOW);
        assert_eq!(windows.by_key.len(), 1, "only the new window is kept");
    }
}
