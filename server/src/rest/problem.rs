//! The API's one error type, written as RFC 9457 `application/problem+json`.

use app::domain::FieldError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::request_id;

/// Everything an API request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Fields broke the rules.
    #[error("invalid request")]
    Validation(Vec<FieldError>),
    /// The body is not JSON, or not readable.
    #[error("malformed body: {0}")]
    MalformedBody(String),
    /// The body is not declared as JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body is over the limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The request's header fields are over the limit.
    #[error("request header fields too large")]
    HeadersTooLarge,
    /// No valid bearer token; the detail says which part was wrong.
    #[error("unauthorized: {detail}")]
    Unauthorized { detail: &'static str, token_presented: bool },
    /// A read-only token was used to change something.
    #[error("insufficient scope")]
    InsufficientScope,
    /// The caller's role in the project does not allow it.
    #[error("forbidden: {detail}")]
    Forbidden { detail: String, role_needed: app::domain::Role, role: app::domain::Role },
    /// The token is limited to one project, and the request reaches past it.
    #[error("token limited: {0}")]
    TokenLimited(String),
    /// The object's state refuses the change (not a field's fault).
    #[error("refused: {0}")]
    Refused(String),
    /// Nothing there (or not the caller's).
    #[error("not found: {0}")]
    NotFound(String),
    /// The method is not allowed on this path.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request conflicts with stored data.
    #[error("conflict: {0}")]
    Conflict(FieldError),
    /// The state machine does not allow the action now.
    #[error("invalid transition: {detail}")]
    InvalidTransition { detail: String, status: String, phase: Option<String>, allowed: Vec<String> },
    /// `If-Match` does not match the current version.
    #[error("precondition failed")]
    PreconditionFailed { current_etag: String },
    /// The request would pass one of the user's quota limits.
    #[error("quota exceeded")]
    QuotaExceeded(Box<app::backend::QuotaExcess>),
    /// No capacity left for the GPU type in the region.
    #[error("insufficient capacity")]
    InsufficientCapacity(Box<app::backend::Shortage>),
    /// An `Idempotency-Key` was used before with a different request.
    #[error("idempotency key reused")]
    IdempotencyMismatch,
    /// The first request with this `Idempotency-Key` is still running.
    #[error("idempotency key in flight")]
    IdempotencyInFlight,
    /// Too many requests, or too many open streams; retry after a while.
    #[error("too many requests: {detail}")]
    TooManyRequests { detail: String, retry_after_secs: u64 },
    /// The database cannot take the request now (locked past the busy
    /// timeout, or out of space); nothing was written. Retry later.
    #[error("unavailable: {detail}")]
    Unavailable { detail: &'static str, retry_after_secs: u64 },
    /// The endpoint speaks WebSocket only.
    #[error("upgrade required")]
    UpgradeRequired,
    /// The workstation's provisioner has no such feature.
    #[error("not available: {0}")]
    NotAvailable(String),
    /// A request carrying a session cookie came from another site.
    #[error("cross-site request refused")]
    CrossSite,
    /// The workstation's container engine failed or could not be reached.
    #[error("engine failed: {0}")]
    EngineFailed(String),
    /// A server-side failure; the cause goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// An internal error from any cause; the cause is logged, not sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}

impl From<app::backend::lifecycle::ActionError> for ApiError {
    fn from(e: app::backend::lifecycle::ActionError) -> Self {
        use super::workstations::etag;
        use app::backend::lifecycle::ActionError;
        match e {
            ActionError::NotFound => Self::NotFound("you have no workstation with that id".into()),
            ActionError::PreconditionFailed { current } => {
                Self::PreconditionFailed { current_etag: etag(current) }
            }
            ActionError::NotAllowed { action, status, phase, allowed } => {
                let detail = match (&phase, allowed.is_empty()) {
                    (Some(phase), true) => format!(
                        "cannot {} the workstation while it is {status} and {phase}; wait for that to finish",
                        action.as_str()
                    ),
                    _ => format!(
                        "cannot {} a workstation that is {status}; allowed now: {}",
                        action.as_str(),
                        allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                };
                Self::InvalidTransition {
                    detail,
                    status: status.as_str().to_owned(),
                    phase: phase.map(|p| p.as_str().to_owned()),
                    allowed: allowed.iter().map(|a| a.as_str().to_owned()).collect(),
                }
            }
            ActionError::Backend(e) => e.into(),
        }
    }
}

impl From<app::backend::lifecycle::ReconfigureError> for ApiError {
    fn from(e: app::backend::lifecycle::ReconfigureError) -> Self {
        use app::backend::lifecycle::ReconfigureError;
        match e {
            ReconfigureError::Invalid(errors) => Self::Validation(errors),
            ReconfigureError::MustStop => Self::InvalidTransition {
                detail:
                    "the workstation is running: stop it first, or send \"apply\": \"nextStart\" to apply \
                         the change at its next launch"
                        .into(),
                status: "running".into(),
                phase: None,
                allowed: vec!["stop".into(), "reconfigure".into(), "delete".into()],
            },
            ReconfigureError::Action(e) => e.into(),
        }
    }
}

impl From<app::backend::Error> for ApiError {
    fn from(e: app::backend::Error) -> Self {
        match e {
            app::backend::Error::Conflict(field) => Self::Conflict(field),
            app::backend::Error::NotFound(what) => Self::NotFound(what),
            app::backend::Error::Forbidden { detail, role_needed, role } => {
                Self::Forbidden { detail, role_needed, role }
            }
            app::backend::Error::Refused(detail) => Self::Refused(detail),
            app::backend::Error::TokenLimited(detail) => Self::TokenLimited(detail),
            app::backend::Error::InsufficientCapacity(shortage) => Self::InsufficientCapacity(shortage),
            app::backend::Error::QuotaExceeded(excess) => Self::QuotaExceeded(excess),
            app::backend::Error::Database(e) => Self::from_database(&e),
            app::backend::Error::Shared(e) => Self::from_database(&e),
        }
    }
}

impl ApiError {
    fn from_database(e: &sqlx::Error) -> Self {
        match app::backend::store::unavailable(e) {
            Some(detail) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable { detail, retry_after_secs: 2 }
            }
            None => Self::internal(e),
        }
    }
}

/// The body of a problem response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
    /// Problem-specific members (RFC 9457 extensions).
    #[serde(flatten)]
    extensions: serde_json::Map<String, serde_json::Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = request_id::current();
        let root_error;
        let mut extensions = serde_json::Map::new();
        let (status, kind, title, detail, errors): (_, _, _, String, Option<&[FieldError]>) = match &self {
            Self::Validation(errors) => (
                StatusCode::BAD_REQUEST,
                "/problems/validation-error",
                "Your request is not valid",
                format!("{} field(s) need attention; see errors", errors.len()),
                Some(errors),
            ),
            Self::MalformedBody(why) => {
                root_error = [FieldError::new(app::domain::pointer::ROOT, why.clone())];
                (
                    StatusCode::BAD_REQUEST,
                    "/problems/malformed-body",
                    "The request body could not be read",
                    why.clone(),
                    Some(&root_error[..]),
                )
            }
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "/problems/unsupported-media-type",
                "Unsupported media type",
                "send the body as JSON with Content-Type: application/json".into(),
                None,
            ),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "/problems/payload-too-large",
                "Request body too large",
                format!("the request body must be at most {} bytes", super::MAX_BODY_BYTES),
                None,
            ),
            Self::Unauthorized { detail, .. } => (
                StatusCode::UNAUTHORIZED,
                "/problems/unauthorized",
                "Authentication required",
                (*detail).to_owned(),
                None,
            ),
            Self::InsufficientScope => (
                StatusCode::FORBIDDEN,
                "/problems/insufficient-scope",
                "Read-only token",
                "this token may only read; changes need a token created without --read-only".into(),
                None,
            ),
            Self::Forbidden { detail, role_needed, role } => {
                extensions.insert("requiredRole".into(), role_needed.as_str().into());
                extensions.insert("role".into(), role.as_str().into());
                (StatusCode::FORBIDDEN, "/problems/role-required", "Your role does not allow this", detail.clone(), None)
            }
            Self::TokenLimited(detail) => (
                StatusCode::FORBIDDEN,
                "/problems/token-limited",
                "This token is limited to one project",
                detail.clone(),
                None,
            ),
            Self::Refused(detail) => {
                (StatusCode::CONFLICT, "/problems/conflict", "Conflict", detail.clone(), None)
            }
            Self::NotFound(what) => {
                (StatusCode::NOT_FOUND, "/problems/not-found", "Not found", what.clone(), None)
            }
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "/problems/method-not-allowed",
                "Method not allowed",
                "this endpoint does not support that HTTP method".into(),
                None,
            ),
            Self::Conflict(field) => (
                StatusCode::CONFLICT,
                "/problems/conflict",
                "Conflict",
                field.detail.clone(),
                Some(std::slice::from_ref(field)),
            ),
            Self::InvalidTransition { detail, status, phase, allowed } => {
                extensions.insert("currentStatus".into(), status.clone().into());
                if let Some(phase) = phase {
                    extensions.insert("currentPhase".into(), phase.clone().into());
                }
                extensions.insert("allowedActions".into(), allowed.clone().into());
                (
                    StatusCode::CONFLICT,
                    "/problems/invalid-transition",
                    "Action not allowed now",
                    detail.clone(),
                    None,
                )
            }
            Self::PreconditionFailed { current_etag } => {
                extensions.insert("currentETag".into(), current_etag.clone().into());
                (
                    StatusCode::PRECONDITION_FAILED,
                    "/problems/precondition-failed",
                    "The workstation has changed",
                    "If-Match does not match the current ETag; read the workstation again and retry".into(),
                    None,
                )
            }
            Self::QuotaExceeded(excess) => {
                extensions.insert("quota".into(), excess.resource.into());
                extensions.insert("limit".into(), excess.limit.into());
                extensions.insert("requested".into(), excess.requested.into());
                (StatusCode::FORBIDDEN, "/problems/quota-exceeded", "Quota exceeded", excess.detail.clone(), None)
            }
            Self::InsufficientCapacity(shortage) => {
                extensions.insert("regionsWithGpu".into(), shortage.regions_with_gpu.clone().into());
                extensions.insert("gpusInRegion".into(), shortage.gpus_in_region.clone().into());
                (
                    StatusCode::CONFLICT,
                    "/problems/insufficient-capacity",
                    "Insufficient capacity",
                    shortage.message.clone(),
                    None,
                )
            }
            Self::HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "/problems/headers-too-large",
                "Request header fields too large",
                format!(
                    "the request's header fields are over {} KiB (or {} fields); send fewer or shorter ones",
                    crate::security::MAX_HEADER_BYTES / 1024,
                    crate::security::MAX_HEADER_FIELDS
                ),
                None,
            ),
            Self::IdempotencyMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/idempotency-key-reused",
                "Idempotency key reused",
                "this Idempotency-Key was sent before with a different request; use a new key for a new request"
                    .into(),
                None,
            ),
            Self::IdempotencyInFlight => (
                StatusCode::CONFLICT,
                "/problems/idempotency-key-in-flight",
                "Request still in progress",
                "the first request with this Idempotency-Key is still running; retry in a moment".into(),
                None,
            ),
            Self::TooManyRequests { detail, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "/problems/too-many-requests",
                "Too many requests",
                detail.clone(),
                None,
            ),
            Self::Unavailable { detail, .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "/problems/unavailable",
                "Service unavailable",
                (*detail).to_owned(),
                None,
            ),
            Self::UpgradeRequired => (
                StatusCode::UPGRADE_REQUIRED,
                "/problems/upgrade-required",
                "WebSocket required",
                "open this endpoint as a WebSocket (Connection: Upgrade, Upgrade: websocket)".into(),
                None,
            ),
            Self::NotAvailable(detail) => (
                StatusCode::CONFLICT,
                "/problems/not-available",
                "Not available for this workstation",
                detail.clone(),
                None,
            ),
            Self::CrossSite => (
                StatusCode::FORBIDDEN,
                "/problems/cross-site",
                "Cross-site request refused",
                "a browser session may open this only from a page of this server (its Origin)".into(),
                None,
            ),
            Self::EngineFailed(detail) => (
                StatusCode::BAD_GATEWAY,
                "/problems/engine-failed",
                "The workstation's engine failed",
                detail.clone(),
                None,
            ),
            Self::Internal(cause) => {
                tracing::error!(request_id = request_id.as_deref().unwrap_or("-"), %cause, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "/problems/internal-error",
                    "Internal server error",
                    "the server could not complete the request; quote the request id when reporting it"
                        .into(),
                    None,
                )
            }
        };
        let body = Problem { kind, title, status: status.as_u16(), detail, request_id, errors, extensions };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut res = (status, json).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Self::TooManyRequests { retry_after_secs, .. } | Self::Unavailable { retry_after_secs, .. } =
            &self
        {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        if let Self::InsufficientScope = self {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="atelier", error="insufficient_scope""#),
            );
        }
        if let Self::UpgradeRequired = self {
            headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        }
        if let Self::Unauthorized { token_presented, .. } = self {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(if token_presented {
                    r#"Bearer realm="atelier", error="invalid_token""#
                } else {
                    r#"Bearer realm="atelier""#
                }),
            );
        }
        res
    }
}
