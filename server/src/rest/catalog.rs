//! `GET /v1/catalog`: what can be asked for, and where there is room.

use app::backend::{workstations, AppState};
use app::domain::{CapacityEntry, Range, RegionOption};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::auth::AuthUser;
use super::ApiError;

/// Routes for the catalog.
pub fn router() -> Router<AppState> {
    Router::new().route("/catalog", get(catalog)).route("/quota", get(quota))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Gpu {
    id: String,
    #[serde(rename = "memoryGB")]
    memory_gb: u32,
    description: String,
}

#[derive(Debug, Serialize)]
struct Ranges {
    #[serde(rename = "cpuCores")]
    cpu_cores: Range,
    #[serde(rename = "memoryGB")]
    memory_gb: Range,
    #[serde(rename = "storageGB")]
    storage_gb: Range,
}

#[derive(Debug, Serialize)]
struct CatalogResponse {
    gpus: Vec<Gpu>,
    regions: Vec<RegionOption>,
    ranges: Ranges,
    capacity: Vec<CapacityEntry>,
}

/// GPU types, regions, the allowed ranges, and free capacity per region and GPU type.
async fn catalog(
    State(state): State<AppState>,
    AuthUser(_user): AuthUser,
) -> Result<Json<impl Serialize>, ApiError> {
    let c = &state.catalog;
    Ok(Json(CatalogResponse {
        gpus: c
            .gpus
            .iter()
            .map(|g| Gpu { id: g.id.clone(), memory_gb: g.memory_gb, description: g.description.clone() })
            .collect(),
        regions: c.regions.clone(),
        ranges: Ranges { cpu_cores: c.cpu_cores, memory_gb: c.memory_gb, storage_gb: c.storage_gb },
        capacity: workstations::capacity(&state).await?,
    }))
}

/// `GET /v1/quota`: the caller's limits and what their workstations hold.
async fn quota(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<impl Serialize>, ApiError> {
    Ok(Json(app::backend::quota::status(&state, &user).await?))
}
