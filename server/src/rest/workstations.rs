//! `/v1/workstations`.

use app::backend::access;
use app::backend::lifecycle::{self, Expected};
use app::backend::store::ListFilter;
use app::backend::workstations;
use app::domain::request::{GpuType, Region};
use app::domain::{Action, OwnerKind, Permission, ReconfigureRequest, WorkstationState};
use app::domain::{Catalog, FieldError, ProjectRef, WorkstationName, WorkstationStatus};
use app::domain::{CreateWorkstationRequest, Workstation};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{
    Conflict, Forbidden, IdempotencyMismatch, Invalid, NotFound, PreconditionFailed, Problem, ServerError,
    TooLarge, Unauthorized, UnsupportedMediaType,
};

use super::auth::AuthUser;
use super::extract::JsonBody;
use super::ApiError;
use crate::AppState;

/// Routes for workstations, with their documentation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, reconfigure, delete))
        .routes(routes!(act))
        .routes(routes!(activity))
}

/// `POST /v1/workstations`: validate, store, answer 201 with the record.
///
/// After the body is valid (400 lists every invalid field), a request is
/// admitted by three checks in this order, the first failure answering:
/// the name is not one of yours already (409 on `#/name`), your quota has
/// room (403), and the region has a free place for the GPU type (409, naming
/// where there is room). `validateOnly`, a launch applying a recorded
/// configuration, a retry and a reconfiguration check in the same order.
#[utoipa::path(
    post, path = "/workstations", tag = "workstations",
    operation_id = "createWorkstation",
    params(CreateParams, ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body(content = CreateWorkstationRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; provisioning has started", body = Workstation,
            headers(("Location" = String, description = "The new workstation's URL"))),
        (status = 200, description = "validateOnly: what would be created", body = ValidatedCreate),
        Invalid,
        Unauthorized,
        Forbidden,
        Conflict,
        TooLarge,
        UnsupportedMediaType,
        IdempotencyMismatch,
        ServerError
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.name))]
async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    query: Result<Query<CreateParams>, QueryRejection>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let Query(params) =
        query.map_err(|e| ApiError::MalformedBody(format!("the query string is malformed: {e}")))?;
    let validate_only = match params.validate_only.as_deref() {
        None | Some("false") => false,
        Some("true") | Some("") => true,
        Some(_) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "#/validateOnly",
                "must be true or false",
            )]))
        }
    };
    let spec = CreateWorkstationRequest::from_json(body)
        .and_then(|request| request.parse(&state.catalog))
        .map_err(ApiError::Validation)?;
    let account = access::account(&state.pool, &user, spec.project.as_ref(), Permission::Create).await?;
    if validate_only {
        // Every check a create makes, in the same order, and nothing stored.
        workstations::validate_create(&state, &account, &spec).await?;
        let would = ValidatedCreate {
            name: spec.name.as_str().to_owned(),
            status: WorkstationStatus::Provisioning,
            configuration: app::domain::Configuration::from(&spec),
            auto_stop: spec.auto_stop,
        };
        return Ok((StatusCode::OK, Json(would)).into_response());
    }
    let ws = workstations::create(&state, &account, &spec).await?;
    let location =
        HeaderValue::from_str(&format!("/v1/workstations/{}", ws.id)).map_err(ApiError::internal)?;
    let account = super::audit::CreatedIn((ws.owner.id, ws.owner.kind == OwnerKind::Project));
    let mut response = (StatusCode::CREATED, [(header::LOCATION, location)], Json(ws)).into_response();
    response.extensions_mut().insert(account);
    Ok(response)
}

/// A workstation with its `ETag`.
fn with_etag(status: StatusCode, state: WorkstationState) -> Result<Response, ApiError> {
    let etag = HeaderValue::from_str(&etag(state.version)).map_err(ApiError::internal)?;
    Ok((status, [(header::ETAG, etag)], Json(state.workstation)).into_response())
}

/// The strong ETag of a workstation version.
pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// The versions an `If-Match` header admits (`*`, strong or weak tags of
/// ours; a tag we never gave out admits nothing), if the header is there.
fn if_match(headers: &HeaderMap) -> Option<Expected> {
    let header = headers.get(header::IF_MATCH)?.to_str().ok()?;
    let tags: Vec<&str> = header.split(',').map(str::trim).collect();
    if tags.contains(&"*") {
        return Some(Expected::Any);
    }
    let version = |tag: &str| {
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag.strip_prefix("\"v")?.strip_suffix('"')?.parse::<i64>().ok().filter(|v| etag(*v) == tag)
    };
    Some(Expected::OneOf(tags.into_iter().filter_map(version).collect()))
}

fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(id)| id).map_err(|_| ApiError::NotFound("no workstation has that id".into()))
}

/// `POST /v1/workstations` query parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct CreateParams {
    /// `true`: check everything a create checks, store nothing, answer 200.
    validate_only: Option<String>,
}

/// What a create would make (`validateOnly=true`): the record without an id.
#[derive(Debug, Serialize, ToSchema)]
struct ValidatedCreate {
    name: String,
    status: WorkstationStatus,
    configuration: app::domain::Configuration,
    #[serde(rename = "autoStop")]
    auto_stop: app::domain::AutoStop,
}

/// `GET /v1/workstations/{id}`: one of the caller's workstations, with its `ETag`.
#[utoipa::path(
    get, path = "/workstations/{id}", tag = "workstations",
    operation_id = "getWorkstation",
    params(("id" = String, Path, description = "Workstation id, e.g. ws-k3v7q2mxa9bd")),
    responses(
        (status = 200, description = "The workstation", body = Workstation,
            headers(("ETag" = String, description = "Its version, for If-Match"))),
        Unauthorized,
        NotFound,
        ServerError
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.name))]
async fn show(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(path)?;
    let owner = access::workstation_account(&state.pool, &user, &id, Permission::Read).await?;
    let found = workstations::get_state(&state, &owner, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("you have no workstation with id {id:?}")))?;
    with_etag(StatusCode::OK, found)
}

/// The actions `POST /v1/workstations/{id}/{action}` starts (for the document).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // names the path parameter's values; the handler parses `Action`
enum PathAction {
    Launch,
    Stop,
    Cancel,
    Retry,
}

/// `POST /v1/workstations/{id}/{launch|stop|cancel|retry}`: starts the
/// action; `202` with the workstation as it is now (see `phase`).
#[utoipa::path(
    post, path = "/workstations/{id}/{action}", tag = "workstations",
    operation_id = "actOnWorkstation",
    params(
        ("id" = String, Path, description = "Workstation id"),
        ("action" = inline(PathAction), Path, description = "What to start"),
        ("If-Match" = Option<String>, Header, description = "Act only on this version"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")
    ),
    responses(
        (status = 202, description = "Started; see phase, or follow the events", body = Workstation,
            headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "Invalid input (e.g. the Idempotency-Key): every problem with a JSON pointer", body = Problem, content_type = "application/problem+json"),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PreconditionFailed,
        IdempotencyMismatch,
        ServerError
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.name))]
async fn act(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Ok(Path((id, action))) = path else {
        return Err(ApiError::NotFound("there is no API endpoint at this path".into()));
    };
    let action = match action.parse::<Action>() {
        Ok(Action::Delete) | Err(_) => {
            return Err(ApiError::NotFound(format!(
                "no action {action:?}; use launch, stop, cancel or retry (and DELETE to delete)"
            )))
        }
        Ok(action) => action,
    };
    let owner = access::workstation_account(&state.pool, &user, &id, Permission::of_action(action)).await?;
    let after = lifecycle::perform(&state, &owner, &id, action, if_match(&headers).as_ref()).await?;
    with_etag(StatusCode::ACCEPTED, after)
}

/// `PATCH /v1/workstations/{id}`: `{"configuration": {…any subset…}, "apply": "now"|"nextStart",
/// "autoStop": {"idleTimeoutSeconds", "runningTimeoutSeconds"}}`, either part or both.
#[utoipa::path(
    patch, path = "/workstations/{id}", tag = "workstations",
    operation_id = "reconfigureWorkstation",
    params(
        ("id" = String, Path, description = "Workstation id"),
        ("If-Match" = Option<String>, Header, description = "Change only this version")
    ),
    request_body(content = ReconfigureBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed, or recorded for the next launch (pendingConfiguration)", body = Workstation,
            headers(("ETag" = String, description = "The new version"))),
        Invalid,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PreconditionFailed,
        TooLarge,
        UnsupportedMediaType,
        ServerError
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.name))]
async fn reconfigure(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = path_id(path)?;
    let request = ReconfigureRequest::from_json(body).map_err(ApiError::Validation)?;
    let owner = access::workstation_account(&state.pool, &user, &id, Permission::Reconfigure).await?;
    let after = lifecycle::reconfigure(&state, &owner, &id, &request, if_match(&headers).as_ref()).await?;
    with_etag(StatusCode::OK, after)
}

