//! The pages' server functions: thin wrappers that read the session, run the
//! shared `parse`, and call the same backend functions as the REST API.
// A server function's arguments are its form's fields, one each, and the
// code `#[server]` writes from them does not take an `allow` of its own.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::{AppError, Catalog, Dashboard, Workstation, WorkstationDetail};
#[cfg(feature = "ssr")]
use crate::domain::{CreateWorkstationRequest, WorkstationForm};

mod accounts;
mod projects;
pub use accounts::*;
pub use projects::*;

/// The signed-in user, as the pages show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub name: String,
    /// The projects they are in, by name, with their role.
    #[serde(default)]
    pub projects: Vec<crate::domain::Project>,
    /// An admin of the instance.
    #[serde(default)]
    pub admin: bool,
}

#[cfg(feature = "ssr")]
mod ssr {
    use http::header::{HeaderValue, COOKIE, SET_COOKIE};
    use leptos::prelude::*;

    use crate::backend::{auth, store::User, AppState};
    use crate::domain::AppError;

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| internal("application state missing from context"))
    }

    fn request_id() -> String {
        use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
            })
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// Logs the cause and returns a generic error naming the request.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        let request_id = request_id();
        tracing::error!(%request_id, error = %cause, "server function failed");
        AppError::Internal { request_id }
    }

    pub fn session_cookie() -> Option<String> {
        cookie(auth::SESSION_COOKIE)
    }

    /// The value of the request's cookie `name`.
    pub fn cookie(name: &str) -> Option<String> {
        let parts = use_context::<http::request::Parts>()?;
        let header = parts.headers.get(COOKIE)?.to_str().ok()?;
        auth::cookie_value(header, name).map(str::to_owned)
    }

    /// Whether the request is a form posted without JavaScript: the browser
    /// asks for a page, so it is sent back to the page it came from and the
    /// server function's answer goes nowhere.
    pub fn posted_without_js() -> bool {
        use_context::<http::request::Parts>()
            .and_then(|p| p.headers.get(http::header::ACCEPT)?.to_str().ok().map(|a| a.contains("text/html")))
            .unwrap_or(false)
    }

    pub async fn current_user(state: &AppState) -> Result<Option<User>, AppError> {
        match session_cookie() {
            Some(value) => {
                auth::session_user_remembered(&state.pool, &state.credentials, &value).await.map_err(internal)
            }
            None => Ok(None),
        }
    }

    pub async fn require_user(state: &AppState) -> Result<User, AppError> {
        current_user(state).await?.ok_or(AppError::Unauthorized)
    }

    /// Refuses anyone but an admin of the instance.
    pub async fn require_admin(state: &AppState, user: &User) -> Result<(), AppError> {
        if crate::backend::accounts::is_admin(&state.pool, user).await.map_err(internal)? {
            Ok(())
        } else {
            Err(AppError::ActionRefused("Only an admin of this instance may do this.".into()))
        }
    }

    /// Over a quota limit, in the words the pages show.
    /// The account holding workstation `id` when `user` may do `what` to it
    /// (see `backend::access`); a role that falls short is refused in words.
    pub async fn account_for(
        state: &AppState,
        user: &User,
        id: &str,
        what: crate::domain::Permission,
    ) -> Result<User, AppError> {
        Ok(access_to(state, user, id, what).await?.0)
    }

    /// The same, with the user's role when the account is a project's.
    pub async fn access_to(
        state: &AppState,
        user: &User,
        id: &str,
        what: crate::domain::Permission,
    ) -> Result<(User, Option<crate::domain::Role>), AppError> {
        let caller = crate::backend::auth::Principal::from(user.clone());
        crate::backend::access::workstation_access(&state.pool, &caller, id, what).await.map_err(refusal)
    }

    /// The account a page names by `project` (its name or id; empty: the
    /// user's own), when the user may do `what` there, with the project.
    pub async fn project_account(
        state: &AppState,
        user: &User,
        project: &str,
        what: crate::domain::Permission,
    ) -> Result<(User, Option<crate::domain::Project>), AppError> {
        let project = project.trim();
        if project.is_empty() {
            return Ok((user.clone(), None));
        }
        let caller = crate::backend::auth::Principal::from(user.clone());
        let reference = crate::domain::ProjectRef::parse(project);
        let found =
            crate::backend::access::project(&state.pool, &caller, &reference, what).await.map_err(refusal)?;
        let shown = found.shown(found.role.unwrap_or(crate::domain::Role::Viewer));
        Ok((found.account, Some(shown)))
    }

    /// A refusal of the access rules, in words; anything else is internal.
    pub fn refusal(e: crate::backend::Error) -> AppError {
        match e {
            crate::backend::Error::Forbidden { detail, .. } => {
                AppError::ActionRefused(format!("Not allowed: {detail}."))
            }
            crate::backend::Error::NotFound(detail) => {
                AppError::ActionRefused(format!("Not found: {detail}."))
            }
            e => internal(e),
        }
    }

    pub fn over_quota(excess: &crate::backend::QuotaExcess) -> AppError {
        AppError::ActionRefused(format!("Over your quota: {}.", excess.detail))
    }

    /// Why an action on a workstation was refused, for the page; failures of
    /// the server itself stay generic.
    pub fn refused(e: crate::backend::lifecycle::ActionError) -> AppError {
        use crate::backend::lifecycle::ActionError;
        match e {
            ActionError::NotFound => AppError::ActionRefused("This workstation no longer exists.".into()),
            e @ ActionError::NotAllowed { .. } => {
                AppError::ActionRefused(format!("You {e}.").replacen("cannot", "can't", 1))
            }
            ActionError::Backend(crate::backend::Error::QuotaExceeded(excess)) => over_quota(&excess),
            ActionError::Backend(crate::backend::Error::InsufficientCapacity(shortage)) => {
                let mut message = format!("{}.", shortage.message);
                if !shortage.regions_with_gpu.is_empty() {
                    message.push_str(&format!(" Regions with it: {}.", shortage.regions_with_gpu.join(", ")));
                }
                AppError::ActionRefused(message)
            }
            e => internal(e),
        }
    }

    /// Records a change a page asked for, with how it ended (see
    /// `backend::audit`): who (`actor`, through their session unless
    /// `credential` says otherwise), what, on which object of which account,
    /// from which address, the request id.
    pub async fn record<T>(
        state: &AppState,
        actor: Option<&User>,
        credential: Option<String>,
        action: crate::domain::AuditAction,
        object: Option<String>,
        account: Option<(i64, bool)>,
        result: &Result<T, AppError>,
    ) {
        use crate::domain::Outcome;
        let parts = use_context::<http::request::Parts>();
        let address = parts
            .as_ref()
            .and_then(|p| p.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>())
            .map(|c| c.0.ip().to_string());
        let (outcome, detail) = match result {
            Ok(_) => (Outcome::Succeeded, None),
            Err(AppError::Internal { .. }) => (Outcome::Failed, None),
            Err(AppError::Invalid { errors, .. }) => {
                let fields: Vec<String> =
                    errors.iter().map(|e| format!("{}: {}", e.pointer, e.detail)).collect();
                (Outcome::Refused, Some(fields.join("; ")))
            }
            Err(e) => (Outcome::Refused, Some(e.to_string())),
        };
        let record = crate::backend::store::NewAuditRecord {
            at: None,
            actor_id: actor.map(|u| u.id),
            actor_name: actor.map(|u| u.name.clone()),
            credential: credential.unwrap_or_else(|| crate::backend::audit::SESSION_CREDENTIAL.to_owned()),
            action: Some(action),
            object: object.map(|id| (action.object_kind().to_owned(), id)),
            account_id: account.map(|(id, _)| id).or(actor.map(|u| u.id)),
            project_id: account.filter(|(_, project)| *project).map(|(id, _)| id),
            address,
            request_id: Some(request_id()),
            outcome: Some(outcome),
            status: None,
            detail,
        };
        state.audit.record(record).await;
    }

    /// The account holding workstation `id`, read before a change to it.
    pub async fn workstation_account(state: &AppState, id: &str) -> Option<(i64, bool)> {
        crate::backend::audit::workstation_account(&state.pool, id).await.ok().flatten()
    }

    pub fn set_cookie(value: &str) -> Result<(), AppError> {
        let response = expect_context::<leptos_axum::ResponseOptions>();
        response.append_header(SET_COOKIE, HeaderValue::from_str(value).map_err(internal)?);
        Ok(())
    }
}

