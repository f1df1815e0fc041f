//! Single sign-on with an OpenID Connect provider: the authorization code
//! flow with PKCE, its `state` bound to the browser that began it (a
//! cookie of its own) and its `nonce` checked in the ID token, whose
//! signature, issuer, audience and expiry are verified. The rules of who
//! signs in as whom are `backend::sso`'s.
//!
//! `GET /auth/oidc/start` sends the browser to the provider;
//! `GET /auth/oidc/callback` takes it back, starts a session and goes home;
//! any refusal goes to `/sign-in?error=CODE`, whose page says why.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::backend::state::SignOnSettings;
use app::backend::store::{NewAuditRecord, User};
use app::backend::{auth, sso};
use app::domain::sso::SignOnError;
use app::domain::{AuditAction, Outcome};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, TokenResponse,
};

use crate::AppState;

/// The cookie naming the browser that began a sign-in.
const BROWSER_COOKIE: &str = "atelier_oidc";
/// How long the provider's discovery document (and its keys) is kept.
const METADATA_TTL: Duration = Duration::from_secs(300);
/// How the audit log names the credential of a sign-in through the provider.
const CREDENTIAL: &str = "oidc";

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The sign-on routes, when a provider is configured.
pub fn router(settings: SignOnSettings) -> Router<AppState> {
    let provider = Arc::new(Provider::new(settings));
    Router::new()
        .route("/auth/oidc/start", get(start))
        .route("/auth/oidc/callback", get(callback))
        .layer(Extension(provider))
}

/// How long a failure to read the discovery document is remembered: the
/// sign-ins waiting for it are refused at once instead of each trying (and
/// waiting out the timeout) in turn.
const METADATA_FAILURE_TTL: Duration = Duration::from_secs(5);

/// The configured provider, with its discovery document once read.
struct Provider {
    settings: SignOnSettings,
    /// The client for the provider's endpoints, or why it could not be made
    /// (then every sign-in is refused as unavailable, and the log says why).
    http: Result<openidconnect::reqwest::Client, String>,
    /// The last reading of the discovery document, and when it was made.
    /// One reading at a time: the others wait for its answer.
    metadata: tokio::sync::Mutex<Option<(Result<CoreProviderMetadata, String>, Instant)>>,
}

impl Provider {
    fn new(settings: SignOnSettings) -> Self {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would let a provider's answer send us anywhere.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot make an HTTP client for the provider: {e}"));
        if let Err(e) = &http {
            tracing::error!(error = %e, issuer = %settings.issuer, "single sign-on is unavailable");
        }
        Self { settings, http, metadata: tokio::sync::Mutex::new(None) }
    }

    fn http(&self) -> Result<&openidconnect::reqwest::Client, String> {
        self.http.as_ref().map_err(Clone::clone)
    }