/// `DELETE /v1/workstations/{id}`: stops it if needed, then removes it; its
/// history stays readable.
#[utoipa::path(
    delete, path = "/workstations/{id}", tag = "workstations",
    operation_id = "deleteWorkstation",
    params(
        ("id" = String, Path, description = "Workstation id"),
        ("If-Match" = Option<String>, Header, description = "Delete only this version")
    ),
    responses(
        (status = 202, description = "Deleting (stops it first if running); the history stays", body = Workstation),
        Unauthorized,
        (status = 403, description = "A read-only token", body = Problem, content_type = "application/problem+json"),
        NotFound,
        Conflict,
        PreconditionFailed,
        ServerError
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.name))]
async fn delete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = path_id(path)?;
    let owner = access::workstation_account(&state.pool, &user, &id, Permission::Delete).await?;
    let after = lifecycle::perform(&state, &owner, &id, Action::Delete, if_match(&headers).as_ref()).await?;
    with_etag(StatusCode::ACCEPTED, after)
}

/// The list response.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct WorkstationPage {
    workstations: Vec<Workstation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// `GET /v1/workstations` query parameters, as sent.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Page size, 1–100 (default 50).
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
    /// The nextPageToken of the previous page.
    page_token: Option<String>,
    /// Only this status.
    #[param(value_type = Option<WorkstationStatus>)]
    status: Option<String>,
    /// Only this region.
    region: Option<String>,
    /// Only this GPU type.
    gpu: Option<String>,
    /// Names starting with this (case-insensitive).
    name_prefix: Option<String>,
    /// A project's workstations (its id or name) instead of your own.
    project: Option<String>,
}

/// A `PATCH` body: any subset of the configuration and when to apply it,
/// or auto-stop timeouts to change (at once, in any status), or both.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct ReconfigureBody {
    /// The fields to change (the region cannot change; storage only grows).
    #[schema(value_type = Option<Object>)]
    configuration: Option<serde_json::Map<String, serde_json::Value>>,
    /// `now` (default; not while running) or `nextStart`.
    apply: Option<app::domain::Apply>,
    /// Either or both timeouts (seconds; 0 is never).
    auto_stop: Option<AutoStopPatch>,
}

/// Auto-stop timeouts to change: either or both, in seconds (0 is never).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct AutoStopPatch {
    /// Stops after this long without activity.
    idle_timeout_seconds: Option<u64>,
    /// Stops after this long running, whatever the activity.
    running_timeout_seconds: Option<u64>,
}

/// The largest page.
const MAX_LIMIT: u32 = 100;
/// The page size when none is asked for.
const DEFAULT_LIMIT: u32 = 50;