/// The signed-in user, or `None`.
#[server(output = crate::codec::Json)]
pub async fn get_session() -> Result<Option<SessionUser>, AppError> {
    let state = ssr::state()?;
    let Some(user) = ssr::current_user(&state).await? else { return Ok(None) };
    let caller = crate::backend::auth::Principal::from(user);
    // Every page asks this: its two reads go out together.
    let (admin, projects) = tokio::try_join!(
        crate::backend::accounts::is_admin(&state.pool, &caller.user),
        crate::backend::projects::list(&state.pool, &caller),
    )
    .map_err(ssr::internal)?;
    Ok(Some(SessionUser { name: caller.user.name, projects, admin }))
}

/// The single sign-on provider's name, when one is configured.
#[server(output = crate::codec::Json)]
pub async fn get_sign_on() -> Result<Option<String>, AppError> {
    Ok(ssr::state()?.settings.sign_on.as_ref().map(|s| s.provider_name.clone()))
}

/// Exchanges an API token for a browser session cookie (HttpOnly, so the
/// token never reaches page script again) and goes to the home page.
#[server(output = crate::codec::Json)]
pub async fn sign_in(token: String) -> Result<(), AppError> {
    use crate::backend::{audit, auth};
    let state = ssr::state()?;
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(AppError::SignInFailed("Paste your API token to sign in.".into()));
    }
    let found = auth::authenticate_token_scoped(&state.pool, &token).await.map_err(ssr::internal)?;
    // Only what looks like one of our tokens is named in the record.
    let credential = if token.starts_with(auth::TOKEN_PREFIX) {
        audit::token_credential(&token)
    } else {
        audit::NO_CREDENTIAL.to_owned()
    };
    let result = match &found {
        None => Err(AppError::SignInFailed("That token is not valid: unknown, revoked or expired.".into())),
        // A session acts on everything its user may; this token may not.
        Some((user, _)) if user.project.is_some() => Err(AppError::SignInFailed(
            "That token is limited to one project. Sign in with a token created without --project.".into(),
        )),
        // A session can change things; a read-only token must not open one.
        Some((_, scope)) if *scope != auth::Scope::Full => Err(AppError::SignInFailed(
            "That token may only read. Sign in with a token created without --read-only.".into(),
        )),
        Some(_) => Ok(()),
    };
    let user = found.map(|(principal, _)| principal.user);
    let result = match (result, &user) {
        (Ok(()), Some(user)) => {
            let ttl = state.settings.session_ttl;
            match auth::start_session(&state.pool, user, ttl).await {
                Ok(secret) => ssr::set_cookie(&auth::session_cookie(
                    &secret,
                    ttl.as_secs(),
                    state.settings.secure_cookies,
                )),
                Err(e) => Err(ssr::internal(e)),
            }
        }
        (result, _) => result,
    };
    let action = crate::domain::AuditAction::SignIn;
    ssr::record(&state, user.as_ref(), Some(credential), action, None, None, &result).await;
    result?;
    if let Some(user) = &user {
        tracing::info!(user = %user.name, "signed in");
    }
    leptos_axum::redirect("/");
    Ok(())
}

