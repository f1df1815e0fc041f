//! `/v1/workstations`.

use app::backend::workstations;
use app::domain::{CreateWorkstationRequest, Workstation};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::auth::AuthUser;
use super::extract::JsonBody;
use super::ApiError;
use crate::AppState;

/// Routes for workstations.
pub fn router() -> Router<AppState> {
    Router::new().route("/workstations", get(list).post(create)).route("/workstations/{id}", get(show))
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

/// `GET /v1/workstations/{id}`: one of the caller's workstations.
#[tracing::instrument(skip_all, fields(user = %user.name))]
async fn show(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Workstation>, ApiError> {
    let Path(id) = path.map_err(|_| ApiError::NotFound("no workstation has that id".into()))?;
    workstations::get(&state, &user, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("you have no workstation with id {id:?}")))
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
