//! `GET /v1/catalog`: what can be asked for, and where there is room.

use app::backend::{workstations, AppState};
use app::domain::QuotaStatus;
use app::domain::{CapacityEntry, Range, RegionOption};
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{ServerError, Unauthorized};

use super::auth::AuthUser;
use super::ApiError;

/// Routes for the catalog and quota, with their documentation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(catalog)).routes(routes!(quota))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Gpu {
    id: String,
    #[serde(rename = "memoryGB")]
    memory_gb: u32,
    description: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct Ranges {
    #[serde(rename = "cpuCores")]
    cpu_cores: Range,
    #[serde(rename = "memoryGB")]
    memory_gb: Range,
    #[serde(rename = "storageGB")]
    storage_gb: Range,
}

#[derive(Debug, Serialize, ToSchema)]
struct CatalogResponse {
    gpus: Vec<Gpu>,
    regions: Vec<RegionOption>,
    ranges: Ranges,
    capacity: Vec<CapacityEntry>,
    /// The shortest auto-stop timeout allowed, and what a create gets where it names none.
    #[serde(rename = "autoStop")]
    auto_stop: app::domain::AutoStopLimits,
}

/// GPU types, regions, the allowed ranges, free capacity per region and GPU
/// type, and the auto-stop rules.
#[utoipa::path(
    get, path = "/catalog", tag = "account",
    operation_id = "getCatalog",
    responses(
        (status = 200, description = "The catalog", body = CatalogResponse),
        Unauthorized,
        ServerError
    )
)]
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
        auto_stop: c.auto_stop,
    }))
}

/// `GET /v1/quota`: the caller's limits and what their workstations hold.
#[utoipa::path(
    get, path = "/quota", tag = "account",
    operation_id = "getQuota",
    responses(
        (status = 200, description = "Limits and usage", body = QuotaStatus),
        Unauthorized,
        ServerError
    )
)]
async fn quota(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<impl Serialize>, ApiError> {
    // A project-limited token's quota is its project's.
    let account =
        app::backend::access::account(&state.pool, &user, None, app::domain::Permission::Read).await?;
    Ok(Json(app::backend::quota::status(&state, &account).await?))
}