/// Ends the session (server-side too) and goes to the sign-in page.
#[server(output = crate::codec::Json)]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::backend::auth;
    let state = ssr::state()?;
    if let Some(value) = ssr::session_cookie() {
        let user = ssr::current_user(&state).await?;
        let result = auth::end_session(&state.pool, &value).await.map_err(ssr::internal);
        if user.is_some() {
            let action = crate::domain::AuditAction::SignOut;
            ssr::record(&state, user.as_ref(), None, action, None, None, &result).await;
        }
        result?;
    }
    ssr::set_cookie(&auth::clear_session_cookie(state.settings.secure_cookies))?;
    leptos_axum::redirect("/sign-in");
    Ok(())
}

/// The catalog the form's pickers and checks use.
#[server(output = crate::codec::Json)]
pub async fn get_catalog() -> Result<Catalog, AppError> {
    Ok((*ssr::state()?.catalog).clone())
}

/// The signed-in user's workstations, newest first, and where their live
/// stream starts.
#[server(output = crate::codec::Json)]
pub async fn get_dashboard(query: crate::domain::ListQuery) -> Result<Dashboard, AppError> {
    use crate::backend::{store::ListFilter, workstations};
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    // Unknown values simply match nothing; the page offers only valid ones.
    let status = some(&query.status);
    let filter = ListFilter {
        status: status.as_deref().and_then(|s| s.parse().ok()),
        region: some(&query.region),
        gpu: some(&query.gpu),
        name_prefix: some(&query.q),
        before_seq: some(&query.page).and_then(|t| crate::page_token::decode(&t)),
    };
    let (account, project) =
        ssr::project_account(&state, &user, &query.project, crate::domain::Permission::Read).await?;
    let (mut dashboard, next) =
        workstations::dashboard(&state, &account, &filter, 24).await.map_err(ssr::internal)?;
    dashboard.next_page_token = next.map(crate::page_token::encode);
    dashboard.project = project;
    if status.is_some() && filter.status.is_none() {
        dashboard.workstations.clear();
        dashboard.next_page_token = None;
    }
    Ok(dashboard)
}