fn parse_list_params(
    params: ListParams,
    catalog: &Catalog,
) -> Result<(ListFilter, u32, Option<ProjectRef>), ApiError> {
    let mut errors = Vec::new();
    let project = super::projects::project_param(params.project).map_err(|e| errors.push(e)).ok().flatten();
    // A parameter given empty is checked like any value (and refused): only
    // leaving it out means "any".
    let given = |v: Option<String>| v.map(|s| s.trim().to_owned());
    let limit = match given(params.limit) {
        None => DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "#/limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                ));
                DEFAULT_LIMIT
            }
        },
    };
    let before_seq = given(params.page_token).and_then(|token| {
        let seq = app::page_token::decode(&token);
        if seq.is_none() {
            errors.push(FieldError::new("#/pageToken", "is not a page token this API gave out"));
        }
        seq
    });
    let status = given(params.status).and_then(|s| {
        s.parse::<WorkstationStatus>()
            .map_err(|_| {
                errors
                    .push(FieldError::new("#/status", "must be one of stopped, running, provisioning, error"))
            })
            .ok()
    });
    let region = given(params.region);
    if let Some(r) = &region {
        if let Err(detail) = Region::parse(r, catalog) {
            errors.push(FieldError::new("#/region", detail));
        }
    }
    let gpu = given(params.gpu);
    if let Some(g) = &gpu {
        if let Err(detail) = GpuType::parse(g, catalog) {
            errors.push(FieldError::new("#/gpu", detail));
        }
    }
    let name_prefix = params.name_prefix.filter(|p| !p.is_empty());
    if name_prefix.as_ref().is_some_and(|p| p.chars().count() > WorkstationName::MAX_LEN) {
        errors.push(FieldError::new("#/namePrefix", "must be at most 63 characters"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok((ListFilter { status, region, gpu, name_prefix, before_seq }, limit, project))
}

/// `GET /v1/workstations`: the caller's workstations (or a project's, with
/// `project`), newest first, a page at a time (`limit`, `pageToken`),
/// filtered by `status`, `region`, `gpu` and `namePrefix` (case-insensitive).
#[utoipa::path(
    get, path = "/workstations", tag = "workstations",
    operation_id = "listWorkstations",
    params(ListParams),
    responses(
        (status = 200, description = "A page of your workstations, newest first", body = WorkstationPage),
        Invalid,
        Unauthorized,
        NotFound,
        ServerError
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.name))]
async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<impl Serialize>, ApiError> {
    let Query(params) =
        query.map_err(|e| ApiError::MalformedBody(format!("the query string is malformed: {e}")))?;
    let (filter, limit, project) = parse_list_params(params, &state.catalog)?;
    let account = access::account(&state.pool, &user, project.as_ref(), Permission::Read).await?;
    let (workstations, next) = workstations::page(&state, &account, &filter, limit).await?;
    let next_page_token = next.map(app::page_token::encode);
    Ok(Json(WorkstationPage { workstations, next_page_token }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admits(header: &str, version: i64) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_MATCH, HeaderValue::from_str(header).unwrap());
        if_match(&headers).is_some_and(|expected| expected.admits(version))
    }

    #[test]
    fn if_match_forms() {
        assert!(admits("\"v3\"", 3));
        assert!(admits("W/\"v3\"", 3));
        assert!(admits("\"v1\", \"v3\"", 3));
        assert!(admits("*", 9));
        assert!(!admits("\"v2\"", 3));
        assert!(!admits("v3", 3));
        assert!(!admits("\"v03\"", 3));
        assert!(if_match(&HeaderMap::new()).is_none());
    }
}

/// When a workstation stops by itself if nothing else happens.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AutoStopAt {
    /// RFC 3339 UTC; `null` when the server stops nothing by itself.
    auto_stop_at: Option<String>,
    /// `idle` or `running`: which timeout that is.
    auto_stop_reason: Option<String>,
}

/// `POST /v1/workstations/{id}/activity`: the workstation is in use (for
/// tools that keep it busy without a terminal): its idle deadline moves
/// forward, never past its running timeout.
#[utoipa::path(
    post, path = "/workstations/{id}/activity", tag = "workstations",
    operation_id = "recordActivity",
    params(("id" = String, Path, description = "Workstation id")),
    responses(
        (status = 200, description = "Recorded; when it now stops by itself", body = AutoStopAt),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        ServerError
    )
)]
async fn activity(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<AutoStopAt>, ApiError> {
    use app::backend::auto_stop::{self, Activity};
    let id = path_id(path)?;
    let owner = access::workstation_account(&state.pool, &user, &id, Permission::Operate).await?;
    match auto_stop::activity(&state.pool, state.settings.auto_stop, &owner, &id).await? {
        Activity::Recorded(next) => Ok(Json(AutoStopAt {
            auto_stop_reason: next.as_ref().map(|(_, why)| why.as_str().to_owned()),
            auto_stop_at: next.map(|(at, _)| at),
        })),
        Activity::NotFound => Err(ApiError::NotFound(format!("you have no workstation with id {id:?}"))),
        Activity::NotRunning { status, phase } => Err(ApiError::InvalidTransition {
            detail: match &phase {
                Some(phase) => format!(
                    "activity is recorded while a workstation runs with no job at work; this one is {status} and {phase}"
                ),
                None => format!("only a running workstation has activity to record; this one is {status}"),
            },
            status: status.as_str().to_owned(),
            phase: phase.map(|p| p.as_str().to_owned()),
            allowed: Vec::new(),
        }),
    }
}
