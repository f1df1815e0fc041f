//! The OpenAPI document matches the routes and the types.

use std::collections::BTreeSet;

use app::domain::{Configuration, EventKind, Workstation, WorkstationEvent, WorkstationStatus};
use serde_json::Value;

use crate::helpers::TestApp;

async fn document(app: &TestApp) -> Value {
    let res = app.client.get(app.url("/v1/openapi.json")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.json().await.unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn the_document_lists_every_operation_and_each_one_exists() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert_eq!(doc["servers"][0]["url"], "/v1");

    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let expected: BTreeSet<String> = [
        "GET /workstations",
        "POST /workstations",
        "GET /workstations/{id}",
        "PATCH /workstations/{id}",
        "DELETE /workstations/{id}",
        "POST /workstations/{id}/{action}",
        "POST /workstations/{id}/activity",
        "GET /workstations/{id}/events",
        "GET /workstations/{id}/history",
        "GET /workstations/{id}/terminal",
        "GET /events",
        "GET /catalog",
        "GET /quota",
        "GET /usage",
        "GET /projects",
        "POST /projects",
        "GET /projects/{id}",
        "PATCH /projects/{id}",
        "DELETE /projects/{id}",
        "GET /projects/{id}/members",
        "PUT /projects/{id}/members/{user}",
        "DELETE /projects/{id}/members/{user}",
        "GET /projects/{id}/quota",
        "GET /audit",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(operations, expected);

    // Each documented operation is served (and, like all of them, wants a token).
    for op in &operations {
        let (method, path) = op.split_once(' ').unwrap();
        let url = app.url(&format!("/v1{}", path.replace("{id}", "ws-abc").replace("{action}", "launch")));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = app.client.request(method, url).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 401, "{op}");
    }
    // Every operation documents its errors as problem documents.
    for item in doc["paths"].as_object().unwrap().values() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("401"), "{method} lacks 401");
            let problem = &responses["401"]["content"]["application/problem+json"]["schema"]["$ref"];
            assert_eq!(problem, "#/components/schemas/Problem");
        }
    }
}

#[tokio::test]
async fn operation_ids_are_unique_and_every_link_reaches_one() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    // operation id -> the path parameters it takes
    let mut by_id = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id =
                op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            let params: BTreeSet<String> = path
                .split('/')
                .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
                .map(str::to_owned)
                .collect();
            assert!(by_id.insert(id.to_owned(), params).is_none(), "operationId {id} is used twice");
        }
    }
    let mut links = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                let Some(found) = response.get("links").and_then(Value::as_object) else { continue };
                for (name, link) in found {
                    let target = link["operationId"].as_str().unwrap();
                    let params = by_id
                        .get(target)
                        .unwrap_or_else(|| panic!("{method} {path} {status} link {name}: no {target}"));
                    for param in link["parameters"].as_object().unwrap().keys() {
                        assert!(params.contains(param), "link {name} fills {param}, which {target} lacks");
                    }
                    links += 1;
                }
            }
        }
    }
    // Both creates link to what can be done with what they made.
    assert!(links >= 11, "{links} links");
}

#[tokio::test]
async fn schemas_have_exactly_the_fields_the_types_serialize() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let config = Configuration {
        cpu_cores: 8,
        memory_gb: 32,
        gpu: "NVIDIA L4".into(),
        storage_gb: 512,
        region: "us-west-2".into(),
    };
    let ws = Workstation {
        id: "ws-x".into(),
        name: "x".into(),
        status: WorkstationStatus::Running,
        configuration: config.clone(),
        owner: app::domain::Owner { kind: app::domain::OwnerKind::Project, id: 7, name: "ml-team".into() },
        phase: Some(app::domain::Phase::Stopping),
        pending_configuration: Some(config.clone()),
        auto_stop: app::domain::AutoStop { idle_timeout_seconds: 1800, running_timeout_seconds: 0 },
        auto_stop_at: Some("2026-12-05T12:00:00.000Z".into()),
        auto_stop_reason: Some("idle".into()),
    };
    assert_eq!(keys(&schemas["Workstation"]["properties"]), keys(&serde_json::to_value(&ws).unwrap()));
    assert_eq!(keys(&schemas["Configuration"]["properties"]), keys(&serde_json::to_value(&config).unwrap()));
    assert_eq!(keys(&schemas["Owner"]["properties"]), keys(&serde_json::to_value(&ws.owner).unwrap()));
    let project = app::domain::Project {
        id: 7,
        name: "ml-team".into(),
        role: app::domain::Role::Admin,
        created_at: "2026-12-06T00:00:00.000Z".into(),
    };
    assert_eq!(keys(&schemas["Project"]["properties"]), keys(&serde_json::to_value(&project).unwrap()));
    let member = app::domain::Member {
        user: "ada".into(),
        role: app::domain::Role::Viewer,
        added_at: "2026-12-06T00:00:00.000Z".into(),
    };
    assert_eq!(keys(&schemas["Member"]["properties"]), keys(&serde_json::to_value(&member).unwrap()));
    let required: BTreeSet<String> = schemas["Workstation"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        required,
        ["autoStop", "configuration", "id", "name", "owner", "status"].map(str::to_owned).into()
    );
    assert_eq!(keys(&schemas["AutoStop"]["properties"]), keys(&serde_json::to_value(ws.auto_stop).unwrap()));
    let event = WorkstationEvent {
        id: 1,
        workstation_id: "ws-x".into(),
        seq: 1,
        kind: EventKind::Log,
        status: WorkstationStatus::Running,
        phase: Some(app::domain::Phase::Reported("p".into())),
        progress: Some(1),
        message: Some("m".into()),
        at: "t".into(),
    };
    assert_eq!(
        keys(&schemas["WorkstationEvent"]["properties"]),
        keys(&serde_json::to_value(&event).unwrap())
    );
    let statuses: BTreeSet<String> = schemas["WorkstationStatus"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["error", "provisioning", "running", "stopped"].map(str::to_owned).into());
    // The create request documents the contract's two fields, autoStop and project.
    assert_eq!(
        keys(&schemas["CreateWorkstationRequest"]["properties"]),
        ["autoStop", "configuration", "name", "project"].map(str::to_owned).into()
    );
}

#[tokio::test]
async fn the_reference_page_is_served_from_our_own_assets() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/docs/api/")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "no outside scripts or styles: {html}");
    let init = app
        .client
        .get(app.url("/docs/api/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/v1/openapi.json"), "{init}");
}