/// The project a page names (its name or id), with the user's role in it;
/// `None` for an empty name (the user's own account).
#[server(output = crate::codec::Json)]
pub async fn get_project(project: String) -> Result<Option<crate::domain::Project>, AppError> {
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    Ok(ssr::project_account(&state, &user, &project, crate::domain::Permission::Read).await?.1)
}

/// One of the signed-in user's workstations with its history.
#[server(output = crate::codec::Json)]
pub async fn get_workstation(id: String) -> Result<Option<WorkstationDetail>, AppError> {
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let (owner, role) = ssr::access_to(&state, &user, &id, crate::domain::Permission::Read).await?;
    let detail = crate::backend::workstations::detail(&state, &owner, &id).await.map_err(ssr::internal)?;
    Ok(detail.map(|detail| WorkstationDetail { role, ..detail }))
}

/// Creates a workstation from the form's fields. The same `parse` as the
/// browser and the REST API decides; its errors come back per field.
#[server(output = crate::codec::Json)]
pub async fn create_workstation(
    name: String,
    cpu_cores: String,
    memory_gb: String,
    gpu: String,
    storage_gb: String,
    region: String,
    #[server(default)] idle_timeout: String,
    #[server(default)] running_timeout: String,
    #[server(default)] project: String,
) -> Result<Workstation, AppError> {
    let form = WorkstationForm {
        name,
        cpu_cores,
        memory_gb,
        gpu,
        storage_gb,
        region,
        idle_timeout,
        running_timeout,
    };
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let mut account_id = None;
    let result = async {
        let spec = CreateWorkstationRequest::from_form(&form)
            .parse(&state.catalog)
            .map_err(|errors| AppError::Invalid { errors, submitted: Some(Box::new(form.clone())) })?;
        let (account, project) =
            ssr::project_account(&state, &user, &project, crate::domain::Permission::Create).await?;
        account_id = Some((account.id, project.is_some()));
        create_in(&state, &account, &spec, form).await
    }
    .await;
    let object = result.as_ref().ok().map(|ws| ws.id.clone());
    let action = crate::domain::AuditAction::WorkstationCreate;
    ssr::record(&state, Some(&user), None, action, object, account_id, &result).await;
    result
}

/// The create itself, its refusals in the form's words.
#[cfg(feature = "ssr")]
async fn create_in(
    state: &crate::backend::AppState,
    account: &crate::backend::store::User,
    spec: &crate::domain::WorkstationSpec,
    form: WorkstationForm,
) -> Result<Workstation, AppError> {
    use crate::backend::{workstations, Error};
    match workstations::create(state, account, spec).await {
        Ok(ws) => Ok(ws),
        Err(Error::QuotaExceeded(excess)) => Err(ssr::over_quota(&excess)),
        Err(Error::InsufficientCapacity(shortage)) => {
            let mut detail = shortage.message.clone();
            if !shortage.regions_with_gpu.is_empty() {
                detail.push_str(&format!(". Regions with it: {}", shortage.regions_with_gpu.join(", ")));
            }
            Err(AppError::Invalid {
                errors: vec![crate::domain::FieldError::new(crate::domain::pointer::REGION, detail)],
                submitted: Some(Box::new(form)),
            })
        }
        Err(Error::Conflict(error)) => {
            Err(AppError::Invalid { errors: vec![error], submitted: Some(Box::new(form)) })
        }
        Err(e) => Err(ssr::internal(e)),
    }
}

