//! Bearer-token authentication for the API.

use app::backend::{auth, store::User};
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method};

use super::ApiError;
use crate::AppState;

/// Who a request's bearer token (or, for reads, session cookie) acts as.
#[derive(Debug, Clone)]
pub struct AuthUser(pub auth::Principal);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            // Browsers cannot put headers on an EventSource: reads may use the
            // session cookie instead. Writes always need a token.
            if reads_only(&parts.method) {
                if let Some(user) = session_user(parts, state).await? {
                    return Ok(Self(user.into()));
                }
            }
            return Err(ApiError::Unauthorized {
                detail: "send an API token in the Authorization header: `Authorization: Bearer <token>`",
                token_presented: false,
            });
        };
        let token = bearer_token(value).ok_or(ApiError::Unauthorized {
            detail: "the Authorization header must be `Bearer <token>`",
            token_presented: true,
        })?;
        let found = auth::authenticate_token_remembered(&state.pool, &state.credentials, token).await?;
        if let (Some((user, _)), Some(slot)) = (&found, parts.extensions.get::<super::audit::ActorSlot>()) {
            slot.set(user);
        }
        match found {
            Some((_, auth::Scope::Read)) if !reads_only(&parts.method) => Err(ApiError::InsufficientScope),
            Some((user, _)) => Ok(Self(user)),
            None => Err(ApiError::Unauthorized {
                detail: "the API token is not valid: unknown, revoked or expired",
                token_presented: true,
            }),
        }
    }
}

async fn session_user(parts: &Parts, state: &AppState) -> Result<Option<User>, ApiError> {
    match Credential::of(&parts.headers) {
        Some(Credential::Session(cookie)) => {
            Ok(auth::session_user_remembered(&state.pool, &state.credentials, &cookie).await?)
        }
        _ => Ok(None),
    }
}

/// Whether a request with this method only reads (what a read-only token
/// and a session cookie on the API may do).
pub fn reads_only(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// What authenticated a request, kept by long-lived responses (event
/// streams) to check that it still holds: a revoked token or an ended
/// session closes them.
#[derive(Debug, Clone)]
pub enum Credential {
    Token(String),
    Session(String),
}

impl Credential {
    /// The credential a request presented: its bearer token, else its session cookie.
    pub fn of(headers: &HeaderMap) -> Option<Self> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            return bearer_token(value).map(|token| Self::Token(token.to_owned()));
        }
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| auth::cookie_value(h, auth::SESSION_COOKIE))
            .map(|c| Self::Session(c.to_owned()))
    }

    /// A key naming it without keeping the secret (for budgets and
    /// idempotency records).
    pub fn key(&self) -> String {
        match self {
            Self::Token(token) => format!("t:{}", auth::hash_secret(token)),
            Self::Session(cookie) => format!("s:{}", auth::hash_secret(cookie)),
        }
    }

    /// How open streams name it for the background check of their credentials.
    pub fn opener(&self) -> app::backend::streams::Opener {
        use app::backend::streams::Opener;
        match self {
            Self::Token(token) => Opener::Token(auth::hash_secret(token)),
            Self::Session(cookie) => Opener::Session(auth::hash_secret(cookie)),
        }
    }
}
