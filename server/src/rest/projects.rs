//! `/v1/projects`: projects, their members and roles, and their quota.

use app::backend::projects;
use app::domain::{FieldError, Member, Project, ProjectName, ProjectRef, QuotaStatus, Role};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::AuthUser;
use super::extract::JsonBody;
use super::openapi::{
    Conflict, Forbidden, Invalid, NotFound, ServerError, TooLarge, Unauthorized, UnsupportedMediaType,
};
use super::ApiError;
use crate::AppState;

/// Routes for projects, with their documentation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, rename, delete))
        .routes(routes!(members))
        .routes(routes!(put_member, remove_member))
        .routes(routes!(quota))
}

/// A `project` query parameter: its id or name (`None` when not given).
pub fn project_param(raw: Option<String>) -> Result<Option<ProjectRef>, FieldError> {
    match raw.map(|s| s.trim().to_owned()) {
        None => Ok(None),
        Some(s) if s.is_empty() || s.chars().count() > app::domain::WorkstationName::MAX_LEN => {
            Err(FieldError::new("#/project", "must be a project's id or name"))
        }
        Some(s) => Ok(Some(ProjectRef::parse(&s))),
    }
}

fn project_ref(path: Result<Path<String>, PathRejection>) -> Result<ProjectRef, ApiError> {
    path.map(|Path(id)| ProjectRef::parse(&id))
        .map_err(|_| ApiError::NotFound("no project has that id".into()))
}

/// A JSON object body's fields, each known key taken out; the rest refused.
fn object(body: Value, known: &[&str]) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(map) = body else {
        return Err(ApiError::Validation(vec![FieldError::new(
            "#",
            "the request body must be a JSON object",
        )]));
    };
    let unknown: Vec<FieldError> = map
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| {
            FieldError::new(
                format!("#/{}", k.replace('~', "~0").replace('/', "~1")),
                "is not a field of this request",
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    Ok(map)
}

/// The `name` of a project body.
fn name_of(map: &Map<String, Value>) -> Result<ProjectName, ApiError> {
    let detail = match map.get("name") {
        None | Some(Value::Null) => "is required".to_owned(),
        Some(Value::String(s)) => match ProjectName::parse(s) {
            Ok(name) => return Ok(name),
            Err(detail) => detail,
        },
        Some(_) => "must be a string".to_owned(),
    };
    Err(ApiError::Validation(vec![FieldError::new("#/name", detail)]))
}

/// A project body: `{"name"}`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
struct ProjectBody {
    /// 1–63 letters, digits, `-` and `_`, starting with a letter; unique among users and projects.
    #[schema(example = "ml-team")]
    name: String,
}

/// The projects list.
#[derive(Debug, Serialize, ToSchema)]
struct ProjectList {
    projects: Vec<Project>,
}

/// A project's members.
#[derive(Debug, Serialize, ToSchema)]
struct MemberList {
    members: Vec<Member>,
}

/// A member body: `{"role"}`.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
struct MemberBody {
    role: Role,
}

/// `POST /v1/projects`: a new project, with the caller as its owner.
#[utoipa::path(
    post, path = "/projects", tag = "projects",
    operation_id = "createProject",
    request_body(content = ProjectBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; you are its owner", body = Project,
            headers(("Location" = String, description = "The project's URL"))),
        Invalid,
        Unauthorized,
        Forbidden,
        Conflict,
        TooLarge,
        UnsupportedMediaType,
        ServerError
    )
)]
#[tracing::instrument(skip_all, fields(user = %user.name))]
async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let name = name_of(&object(body, &["name"])?)?;
    let project = projects::create(&state.pool, &user, &name).await?;
    let location =
        HeaderValue::from_str(&format!("/v1/projects/{}", project.id)).map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(project)).into_response())
}

/// `GET /v1/projects`: the projects you are a member of, by name, with your role.
#[utoipa::path(
    get, path = "/projects", tag = "projects",
    operation_id = "listProjects",
    responses(
        (status = 200, description = "Your projects", body = ProjectList),
        Unauthorized,
        ServerError
    )
)]
async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<ProjectList>, ApiError> {
    Ok(Json(ProjectList { projects: projects::list(&state.pool, &user).await? }))
}