/// Launches, stops, cancels, retries or deletes one of the signed-in user's
/// workstations (the same state machine as the REST API).
#[server(output = crate::codec::Json)]
pub async fn workstation_action(id: String, action: String) -> Result<(), AppError> {
    use crate::backend::lifecycle;
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let action = action
        .parse::<crate::domain::Action>()
        .map_err(|_| AppError::ActionRefused(format!("{action:?} is not an action")))?;
    let account = ssr::workstation_account(&state, &id).await;
    let result = async {
        let owner =
            ssr::account_for(&state, &user, &id, crate::domain::Permission::of_action(action)).await?;
        lifecycle::perform(&state, &owner, &id, action, None).await.map(|_| ()).map_err(ssr::refused)
    }
    .await;
    let what = crate::domain::AuditAction::of_action(action);
    ssr::record(&state, Some(&user), None, what, Some(id.clone()), account, &result).await;
    result
}

/// "Keep running": postpones the auto-stop of one of the signed-in user's
/// running workstations, as activity does.
#[server(output = crate::codec::Json)]
pub async fn keep_running(id: String) -> Result<(), AppError> {
    use crate::backend::auto_stop::{self, Activity};
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let owner = ssr::account_for(&state, &user, &id, crate::domain::Permission::Operate).await?;
    match auto_stop::keep_running(&state.pool, &state.bus, state.settings.auto_stop, &owner, &id).await {
        Ok(Activity::Recorded(_)) => Ok(()),
        Ok(Activity::NotFound) => Err(AppError::ActionRefused("you have no workstation with that id".into())),
        Ok(Activity::NotRunning { status, phase: None }) => Err(AppError::ActionRefused(format!(
            "it is {status}: only a running workstation stops by itself"
        ))),
        Ok(Activity::NotRunning { status, phase: Some(phase) }) => {
            Err(AppError::ActionRefused(format!("it is {status} and {phase}: wait for that to finish")))
        }
        Err(e) => Err(ssr::internal(e)),
    }
}

/// Reconfigures one of the signed-in user's workstations from the form.
#[server(output = crate::codec::Json)]
pub async fn reconfigure_workstation(
    id: String,
    cpu_cores: String,
    memory_gb: String,
    gpu: String,
    storage_gb: String,
    apply: String,
) -> Result<Option<crate::domain::WorkstationState>, AppError> {
    use crate::domain::{ReconfigureForm, ReconfigureRequest};
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let form = ReconfigureForm { cpu_cores, memory_gb, gpu, storage_gb, apply };
    let request = ReconfigureRequest::from_form(&form);
    let must_stop = "The workstation is running: stop it first, or choose “At the next launch”.";
    reconfigure_as(&state, &user, &id, &request, must_stop).await
}

/// A reconfiguration a page asks for, recorded in the audit log; `must_stop`
/// says why a running workstation refuses it.
#[cfg(feature = "ssr")]
async fn reconfigure_as(
    state: &crate::backend::AppState,
    user: &crate::backend::store::User,
    id: &str,
    request: &crate::domain::ReconfigureRequest,
    must_stop: &str,
) -> Result<Option<crate::domain::WorkstationState>, AppError> {
    use crate::backend::lifecycle::{self, ReconfigureError};
    let account = ssr::workstation_account(state, id).await;
    let result = async {
        let owner = ssr::account_for(state, user, id, crate::domain::Permission::Reconfigure).await?;
        match lifecycle::reconfigure(state, &owner, id, request, None).await {
            Ok(updated) => Ok(Some(updated)),
            Err(ReconfigureError::Invalid(errors)) => Err(AppError::Invalid { errors, submitted: None }),
            Err(ReconfigureError::MustStop) => Err(AppError::ActionRefused(must_stop.to_owned())),
            Err(ReconfigureError::Action(e)) => Err(ssr::refused(e)),
        }
    }
    .await;
    let action = crate::domain::AuditAction::WorkstationReconfigure;
    ssr::record(state, Some(user), None, action, Some(id.to_owned()), account, &result).await;
    result
}

