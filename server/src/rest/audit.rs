//! The API's part of the audit log: a layer around its routes that records
//! every change a request asks for once its response is known (who, what, on
//! which object, from where, the request id and the outcome), and
//! `GET /v1/audit` to read the log.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use app::backend::audit;
use app::backend::auth::Principal;
use app::backend::store::{AuditFilter, NewAuditRecord};
use app::domain::usage::parse_bound;
use app::domain::{Action, AuditAction, AuditRecord, FieldError, Outcome, ProjectRef};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Query, RawPathParams, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{AuthUser, Credential};
use super::openapi::{Invalid, ServerError, Unauthorized};
use super::ApiError;
use crate::AppState;

/// Who a request acts as, set by the authentication extractor ([`AuthUser`])
/// for the audit layer to read once the response is known.
#[derive(Debug, Clone, Default)]
pub struct ActorSlot(Arc<OnceLock<Principal>>);

impl ActorSlot {
    /// Records who the request acts as (the first time only).
    pub fn set(&self, principal: &Principal) {
        let _ = self.0.set(principal.clone());
    }
}

/// A change a route makes, and where in the path its object is.
struct Change {
    action: AuditAction,
    /// The object's id: from the path, or (for creates) from the `Location` answered.
    object: Option<String>,
    /// The account the object belongs to, found before the change (a
    /// delete removes what would tell it after).
    /// `(id, whether it is a project's)`.
    account: Option<(i64, bool)>,
}

/// The change `method` on the route `template` (under `/v1`) asks for, if it is one.
fn change_of(method: &Method, template: &str, param: impl Fn(&str) -> Option<String>) -> Option<Change> {
    let template = template.strip_prefix("/v1").unwrap_or(template);
    let action = match (method.as_str(), template) {
        ("POST", "/workstations") => AuditAction::WorkstationCreate,
        ("PATCH", "/workstations/{id}") => AuditAction::WorkstationReconfigure,
        ("DELETE", "/workstations/{id}") => AuditAction::WorkstationDelete,
        ("POST", "/workstations/{id}/{action}") => {
            AuditAction::of_action(param("action")?.parse::<Action>().ok()?)
        }
        ("POST", "/projects") => AuditAction::ProjectCreate,
        ("PATCH", "/projects/{id}") => AuditAction::ProjectRename,
        ("DELETE", "/projects/{id}") => AuditAction::ProjectDelete,
        ("PUT", "/projects/{id}/members/{user}") => AuditAction::MemberSet,
        ("DELETE", "/projects/{id}/members/{user}") => AuditAction::MemberRemove,
        _ => return None,
    };
    let object = match action.object_kind() {
        "user" => param("user"),
        _ => param("id"),
    };
    Some(Change { action, object, account: None })
}

