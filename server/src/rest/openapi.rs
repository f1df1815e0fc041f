//! The OpenAPI 3.1 document, generated from the handlers' annotations and the
//! same Rust types they use, and served at `/v1/openapi.json`.

use app::domain::FieldError;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The document's fixed parts; paths and schemas come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Atelier API",
        version = "1",
        description = "Provision cloud workstations and follow them live. Every request needs \
                       `Authorization: Bearer <token>`; errors are RFC 9457 problem documents."
    ),
    servers((url = "/v1")),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "workstations", description = "Create, read, list and change workstations"),
        (name = "events", description = "Live status (Server-Sent Events) and history"),
        (name = "account", description = "Catalog, capacity and quota")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("atl_…").build(),
            ),
        );
    }
}

/// An RFC 9457 problem document, as every error response carries it.
/// Some problems add members (e.g. `currentStatus`, `allowedActions`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Problem {
    /// A relative URI naming the kind of problem, e.g. `/problems/validation-error`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Also in the `X-Request-Id` response header; quote it when reporting a problem.
    pub request_id: Option<String>,
    /// One entry per invalid field, with a JSON pointer into the request.
    pub errors: Option<Vec<FieldError>>,
}

/// The generated document.
pub fn document(paths: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(paths);
    doc
}