/// Changes the auto-stop timeouts of one of the signed-in user's
/// workstations (at once, in any status).
#[server(output = crate::codec::Json)]
pub async fn set_auto_stop(
    id: String,
    idle_timeout: String,
    running_timeout: String,
) -> Result<Option<crate::domain::WorkstationState>, AppError> {
    use crate::domain::{AutoStopForm, ReconfigureRequest};
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let request = ReconfigureRequest::from_auto_stop_form(&AutoStopForm { idle_timeout, running_timeout });
    reconfigure_as(&state, &user, &id, &request, "The workstation is running: stop it first.").await
}

/// A page of the audit log as the signed-in user may read it (see
/// `backend::audit::scope`), newest first, filtered by the page's URL.
#[server(output = crate::codec::Json)]
pub async fn get_audit(query: crate::domain::AuditQuery) -> Result<crate::domain::AuditLogPage, AppError> {
    use crate::backend::{audit, auth::Principal, store::AuditFilter, store::AuditScope};
    let state = ssr::state()?;
    let caller = Principal::from(ssr::require_user(&state).await?);
    let everyone = audit::scope(&state.pool, &caller).await.map_err(ssr::internal)? == AuditScope::All;
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut filter = AuditFilter {
        actor: some(&query.actor),
        before_id: some(&query.page).and_then(|t| crate::page_token::decode(&t)),
        ..AuditFilter::default()
    };
    // An unknown value matches nothing; the page offers only known ones.
    let mut matches_nothing = false;
    if let Some(action) = some(&query.action) {
        filter.action = action.parse().map_err(|_| matches_nothing = true).ok();
    }
    if let Some(outcome) = some(&query.outcome) {
        filter.outcome = outcome.parse().map_err(|_| matches_nothing = true).ok();
    }
    if let Some(project) = some(&query.project) {
        let reference = crate::domain::ProjectRef::parse(&project);
        filter.account_id = audit::project_id(&state.pool, &reference).await.map_err(ssr::internal)?;
        matches_nothing |= filter.account_id.is_none();
    }
    if matches_nothing {
        return Ok(crate::domain::AuditLogPage { records: Vec::new(), next_page_token: None, everyone });
    }
    state.audit.flush().await;
    let (records, next) = audit::list(&state.pool, &caller, &filter, 50).await.map_err(ssr::internal)?;
    Ok(crate::domain::AuditLogPage {
        records,
        next_page_token: next.map(crate::page_token::encode),
        everyone,
    })
}

/// The signed-in user's quota: limits and usage.
#[server(output = crate::codec::Json)]
pub async fn get_quota(#[server(default)] project: String) -> Result<crate::domain::QuotaStatus, AppError> {
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let (account, _) = ssr::project_account(&state, &user, &project, crate::domain::Permission::Read).await?;
    crate::backend::quota::status(&state, &account).await.map_err(ssr::internal)
}

/// What the signed-in user's workstations (or one of them) used this month,
/// in total: what the pages show. (The per-workstation rows stay with the
/// API's usage report: a page must not carry one row per workstation.)
#[server(output = crate::codec::Json)]
pub async fn get_usage(
    workstation: Option<String>,
    #[server(default)] project: String,
) -> Result<crate::domain::UsageTotals, AppError> {
    let state = ssr::state()?;
    let user = ssr::require_user(&state).await?;
    let owner = match &workstation {
        Some(id) => ssr::account_for(&state, &user, id, crate::domain::Permission::Read).await?,
        None => ssr::project_account(&state, &user, &project, crate::domain::Permission::Read).await?.0,
    };
    crate::backend::usage::this_month_report(&state, &owner, workstation.as_deref())
        .await
        .map(|report| report.total)
        .map_err(ssr::internal)
}

/// Free capacity per region and GPU type.
#[server(output = crate::codec::Json)]
pub async fn get_capacity() -> Result<Vec<crate::domain::CapacityEntry>, AppError> {
    let state = ssr::state()?;
    ssr::require_user(&state).await?;
    crate::backend::workstations::capacity(&state).await.map_err(ssr::internal)
}