/// `GET /v1/projects/{id}`: one of your projects (by id or name).
#[utoipa::path(
    get, path = "/projects/{id}", tag = "projects",
    operation_id = "getProject",
    params(("id" = String, Path, description = "Project id or name")),
    responses(
        (status = 200, description = "The project, with your role", body = Project),
        Unauthorized,
        NotFound,
        ServerError
    )
)]
async fn show(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Project>, ApiError> {
    Ok(Json(projects::get(&state.pool, &user, &project_ref(path)?).await?))
}

/// `PATCH /v1/projects/{id}`: renames it (admins and owners).
#[utoipa::path(
    patch, path = "/projects/{id}", tag = "projects",
    operation_id = "renameProject",
    params(("id" = String, Path, description = "Project id or name")),
    request_body(content = ProjectBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Renamed", body = Project),
        Invalid,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        TooLarge,
        UnsupportedMediaType,
        ServerError
    )
)]
async fn rename(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody,
) -> Result<Json<Project>, ApiError> {
    let reference = project_ref(path)?;
    // A project the caller cannot see is not there, whatever the body says.
    projects::get(&state.pool, &user, &reference).await?;
    let name = name_of(&object(body, &["name"])?)?;
    Ok(Json(projects::rename(&state.pool, &user, &reference, &name).await?))
}

/// `DELETE /v1/projects/{id}`: deletes it (owners), only once it holds no workstations.
#[utoipa::path(
    delete, path = "/projects/{id}", tag = "projects",
    operation_id = "deleteProject",
    params(("id" = String, Path, description = "Project id or name")),
    responses(
        (status = 204, description = "Deleted"),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        ServerError
    )
)]
async fn delete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    projects::delete(&state.pool, &user, &project_ref(path)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/projects/{id}/members`: owners first, then by name.
#[utoipa::path(
    get, path = "/projects/{id}/members", tag = "projects",
    operation_id = "listProjectMembers",
    params(("id" = String, Path, description = "Project id or name")),
    responses(
        (status = 200, description = "The members and their roles", body = MemberList),
        Unauthorized,
        NotFound,
        ServerError
    )
)]
async fn members(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<MemberList>, ApiError> {
    Ok(Json(MemberList { members: projects::members(&state.pool, &user, &project_ref(path)?).await? }))
}

fn member_path(
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(ProjectRef, String), ApiError> {
    path.map(|Path((id, user))| (ProjectRef::parse(&id), user))
        .map_err(|_| ApiError::NotFound("no project has that id".into()))
}

/// `PUT /v1/projects/{id}/members/{user}`: adds a user with a role, or
/// changes their role. Admins manage viewers, members and admins; making,
/// changing or removing an owner takes an owner; the last owner stays one.
#[utoipa::path(
    put, path = "/projects/{id}/members/{user}", tag = "projects",
    operation_id = "putProjectMember",
    params(
        ("id" = String, Path, description = "Project id or name"),
        ("user" = String, Path, description = "The user's name")
    ),
    request_body(content = MemberBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The members now", body = MemberList),
        Invalid,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        TooLarge,
        UnsupportedMediaType,
        ServerError
    )
)]
async fn put_member(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<(String, String)>, PathRejection>,
    JsonBody(body): JsonBody,
) -> Result<Json<MemberList>, ApiError> {
    let (reference, member) = member_path(path)?;
    // A project the caller cannot see is not there, whatever the body says.
    projects::get(&state.pool, &user, &reference).await?;
    let map = object(body, &["role"])?;
    let role = match map.get("role") {
        Some(Value::String(s)) => s.parse::<Role>(),
        None | Some(Value::Null) => Err("is required".to_owned()),
        Some(_) => Err("must be one of viewer, member, admin, owner".to_owned()),
    }
    .map_err(|detail| ApiError::Validation(vec![FieldError::new("#/role", detail)]))?;
    let members = projects::set_member(&state.pool, &user, &reference, &member, Some(role)).await?;
    Ok(Json(MemberList { members }))
}

/// `DELETE /v1/projects/{id}/members/{user}`: removes a member (anyone may
/// leave; the last owner cannot).
#[utoipa::path(
    delete, path = "/projects/{id}/members/{user}", tag = "projects",
    operation_id = "removeProjectMember",
    params(
        ("id" = String, Path, description = "Project id or name"),
        ("user" = String, Path, description = "The user's name")
    ),
    responses(
        (status = 204, description = "Removed"),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        ServerError
    )
)]
async fn remove_member(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let (reference, member) = member_path(path)?;
    projects::set_member(&state.pool, &user, &reference, &member, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/projects/{id}/quota`: the project's limits and what its
/// workstations hold, counted apart from its members' own (an operator sets
/// them: `atelier quota set --project`).
#[utoipa::path(
    get, path = "/projects/{id}/quota", tag = "projects",
    operation_id = "getProjectQuota",
    params(("id" = String, Path, description = "Project id or name")),
    responses(
        (status = 200, description = "Limits and usage", body = QuotaStatus),
        Unauthorized,
        NotFound,
        ServerError
    )
)]
async fn quota(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<QuotaStatus>, ApiError> {
    Ok(Json(projects::quota(&state, &user, &project_ref(path)?).await?))
}