/// The layer: records each change the API is asked for, except replays of
/// one already answered (an `Idempotency-Key` sent again) and requests from
/// nobody it could identify (they are answered 401 and change nothing).
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method().is_safe() {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let params = RawPathParams::from_request_parts(&mut parts, &state).await.ok();
    let param =
        |name: &str| params.as_ref()?.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_owned());
    let template = parts.extensions.get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let Some(mut change) = template.and_then(|t| change_of(&parts.method, &t, param)) else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    change.account = account_of(&state, &change, param("id")).await;
    let at = audit::now();
    let slot = ActorSlot::default();
    parts.extensions.insert(slot.clone());
    let credential = match Credential::of(&parts.headers) {
        Some(Credential::Token(token)) => audit::token_credential(&token),
        Some(Credential::Session(_)) => audit::SESSION_CREDENTIAL.to_owned(),
        None => audit::NO_CREDENTIAL.to_owned(),
    };
    let address = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    let request_id =
        parts.headers.get(crate::request_id::HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (body, named) = if matches!(change.action, AuditAction::MemberSet | AuditAction::WorkstationCreate) {
        match peek(body).await {
            Ok(read) => read,
            Err(too_large) => return too_large,
        }
    } else {
        (body, Named::default())
    };
    if let Some(project) = &named.project {
        change.account = audit::project_id(&state.pool, project).await.unwrap_or(None).map(|id| (id, true));
    }

    let response = next.run(Request::from_parts(parts, body)).await;

    let Some(actor) = slot.0.get() else { return response };
    if response.headers().contains_key(super::idempotency::REPLAYED) {
        return response;
    }
    let status = response.status();
    if change.action == AuditAction::WorkstationCreate && status == StatusCode::OK {
        return response; // validateOnly: nothing was asked to change
    }
    if matches!(change.action, AuditAction::WorkstationCreate | AuditAction::ProjectCreate)
        && status == StatusCode::CREATED
    {
        let created = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.rsplit('/').next())
            .map(str::to_owned);
        change.object = created;
        change.account = match change.action {
            AuditAction::ProjectCreate => {
                change.object.as_deref().and_then(|id| id.parse().ok()).map(|id| (id, true))
            }
            // The create says whose it is; read only if it did not.
            _ => match (response.extensions().get::<CreatedIn>(), change.object.as_deref()) {
                (Some(CreatedIn(account)), _) => Some(*account),
                (None, Some(id)) => audit::workstation_account(&state.pool, id).await.unwrap_or(None),
                (None, None) => None,
            },
        };
    }
    let (response, why) = if status.is_client_error() || status.is_server_error() {
        problem_detail(response).await
    } else {
        (response, None)
    };
    // Where nothing names an account (a project create that made nothing, a
    // create in no project): the actor's own, or their token's project.
    let account = change
        .account
        .filter(|_| change.action != AuditAction::ProjectCreate || status == StatusCode::CREATED)
        .or(actor.project.map(|id| (id, true)))
        .or(Some((actor.user.id, false)));
    let record = NewAuditRecord {
        at: Some(at),
        actor_id: Some(actor.user.id),
        actor_name: Some(actor.user.name.clone()),
        credential,
        action: Some(change.action),
        object: change.object.map(|id| (change.action.object_kind().to_owned(), id)),
        account_id: account.map(|(id, _)| id),
        project_id: account.filter(|(_, project)| *project).map(|(id, _)| id),
        address,
        request_id,
        outcome: Some(Outcome::of_status(status.as_u16())),
        status: Some(status.as_u16()),
        detail: why.or(named.role.map(|role| format!("role {role}"))),
    };
    state.audit.record(record).await;
    response
}

/// Set on a create's response: the account that holds the new workstation,
/// and whether it is a project's (so its record needs no read).
#[derive(Debug, Clone, Copy)]
pub struct CreatedIn(pub (i64, bool));

/// The account a change's object belongs to, read before the change.
async fn account_of(state: &AppState, change: &Change, id: Option<String>) -> Option<(i64, bool)> {
    let id = id?;
    let found = match change.action.object_kind() {
        "workstation" => audit::workstation_account(&state.pool, &id).await,
        _ => audit::project_id(&state.pool, &ProjectRef::parse(&id)).await.map(|p| p.map(|id| (id, true))),
    };
    found.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the audit layer could not read an object's account");
        None
    })
}

/// What a body names that the record needs: the role a `PUT …/members/{user}`
/// gives, the project a create is in.
#[derive(Debug, Default)]
struct Named {
    role: Option<String>,
    project: Option<ProjectRef>,
}

/// What the body names, and the body again for the handler (which reads it
/// and answers whatever is wrong with it); a body over the limit is answered
/// 413 here.
async fn peek(body: Body) -> Result<(Body, Named), Response> {
    let bytes = axum::body::to_bytes(body, super::MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge.into_response())?;
    let value = serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default();
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::trim).filter(|v| !v.is_empty());
    let named =
        Named { role: text("role").map(str::to_owned), project: text("project").map(ProjectRef::parse) };
    Ok((Body::from(bytes), named))
}