    /// The discovery document, read again every few minutes (keys rotate).
    async fn metadata(&self) -> Result<CoreProviderMetadata, String> {
        let mut cached = self.metadata.lock().await;
        if let Some((read, at)) = cached.as_ref() {
            let ttl = if read.is_ok() { METADATA_TTL } else { METADATA_FAILURE_TTL };
            if at.elapsed() < ttl {
                return read.clone();
            }
        }
        let read = match IssuerUrl::new(self.settings.issuer.clone()) {
            Ok(issuer) => match self.http() {
                Ok(http) => {
                    CoreProviderMetadata::discover_async(issuer, http).await.map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e.to_string()),
        };
        *cached = Some((read.clone(), Instant::now()));
        read
    }

    fn client(&self, metadata: CoreProviderMetadata, redirect: RedirectUrl) -> Client {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(redirect)
    }
}

/// Where the provider sends the browser back: under the public URL, or the
/// address this request was sent to.
fn redirect_url(state: &AppState, settings: &SignOnSettings, headers: &HeaderMap) -> Option<RedirectUrl> {
    let base = match &settings.public_url {
        Some(url) => url.clone(),
        None => {
            let host = headers.get(header::HOST)?.to_str().ok()?;
            let scheme = if state.settings.secure_cookies { "https" } else { "http" };
            format!("{scheme}://{host}")
        }
    };
    RedirectUrl::new(format!("{base}/auth/oidc/callback")).ok()
}

fn browser_cookie(value: &str, max_age: i64, secure: bool) -> String {
    // Lax, not Strict: the provider's redirect back is a cross-site navigation.
    format!(
        "{BROWSER_COOKIE}={value}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// To the sign-in page, saying why.
fn refused(error: SignOnError, secure: bool) -> Response {
    let mut res = Redirect::to(&format!("/sign-in?error={}", error.code())).into_response();
    if let Ok(clear) = HeaderValue::from_str(&browser_cookie("", 0, secure)) {
        res.headers_mut().append(header::SET_COOKIE, clear);
    }
    res
}

/// `GET /auth/oidc/start`: a new sign-in, and off to the provider.
async fn start(
    State(state): State<AppState>,
    Extension(provider): Extension<Arc<Provider>>,
    headers: HeaderMap,
) -> Response {
    let secure = state.settings.secure_cookies;
    let Some(redirect) = redirect_url(&state, &provider.settings, &headers) else {
        return (StatusCode::BAD_REQUEST, "the request names no host to come back to").into_response();
    };
    let metadata = match provider.metadata().await {
        Ok(metadata) => metadata,
        Err(e) => {
            tracing::warn!(error = %e, issuer = %provider.settings.issuer, "cannot read the OpenID provider's discovery document");
            return refused(SignOnError::Unavailable, secure);
        }
    };
    let client = provider.client(metadata, redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("email".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = app::backend::auth::random_secret(43);
    if let Err(e) = sso::begin(&state.pool, csrf.secret(), nonce.secret(), verifier.secret(), &browser).await
    {
        return crate::rest::ApiError::internal(e).into_response();
    }
    let mut res = Redirect::to(url.as_str()).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&browser_cookie(&browser, sso::LOGIN_TTL_SECS, secure)) {
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    res
}

/// Why a callback signed nobody in.
enum Failure {
    /// The request's or the provider's fault, in the sign-in page's words,
    /// with what the log and the audit record say besides.
    Refused(SignOnError, String),
    /// Ours.
    Internal(app::backend::Error),
}

impl From<app::backend::Error> for Failure {
    fn from(e: app::backend::Error) -> Self {
        Self::Internal(e)
    }
}

/// `GET /auth/oidc/callback`: the provider's answer; a session on success.
async fn callback(
    State(state): State<AppState>,
    Extension(provider): Extension<Arc<Provider>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let secure = state.settings.secure_cookies;
    let finished = finish(&state, &provider, &headers, &query).await;
    let audit = |actor: Option<&User>, outcome: Outcome, detail: Option<String>| NewAuditRecord {
        actor_id: actor.map(|u| u.id),
        actor_name: actor.map(|u| u.name.clone()),
        credential: CREDENTIAL.to_owned(),
        action: Some(AuditAction::SignIn),
        account_id: actor.map(|u| u.id),
        address: Some(peer.ip().to_string()),
        request_id: crate::request_id::current(),
        outcome: Some(outcome),
        detail,
        ..NewAuditRecord::default()
    };
    match finished {
        Ok((user, created)) => {
            if created {
                let made = NewAuditRecord {
                    action: Some(AuditAction::UserCreate),
                    object: Some(("user".to_owned(), user.name.clone())),
                    detail: Some("at a first sign-in through the OpenID provider".to_owned()),
                    ..audit(Some(&user), Outcome::Succeeded, None)
                };
                state.audit.record(made).await;
            }
            let ttl = state.settings.session_ttl;
            let session = match auth::start_session(&state.pool, &user, ttl).await {
                Ok(session) => session,
                Err(e) => return crate::rest::ApiError::internal(e).into_response(),
            };
            state.audit.record(audit(Some(&user), Outcome::Succeeded, None)).await;
            tracing::info!(user = %user.name, "signed in through the OpenID provider");
            signed_in(&auth::session_cookie(&session, ttl.as_secs(), secure), secure)
        }
        Err(Failure::Refused(error, detail)) => {
            tracing::info!(code = error.code(), %detail, "sign-in through the OpenID provider refused");
            let words = format!("{} ({detail})", error.message());
            state.audit.record(audit(None, Outcome::Refused, Some(words))).await;
            refused(error, secure)
        }
        Err(Failure::Internal(e)) => {
            state.audit.record(audit(None, Outcome::Failed, None)).await;
            crate::rest::ApiError::internal(e).into_response()
        }
    }
}

/// The session cookie is `SameSite=Strict`, so the browser would not send it
/// on a redirect that the provider's site began: a page of ours goes home.
fn signed_in(session_cookie: &str, secure: bool) -> Response {
    let page = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
        <meta http-equiv=\"refresh\" content=\"0;url=/\"><title>Signed in · Atelier</title></head>\
        <body><p>Signed in. <a href=\"/\">Continue to Atelier</a>.</p></body></html>";
    let mut res =
        (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    for cookie in [session_cookie.to_owned(), browser_cookie("", 0, secure)] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Checks the callback, exchanges its code, verifies the ID token and finds
/// (or makes) the user.
async fn finish(
    state: &AppState,
    provider: &Provider,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<(User, bool), Failure> {
    let settings = &provider.settings;
    let refuse = |error: SignOnError, detail: &str| Failure::Refused(error, detail.to_owned());
    let browser = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| auth::cookie_value(h, BROWSER_COOKIE).map(str::to_owned));
    let Some(state_param) = query.get("state") else {
        return Err(refuse(SignOnError::State, "no state in the callback"));
    };
    // Taken whatever comes next: a state is good for one callback.
    let pending = sso::take(&state.pool, state_param, browser.as_deref().filter(|b| !b.is_empty()))
        .await?
        .map_err(|e| refuse(e, "state unknown, used already, from another browser, or too old"))?;
    if let Some(error) = query.get("error") {
        let described = query.get("error_description").map_or(String::new(), |d| format!(": {d}"));
        return Err(refuse(
            SignOnError::ProviderRefused,
            &format!("the provider answered {error}{described}"),
        ));
    }
    let Some(code) = query.get("code") else {
        return Err(refuse(SignOnError::ProviderRefused, "no code in the callback"));
    };
    let redirect =
        redirect_url(state, settings, headers).ok_or_else(|| refuse(SignOnError::State, "no host"))?;
    let metadata = provider.metadata().await.map_err(|e| refuse(SignOnError::Unavailable, &e))?;
    let client = provider.client(metadata, redirect);
    let exchange = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .map_err(|e| refuse(SignOnError::Unavailable, &e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(provider.http().map_err(|e| refuse(SignOnError::Unavailable, &e))?)
        .await;
    let tokens = exchange.map_err(|e| match e {
        RequestTokenError::ServerResponse(answer) => {
            refuse(SignOnError::Code, &format!("the token endpoint answered {}", answer.error()))
        }
        RequestTokenError::Parse(e, _) => {
            refuse(SignOnError::Token, &format!("unreadable token response: {e}"))
        }
        e => refuse(SignOnError::Unavailable, &e.to_string()),
    })?;
    let id_token = tokens.id_token().ok_or_else(|| refuse(SignOnError::Token, "no ID token"))?;
    let claims = id_token.claims(&client.id_token_verifier(), &Nonce::new(pending.nonce)).map_err(|e| {
        let error = match e {
            ClaimsVerificationError::Expired(_) => SignOnError::TokenExpired,
            ClaimsVerificationError::InvalidAudience(_) => SignOnError::Audience,
            ClaimsVerificationError::InvalidIssuer(_) => SignOnError::Issuer,
            ClaimsVerificationError::InvalidNonce(_) => SignOnError::Nonce,
            _ => SignOnError::Token,
        };
        refuse(error, &e.to_string())
    })?;
    let email = claims.email().map(|e| e.as_str());
    if !sso::domain_allowed(email, claims.email_verified(), &settings.allowed_domains) {
        return Err(refuse(SignOnError::Domain, &format!("email {}", email.unwrap_or("none"))));
    }
    if !settings.allowed_groups.is_empty() {
        // The signature of this very token was checked above.
        let groups = token_claim_list(&id_token.to_string(), &settings.groups_claim);
        if !sso::group_allowed(&groups, &settings.allowed_groups) {
            return Err(refuse(SignOnError::Group, &format!("groups {groups:?}")));
        }
    }
    let value = match settings.username_claim.as_str() {
        "email" => email.map(str::to_owned),
        "sub" => Some(claims.subject().as_str().to_owned()),
        _ => claims.preferred_username().map(|u| u.as_str().to_owned()),
    };
    let value =
        value.ok_or_else(|| refuse(SignOnError::NoName, &format!("no {} claim", settings.username_claim)))?;
    let name = sso::name_from_claim(&settings.username_claim, &value);
    let identity =
        sso::Identity { issuer: claims.issuer().as_str(), subject: claims.subject().as_str(), name: &name };
    // The name is vouched for when it is a verified email's local part in an
    // allowed domain (checked above): then it may take an existing user.
    let vouched = settings.username_claim == "email" && !settings.allowed_domains.is_empty();
    sso::user_for(&state.pool, identity, vouched).await?.map_err(|e| refuse(e, &format!("as {name:?}")))
}

/// A list of strings in a (verified) JWT's payload; empty if absent.
fn token_claim_list(jwt: &str, claim: &str) -> Vec<String> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload) else {
        return Vec::new();
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(&bytes) else { return Vec::new() };
    match map.get(claim) {
        Some(serde_json::Value::Array(items)) => {
            items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
        }
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_a_token_payload() {
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"groups":["staff","ops"],"team":"x"}"#);
        let jwt = format!("e30.{payload}.sig");
        assert_eq!(token_claim_list(&jwt, "groups"), ["staff", "ops"]);
        assert_eq!(token_claim_list(&jwt, "team"), ["x"]);
        assert!(token_claim_list(&jwt, "roles").is_empty());
        assert!(token_claim_list("garbage", "groups").is_empty());
    }
}
