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
                       `Authorization: Bearer <token>`; errors are RFC 9457 problem documents. \
                       A request that would hold resources is admitted by three checks, in this \
                       order: the name (409), the quota (403), the region's capacity (409)."
    ),
    servers((url = "/v1")),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "workstations", description = "Create, read, list and change workstations"),
        (name = "events", description = "Live status (Server-Sent Events) and history"),
        (name = "account", description = "Catalog, capacity and quota"),
        (name = "projects", description = "Projects, their members and roles, and their quota"),
        (name = "audit", description = "The record of every change asked of the service")
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

/// Declares the problem responses that operations share: each becomes a type
/// an operation lists by name in its `responses(...)`, with its status and
/// description written here once and a [`Problem`] as its body.
macro_rules! problem_responses {
    ($($name:ident = $status:tt, $description:tt;)*) => {$(
        #[doc = $description]
        #[derive(utoipa::IntoResponses)]
        #[response(status = $status, description = $description, content_type = "application/problem+json")]
        pub struct $name(pub Problem);
    )*};
}

problem_responses! {
    Invalid = 400, "Invalid input: every problem with a JSON pointer";
    Unauthorized = 401, "No valid bearer token";
    Forbidden = 403, "Over your quota, a read-only token, or a project role that does not allow it \
                      (`requiredRole` names the one it takes)";
    NotFound = 404, "No such workstation or project (or not yours to see)";
    Conflict = 409, "Conflict: a taken name, no capacity, an action the status does not allow, \
                     or an idempotent request still running";
    PreconditionFailed = 412, "If-Match does not match the current ETag";
    TooLarge = 413, "Body over 64 KiB";
    UnsupportedMediaType = 415, "Body not declared as JSON";
    IdempotencyMismatch = 422, "Idempotency-Key reused with a different request";
    UpgradeRequired = 426, "Not a WebSocket upgrade request";
    BadGateway = 502, "The workstation's container engine failed or could not be reached";
    ServerError = 500, "Server failure; the body names the request id";
}

/// The generated document. Every operation can also answer `429` (over the
/// token's request budget), `431` (header fields over the limit) and `503`
/// (database busy or full, or past the request deadline), documented here
/// once for all.
pub fn document(paths: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let mut doc = ApiDoc::openapi();
    doc.merge(paths);
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
            )
            .build()
    };
    let shared = [
        ("429", problem("Over the token's requests per minute (or open event streams); see `Retry-After`")),
        ("431", problem("The request's header fields are over 16 KiB, or more than 64 of them")),
        (
            "503",
            problem(
                "The database is busy or out of space, or the request ran past its deadline; nothing was written. See `Retry-After`",
            ),
        ),
    ];
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in operations.into_iter().flatten() {
            for (status, response) in &shared {
                operation
                    .responses
                    .responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| response.clone().into());
            }
        }
    }
    link_created(
        &mut doc,
        "/workstations",
        &[
            ("GetWorkstation", "getWorkstation"),
            ("GetHistory", "getWorkstationHistory"),
            ("Reconfigure", "reconfigureWorkstation"),
            ("StartAction", "actOnWorkstation"),
            ("RecordActivity", "recordActivity"),
            ("DeleteWorkstation", "deleteWorkstation"),
        ],
    );
    link_created(
        &mut doc,
        "/projects",
        &[
            ("GetProject", "getProject"),
            ("RenameProject", "renameProject"),
            ("ListMembers", "listProjectMembers"),
            ("GetQuota", "getProjectQuota"),
            ("DeleteProject", "deleteProject"),
        ],
    );
    doc
}

/// OpenAPI links from a create's `201` to the operations on what it made
/// (by their unique operation ids), so clients (and fuzzers) can follow `id`
/// from one to the next.
fn link_created(doc: &mut utoipa::openapi::OpenApi, path: &str, links: &[(&str, &str)]) {
    use utoipa::openapi::link::LinkBuilder;
    use utoipa::openapi::RefOr;
    let Some(RefOr::T(created)) = doc
        .paths
        .paths
        .get_mut(path)
        .and_then(|item| item.post.as_mut())
        .and_then(|op| op.responses.responses.get_mut("201"))
    else {
        return;
    };
    for (name, operation) in links {
        let link = LinkBuilder::new().operation_id(*operation).parameter("id", "$response.body#/id").build();
        created.links.insert((*name).to_owned(), link.into());
    }
}