/// The `detail` (else the `title`) of a problem response, and the response again.
async fn problem_detail(response: Response) -> (Response, Option<String>) {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 * 1024).await else {
        return (Response::from_parts(parts, Body::empty()), None);
    };
    let detail = serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|problem| {
        let text = |key: &str| problem.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let mut detail = text("detail").or_else(|| text("title"))?;
        if let Some(errors) = problem.get("errors").and_then(|e| e.as_array()) {
            for error in errors {
                let field = error.get("pointer").and_then(|v| v.as_str()).unwrap_or("#");
                let why = error.get("detail").and_then(|v| v.as_str()).unwrap_or("");
                detail.push_str(&format!("; {field}: {why}"));
            }
        }
        Some(detail)
    });
    (Response::from_parts(parts, Body::from(bytes)), detail)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// `GET /v1/audit` query parameters, as sent.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct AuditParams {
    /// Only this action, e.g. `workstation.create`.
    action: Option<String>,
    /// Only what this user did (their name).
    actor: Option<String>,
    /// Only what was done to this object (a workstation's id, a project's id, a user's name, a token's prefix).
    object: Option<String>,
    /// Only what was done in this project (its id or name).
    project: Option<String>,
    /// Only `succeeded`, `refused` or `failed` changes.
    outcome: Option<String>,
    /// From this time: RFC 3339 (`2026-11-01T00:00:00Z`) or a date (midnight UTC).
    from: Option<String>,
    /// Until this time (not included), written the same way.
    to: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
    /// The nextPageToken of the previous page.
    page_token: Option<String>,
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AuditPage {
    records: Vec<AuditRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// `GET /v1/audit`: the changes asked of the service, newest first. An admin
/// of the instance reads everyone's; anyone else what they did, what was
/// done to their account, and everything in the projects where they are an
/// admin or owner. Every filter is optional and they combine.
#[utoipa::path(
    get, path = "/audit", tag = "audit",
    operation_id = "listAudit",
    params(AuditParams),
    responses(
        (status = 200, description = "A page of records", body = AuditPage),
        Invalid,
        Unauthorized,
        ServerError
    )
)]
async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    query: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::Validation(vec![FieldError::new("#", e.body_text())]))?;
    let mut errors = Vec::new();
    let mut filter = AuditFilter::default();
    fn text(value: &Option<String>) -> Option<&str> {
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    if let Some(action) = text(&params.action) {
        filter.action = action.parse().map_err(|e| errors.push(FieldError::new("#/action", e))).ok();
    }
    if let Some(outcome) = text(&params.outcome) {
        filter.outcome = outcome.parse().map_err(|e| errors.push(FieldError::new("#/outcome", e))).ok();
    }
    let mut name = |value: &Option<String>, field: &str| {
        let value = text(value)?;
        if value.chars().count() > 200 || value.chars().any(char::is_control) {
            errors.push(FieldError::new(
                format!("#/{field}"),
                "must be a name or an id: printable, at most 200 characters",
            ));
            return None;
        }
        Some(value.to_owned())
    };
    filter.actor = name(&params.actor, "actor");
    filter.object = name(&params.object, "object");
    let bound = |value: &Option<String>, field: &str, errors: &mut Vec<FieldError>| {
        let text = text(value)?;
        match parse_bound(text) {
            Some(ms) => Some(app::domain::time::format_utc_millis(ms)),
            None => {
                errors.push(FieldError::new(
                    format!("#/{field}"),
                    format!("must be a date (2026-11-01) or an RFC 3339 UTC time (2026-11-01T00:00:00Z), not {text:?}"),
                ));
                None
            }
        }
    };
    filter.from = bound(&params.from, "from", &mut errors);
    filter.to = bound(&params.to, "to", &mut errors);
    let limit = match text(&params.limit) {
        None => 50,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if (1..=audit::MAX_PAGE).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "#/limit",
                    format!("must be a whole number from 1 to {}", audit::MAX_PAGE),
                ));
                50
            }
        },
    };
    if let Some(token) = text(&params.page_token) {
        match app::page_token::decode(token) {
            Some(id) => filter.before_id = Some(id),
            None => errors.push(FieldError::new("#/pageToken", "is not a page token this list gave out")),
        }
    }
    let project =
        super::projects::project_param(params.project.clone()).map_err(|e| errors.push(e)).ok().flatten();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Some(project) = project {
        match audit::project_id(&state.pool, &project).await? {
            Some(id) => filter.account_id = Some(id),
            // No such project: nothing was done in it.
            None => return Ok(Json(AuditPage { records: Vec::new(), next_page_token: None })),
        }
    }
    // What this instance was asked before is there to read.
    state.audit.flush().await;
    let (records, next) = audit::list(&state.pool, &user, &filter, limit).await?;
    Ok(Json(AuditPage { records, next_page_token: next.map(app::page_token::encode) }))
}
