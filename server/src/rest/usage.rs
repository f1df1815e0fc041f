//! `GET /v1/usage`: what the caller's workstations ran and held over a period.

use app::backend::{usage, AppState};
use app::domain::usage::parse_bound;
use app::domain::{FieldError, UsageReport};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::AuthUser;
use super::openapi::{Invalid, NotFound, ServerError, Unauthorized};
use super::ApiError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(usage_report))
}

/// The period, and optionally one workstation.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UsageQuery {
    /// Start: RFC 3339 (`2026-11-01T00:00:00Z`) or a date (`2026-11-01`, midnight UTC). Default: the start of this month.
    from: Option<String>,
    /// End (not included), written the same way. Default: the start of next month; what still runs counts until now.
    to: Option<String>,
    /// Only this workstation (also a deleted one).
    workstation: Option<String>,
    /// A project's usage (its id or name) instead of your own.
    project: Option<String>,
}

/// Running hours, CPU core-hours, memory GB-hours, GPU-hours by GPU type
/// and storage GB-days, per workstation and in total. A workstation counts
/// as running from the moment it is `running` until it is not; its storage
/// counts from its creation until its deletion.
#[utoipa::path(
    get, path = "/usage", tag = "account",
    operation_id = "getUsage",
    params(UsageQuery),
    responses(
        (status = 200, description = "The period's usage", body = UsageReport),
        Invalid,
        Unauthorized,
        NotFound,
        ServerError
    )
)]
async fn usage_report(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    query: Result<Query<UsageQuery>, QueryRejection>,
) -> Result<Json<UsageReport>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::Validation(vec![FieldError::new("#", e.body_text())]))?;
    let (month_start, month_end) = usage::this_month();
    let bound = |value: &Option<String>, field: &str, default: i64| {
        match value {
        None => Ok(default),
        Some(text) => parse_bound(text).ok_or_else(|| {
            FieldError::new(
                format!("#/{field}"),
                format!("must be a date (2026-11-01) or an RFC 3339 UTC time (2026-11-01T00:00:00Z), not {text:?}"),
            )
        }),
    }
    };
    let mut errors = Vec::new();
    let project =
        super::projects::project_param(query.project.clone()).map_err(|e| errors.push(e)).ok().flatten();
    let from = bound(&query.from, "from", month_start).map_err(|e| errors.push(e)).unwrap_or(month_start);
    let to = bound(&query.to, "to", month_end).map_err(|e| errors.push(e)).unwrap_or(month_end);
    if errors.is_empty() && to <= from {
        errors.push(FieldError::new("#/to", "must be after from"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let account =
        app::backend::access::account(&state.pool, &user, project.as_ref(), app::domain::Permission::Read)
            .await?;
    Ok(Json(usage::report(&state.pool, &account, from, to, query.workstation.as_deref()).await?))
}
