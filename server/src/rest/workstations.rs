//! `/v1/workstations`.

use app::backend::{lifecycle, workstations};
use app::domain::{Action, ReconfigureRequest, WorkstationState};
use app::domain::{CreateWorkstationRequest, Workstation};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::auth::AuthUser;
use super::extract::JsonBody;
use super::ApiError;
use crate::AppState;

/// Routes for workstations.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workstations", get(list).post(create))
        .route("/workstations/{id}", get(show).delete(delete).patch(reconfigure))
        .route("/workstations/{id}/{action}", post(act))
}

/// `POST /v1/workstations`: validate, store, answer 201 with the record.
#[tracing::instrument(skip_all, fields(user = %user.name))]
async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let spec = CreateWorkstationRequest::from_json(body)
        .and_then(|request| request.parse(&state.catalog))
        .map_err(ApiError::Validation)?;
    let ws = workstations::create(&state, &user, &spec).await?;
    let location =
        HeaderValue::from_str(&format!("/v1/workstations/{}", ws.id)).map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(ws)).into_response())
}

/// A workstation with its `ETag`.
fn with_etag(status: StatusCode, state: WorkstationState) -> Result<Response, ApiError> {
    let etag = HeaderValue::from_str(&lifecycle::etag(state.version)).map_err(ApiError::internal)?;
    Ok((status, [(header::ETAG, etag)], Json(state.workstation)).into_response())
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(id)| id).map_err(|_| ApiError::NotFound("no workstation has that id".into()))
}

/// `GET /v1/workstations/{id}`: one of the caller's workstations, with its `ETag`.
#[tracing::instrument(skip_all, fields(user = %user.name))]
async fn show(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(path)?;
    let found = workstations::get_state(&state, &user, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("you have no workstation with id {id:?}")))?;
    with_etag(StatusCode::OK, found)
}

/// `POST /v1/workstations/{id}/{launch|stop|cancel|retry}`: starts the
/// action; `202` with the workstation as it is now (see `phase`).
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
    let after = lifecycle::perform(&state, &user, &id, action, if_match(&headers)).await?;
    with_etag(StatusCode::ACCEPTED, after)
}

/// `PATCH /v1/workstations/{id}`: `{"configuration": {…any subset…}, "apply": "now"|"nextStart"}`.
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
    let after = lifecycle::reconfigure(&state, &user, &id, &request, if_match(&headers)).await?;
    with_etag(StatusCode::OK, after)
}

/// `DELETE /v1/workstations/{id}`: stops it if needed, then removes it; its
/// history stays readable.
#[tracing::instrument(skip_all, fields(user = %user.name))]
async fn delete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = path_id(path)?;
    let after = lifecycle::perform(&state, &user, &id, Action::Delete, if_match(&headers)).await?;
    with_etag(StatusCode::ACCEPTED, after)
}

/// The list response.
#[derive(Debug, Serialize)]
struct WorkstationPage {
    workstations: Vec<Workstation>,
}

/// `GET /v1/workstations`: the caller's workstations, newest first.
#[tracing::instrument(skip_all, fields(user = %user.name))]
async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<impl Serialize>, ApiError> {
    Ok(Json(WorkstationPage { workstations: workstations::list(&state, &user).await? }))
}
