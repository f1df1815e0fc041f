//! Projects: members and roles, workstations owned by a project, what each
//! role may do to them, and the project's own quota.

use std::time::Duration;

use app::backend::store;
use app::domain::QuotaOverrides;
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{problem, valid_body, TestApp};

async fn new_project(app: &TestApp, token: &str, name: &str) -> Value {
    let res = app.post_json("/v1/projects", token, &json!({ "name": name })).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/v1/projects/{}", body["id"]));
    body
}

async fn put_member(app: &TestApp, token: &str, project: &str, user: &str, role: &str) -> Response {
    app.client
        .put(app.url(&format!("/v1/projects/{project}/members/{user}")))
        .bearer_auth(token)
        .json(&json!({ "role": role }))
        .send()
        .await
        .unwrap()
}

fn in_project(name: &str, project: &str) -> Value {
    let mut body = valid_body(name);
    body["project"] = json!(project);
    body
}

/// A refusal for a role: 403, naming the role it takes and the caller's.
async fn refused_for_role(res: Response, needed: &str, role: &str) {
    let body = problem(res, 403).await;
    assert_eq!(body["type"], "/problems/role-required", "{body}");
    assert_eq!(body["requiredRole"], needed, "{body}");
    assert_eq!(body["role"], role, "{body}");
    assert!(body["detail"].as_str().unwrap().contains(&format!("the {needed} role")), "{body}");
}

#[tokio::test]
async fn a_project_is_created_listed_shown_and_renamed() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let project = new_project(&app, &alice, "ml-team").await;
    assert_eq!(project["name"], "ml-team");
    assert_eq!(project["role"], "owner");
    let id = project["id"].as_i64().unwrap();

    let list = app.get_json("/v1/projects", &alice).await;
    assert_eq!(list["projects"].as_array().unwrap().len(), 1);
    assert_eq!(list["projects"][0]["id"], id);
    // By id or by name.
    assert_eq!(app.get_json(&format!("/v1/projects/{id}"), &alice).await["name"], "ml-team");
    assert_eq!(app.get_json("/v1/projects/ml-team", &alice).await["id"], id);

    let members = app.get_json("/v1/projects/ml-team/members", &alice).await;
    assert_eq!(members["members"][0]["user"], "alice");
    assert_eq!(members["members"][0]["role"], "owner");

    let res = app
        .client
        .patch(app.url(&format!("/v1/projects/{id}")))
        .bearer_auth(&alice)
        .json(&json!({ "name": "vision" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(app.get_json(&format!("/v1/projects/{id}"), &alice).await["name"], "vision");

    // Names are shared with users, and checked like any field.
    let res = app.post_json("/v1/projects", &alice, &json!({ "name": "alice" })).send().await.unwrap();
    let body = problem(res, 409).await;
    assert_eq!(body["errors"][0]["pointer"], "#/name");
    for (bad, pointer) in [
        (json!({ "name": "9lives" }), "#/name"),
        (json!({}), "#/name"),
        (json!({ "name": "x", "owner": 1 }), "#/owner"),
    ] {
        let res = app.post_json("/v1/projects", &alice, &bad).send().await.unwrap();
        let body = problem(res, 400).await;
        assert_eq!(body["errors"][0]["pointer"], pointer, "{bad}: {body}");
    }
}

#[tokio::test]
async fn a_projects_workstations_belong_to_it_and_outsiders_see_nothing() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let eve = app.token_for("eve").await;
    let project = new_project(&app, &alice, "ml-team").await;

    let res = app.post_json("/v1/workstations", &alice, &in_project("box", "ml-team")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["owner"], json!({ "kind": "project", "id": project["id"], "name": "ml-team" }));
    let id = created["id"].as_str().unwrap().to_owned();
    // The same name in the caller's own account: names are unique per owner.
    let own = app.post_json("/v1/workstations", &alice, &valid_body("box")).send().await.unwrap();
    assert_eq!(own.status().as_u16(), 201);
    let own: Value = own.json().await.unwrap();
    assert_eq!(own["owner"]["kind"], "user");
    assert_eq!(own["owner"]["name"], "alice");
    // By id too; a second "box" in the project is a taken name.
    let again = app
        .post_json("/v1/workstations", &alice, &in_project("box", &project["id"].to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(again, 409).await["errors"][0]["pointer"], "#/name");

    let listed = app.get_json("/v1/workstations?project=ml-team", &alice).await;
    let ids: Vec<&str> =
        listed["workstations"].as_array().unwrap().iter().map(|w| w["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id.as_str()]);
    let mine = app.get_json("/v1/workstations", &alice).await;
    assert_eq!(mine["workstations"].as_array().unwrap().len(), 1);
    assert_eq!(mine["workstations"][0]["owner"]["kind"], "user");
    let shown = app.get_json(&format!("/v1/workstations/{id}"), &alice).await;
    assert_eq!(shown["owner"]["kind"], "project");

    // Someone outside the project: 404 for the project and its workstations.
    for path in [
        format!("/v1/workstations/{id}"),
        format!("/v1/workstations/{id}/history"),
        "/v1/projects/ml-team".to_owned(),
        "/v1/projects/ml-team/members".to_owned(),
        "/v1/projects/ml-team/quota".to_owned(),
        "/v1/workstations?project=ml-team".to_owned(),
        "/v1/usage?project=ml-team".to_owned(),
    ] {
        let res = app.get(&path, &eve).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 404, "{path}");
    }
    let res =
        app.post_json("/v1/workstations", &eve, &in_project("mine-now", "ml-team")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let res = app.post(&format!("/v1/workstations/{id}/stop"), &eve).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert!(app.get_json("/v1/projects", &eve).await["projects"].as_array().unwrap().is_empty());

    // A project that is not there, and one named badly.
    let res = app.get("/v1/workstations?project=", &alice).send().await.unwrap();
    assert_eq!(problem(res, 400).await["errors"][0]["pointer"], "#/project");
    let res = app.post_json("/v1/workstations", &alice, &in_project("x", "nope")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let mut bad = valid_body("x");
    bad["project"] = json!(["ml-team"]);
    let res = app.post_json("/v1/workstations", &alice, &bad).send().await.unwrap();
    assert_eq!(problem(res, 400).await["errors"][0]["pointer"], "#/project");
}

#[tokio::test]
async fn each_role_may_do_what_the_table_says() {
    let app = TestApp::spawn().await;
    let owner = app.token_for("olga").await;
    let admin = app.token_for("adam").await;
    let member = app.token_for("mira").await;
    let viewer = app.token_for("vic").await;
    new_project(&app, &owner, "team").await;
    for (user, role) in [("adam", "admin"), ("mira", "member"), ("vic", "viewer")] {
        assert_eq!(put_member(&app, &owner, "team", user, role).await.status().as_u16(), 200);
    }
    let id = app.create(&owner, &in_project("shared", "team")).await;
    app.wait_for_status(&owner, &id, "stopped", Duration::from_secs(10)).await;

    // Reading: everyone in it.
    for token in [&owner, &admin, &member, &viewer] {
        assert_eq!(
            app.get(&format!("/v1/workstations/{id}"), token).send().await.unwrap().status().as_u16(),
            200
        );
        assert_eq!(
            app.get(&format!("/v1/workstations/{id}/history"), token).send().await.unwrap().status().as_u16(),
            200
        );
        assert_eq!(app.get("/v1/projects/team/members", token).send().await.unwrap().status().as_u16(), 200);
        assert_eq!(
            app.get("/v1/workstations?project=team", token).send().await.unwrap().status().as_u16(),
            200
        );
    }

    // Creating, launching, stopping: members and up.
    let res = app.post_json("/v1/workstations", &viewer, &in_project("v1", "team")).send().await.unwrap();
    refused_for_role(res, "member", "viewer").await;
    let res = app.post(&format!("/v1/workstations/{id}/launch"), &viewer).send().await.unwrap();
    refused_for_role(res, "member", "viewer").await;
    let res = app.post(&format!("/v1/workstations/{id}/activity"), &viewer).send().await.unwrap();
    refused_for_role(res, "member", "viewer").await;
    let made = app.create(&member, &in_project("m1", "team")).await;
    app.act_ok(&member, &id, "launch").await;
    app.wait_for_status(&member, &id, "running", Duration::from_secs(10)).await;
    app.act_ok(&member, &id, "stop").await;
    app.wait_for_status(&member, &id, "stopped", Duration::from_secs(10)).await;

    // Reconfiguring and deleting: admins and up.
    let patch = json!({ "configuration": { "cpuCores": 4 } });
    for (token, role) in [(&viewer, "viewer"), (&member, "member")] {
        let res = app
            .client
            .patch(app.url(&format!("/v1/workstations/{id}")))
            .bearer_auth(token)
            .json(&patch)
            .send()
            .await
            .unwrap();
        refused_for_role(res, "admin", role).await;
        let res = app
            .client
            .delete(app.url(&format!("/v1/workstations/{made}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        refused_for_role(res, "admin", role).await;
    }
    let res = app
        .client
        .patch(app.url(&format!("/v1/workstations/{id}")))
        .bearer_auth(&admin)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    app.wait_for_status(&admin, &made, "stopped", Duration::from_secs(10)).await;
    app.delete_and_wait(&admin, &made).await;

    // Members: admins manage them below owner; owners make owners.
    refused_for_role(put_member(&app, &member, "team", "vic", "member").await, "admin", "member").await;
    assert_eq!(put_member(&app, &admin, "team", "vic", "member").await.status().as_u16(), 200);
    refused_for_role(put_member(&app, &admin, "team", "vic", "owner").await, "owner", "admin").await;
    refused_for_role(put_member(&app, &admin, "team", "olga", "admin").await, "owner", "admin").await;
    let rename = |token: &str| {
        app.client
            .patch(app.url("/v1/projects/team"))
            .bearer_auth(token)
            .json(&json!({ "name": "team" }))
            .send()
    };
    refused_for_role(rename(&member).await.unwrap(), "admin", "member").await;
    assert_eq!(rename(&admin).await.unwrap().status().as_u16(), 200);

    // Deleting the project: owners only, and only once it is empty.
    let res = app.client.delete(app.url("/v1/projects/team")).bearer_auth(&admin).send().await.unwrap();
    refused_for_role(res, "owner", "admin").await;
    let res = app.client.delete(app.url("/v1/projects/team")).bearer_auth(&owner).send().await.unwrap();
    let body = problem(res, 409).await;
    assert!(body["detail"].as_str().unwrap().contains("still holds 1 workstation"), "{body}");
    app.delete_and_wait(&owner, &id).await;
    let res = app.client.delete(app.url("/v1/projects/team")).bearer_auth(&owner).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(app.get("/v1/projects/team", &owner).send().await.unwrap().status().as_u16(), 404);
}

/// Every role against every way of acting on a project's workstation, the
/// answer compared with the domain's table (`Role::allows`): a `403` naming
/// the role needed exactly when the role falls short, whatever the status
/// says otherwise (a `409` for an action the status does not allow is the
/// role's pass).
#[tokio::test]
async fn every_role_meets_every_workstation_action_as_the_domain_table_says() {
    use app::domain::{Permission, Role};
    let app = TestApp::spawn().await;
    let owner = app.token_for("olga").await;
    new_project(&app, &owner, "grid").await;
    let mut members = vec![(Role::Owner, owner.clone())];
    for (user, role) in [("adam", Role::Admin), ("mira", Role::Member), ("vic", Role::Viewer)] {
        let token = app.token_for(user).await;
        assert_eq!(put_member(&app, &owner, "grid", user, role.as_str()).await.status().as_u16(), 200);
        members.push((role, token));
    }
    let id = app.create(&owner, &in_project("target", "grid")).await;
    app.wait_for_status(&owner, &id, "stopped", Duration::from_secs(10)).await;

    let ways: [(&str, reqwest::Method, String, Option<Value>, Permission); 9] = [
        ("read", reqwest::Method::GET, String::new(), None, Permission::Read),
        ("launch", reqwest::Method::POST, "/launch".into(), None, Permission::Operate),
        ("stop", reqwest::Method::POST, "/stop".into(), None, Permission::Operate),
        ("cancel", reqwest::Method::POST, "/cancel".into(), None, Permission::Operate),
        ("retry", reqwest::Method::POST, "/retry".into(), None, Permission::Operate),
        ("activity", reqwest::Method::POST, "/activity".into(), None, Permission::Operate),
        ("terminal", reqwest::Method::GET, "/terminal".into(), None, Permission::Operate),
        (
            "reconfigure",
            reqwest::Method::PATCH,
            String::new(),
            Some(json!({ "configuration": { "storageGB": 1024 }, "apply": "nextStart" })),
            Permission::Reconfigure,
        ),
        (
            "auto-stop",
            reqwest::Method::PATCH,
            String::new(),
            Some(json!({ "autoStop": { "idleTimeoutSeconds": 0 } })),
            Permission::Reconfigure,
        ),
    ];
    for (role, token) in &members {
        for (what, method, suffix, body, permission) in &ways {
            let mut req = app
                .client
                .request(method.clone(), app.url(&format!("/v1/workstations/{id}{suffix}")))
                .bearer_auth(token);
            if let Some(body) = body {
                req = req.json(body);
            }
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            if role.allows(*permission) {
                // Allowed: whatever the workstation's state makes of it (a 409
                // for a launch while provisioning, say), but never a refusal
                // of the caller nor a failure of the server.
                let allowed = !matches!(status, 401 | 403 | 404) && status < 500;
                assert!(allowed, "{what} as {role}: {status} {}", res.text().await.unwrap());
            } else {
                refused_for_role(res, permission.role_needed().as_str(), role.as_str()).await;
            }
        }
    }
    // Deleting last: refused below admin, done by an admin.
    for (role, token) in &members {
        if role.allows(Permission::Delete) {
            continue;
        }
        let res = app
            .client
            .delete(app.url(&format!("/v1/workstations/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        refused_for_role(res, "admin", role.as_str()).await;
    }
    let admin = &members[1].1;
    let res = app
        .client
        .delete(app.url(&format!("/v1/workstations/{id}")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
}

#[tokio::test]
async fn the_last_owner_stays_and_anyone_may_leave() {
    let app = TestApp::spawn().await;
    let olga = app.token_for("olga").await;
    let vic = app.token_for("vic").await;
    app.token_for("oscar").await;
    new_project(&app, &olga, "team").await;
    assert_eq!(put_member(&app, &olga, "team", "vic", "viewer").await.status().as_u16(), 200);

    let leave = |token: &str, user: &str| {
        app.client.delete(app.url(&format!("/v1/projects/team/members/{user}"))).bearer_auth(token).send()
    };
    let body = problem(leave(&olga, "olga").await.unwrap(), 409).await;
    assert!(body["detail"].as_str().unwrap().contains("last owner"), "{body}");
    let res = put_member(&app, &olga, "team", "olga", "admin").await;
    assert_eq!(problem(res, 409).await["type"], "/problems/conflict");
    // A viewer may leave, but not remove others.
    refused_for_role(leave(&vic, "olga").await.unwrap(), "owner", "viewer").await;
    assert_eq!(leave(&vic, "vic").await.unwrap().status().as_u16(), 204);
    assert_eq!(app.get("/v1/projects/team", &vic).send().await.unwrap().status().as_u16(), 404);

    // With a second owner, the first may go.
    assert_eq!(put_member(&app, &olga, "team", "oscar", "owner").await.status().as_u16(), 200);
    assert_eq!(leave(&olga, "olga").await.unwrap().status().as_u16(), 204);

    // Unknown users and roles.
    let oscar = app.token_for("oscar").await;
    assert_eq!(put_member(&app, &oscar, "team", "nobody", "member").await.status().as_u16(), 404);
    let res = put_member(&app, &oscar, "team", "vic", "root").await;
    assert_eq!(problem(res, 400).await["errors"][0]["pointer"], "#/role");
    assert_eq!(leave(&oscar, "vic").await.unwrap().status().as_u16(), 404);
}

#[tokio::test]
async fn a_projects_quota_is_its_own() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let project = new_project(&app, &alice, "team").await;
    let account = store::User { id: project["id"].as_i64().unwrap(), name: "team".into() };
    store::set_user_quota(
        &app.state.pool,
        account.id,
        QuotaOverrides { cpu_cores: Some(10), ..Default::default() },
    )
    .await
    .unwrap();

    app.create(&alice, &in_project("one", "team")).await; // 8 cores
    let res = app.post_json("/v1/workstations", &alice, &in_project("two", "team")).send().await.unwrap();
    let body = problem(res, 403).await;
    assert_eq!(body["type"], "/problems/quota-exceeded");
    assert_eq!(body["quota"], "cpuCores");
    // Alice's own quota is counted apart.
    app.create(&alice, &valid_body("two")).await;
    let quota = app.get_json("/v1/projects/team/quota", &alice).await;
    assert_eq!(quota["limits"]["cpuCores"], 10, "{quota}");
    assert_eq!(quota["used"]["cpuCores"], 8, "{quota}");
    let own = app.get_json("/v1/quota", &alice).await;
    assert_eq!(own["used"]["cpuCores"], 8, "{own}");
}

#[tokio::test]
async fn members_follow_a_projects_events_on_one_stream() {
    let app = TestApp::spawn().await;
    let olga = app.token_for("olga").await;
    let vic = app.token_for("vic").await;
    let eve = app.token_for("eve").await;
    new_project(&app, &olga, "team").await;
    assert_eq!(put_member(&app, &olga, "team", "vic", "viewer").await.status().as_u16(), 200);

    let mut project_stream = app.stream("/v1/events?project=team", &vic, None).await;
    let mut own_stream = app.stream("/v1/events", &vic, None).await;
    let id = app.create(&olga, &in_project("shared", "team")).await;
    let first = project_stream.next().await.expect("the project's event reaches its viewer");
    let event: Value = serde_json::from_str(&first.data).unwrap();
    assert_eq!(event["workstationId"], id.as_str());
    assert!(own_stream.next_within(Duration::from_millis(300)).await.is_none(), "not in vic's own stream");
    let res = app.get("/v1/events?project=team", &eve).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    // A project workstation's own stream, for a member.
    let mut one = app.stream(&format!("/v1/workstations/{id}/events"), &vic, None).await;
    assert!(one.next().await.is_some());
}

#[tokio::test]
async fn a_project_limited_token_acts_in_its_project_only() {
    use app::backend::auth::{issue_token_in, Scope};
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let team = new_project(&app, &alice, "team").await;
    new_project(&app, &alice, "other").await;
    let own = app.create(&alice, &valid_body("own-box")).await;
    let elsewhere = app.create(&alice, &in_project("other-box", "other")).await;
    let user = store::find_user(&app.state.pool, "alice").await.unwrap().unwrap();
    let limited = issue_token_in(&app.state.pool, &user, None, Scope::Full, None, team["id"].as_i64())
        .await
        .unwrap()
        .token;

    // Without "project" it creates in its project.
    let res = app.post_json("/v1/workstations", &limited, &valid_body("ci-box")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let made: Value = res.json().await.unwrap();
    assert_eq!(made["owner"]["name"], "team");
    let listed = app.get_json("/v1/workstations", &limited).await;
    assert_eq!(listed["workstations"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["workstations"][0]["id"], made["id"]);
    let projects = app.get_json("/v1/projects", &limited).await;
    assert_eq!(projects["projects"].as_array().unwrap().len(), 1, "{projects}");
    assert_eq!(projects["projects"][0]["name"], "team");

    // Nothing else is there for it.
    for path in [
        format!("/v1/workstations/{own}"),
        format!("/v1/workstations/{elsewhere}"),
        format!("/v1/workstations/{own}/history"),
        "/v1/projects/other".to_owned(),
        "/v1/workstations?project=other".to_owned(),
        "/v1/events?project=other".to_owned(),
    ] {
        assert_eq!(app.get(&path, &limited).send().await.unwrap().status().as_u16(), 404, "{path}");
    }
    let res =
        app.post_json("/v1/workstations", &limited, &in_project("sneaky", "other")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let res = app.post(&format!("/v1/workstations/{own}/stop"), &limited).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let res = app.post_json("/v1/projects", &limited, &json!({ "name": "more" })).send().await.unwrap();
    assert_eq!(problem(res, 403).await["type"], "/problems/token-limited");
    // Its quota is its project's.
    let quota = app.get_json("/v1/quota", &limited).await;
    assert_eq!(quota["used"]["cpuCores"], 8, "{quota}");
    assert_eq!(app.get_json("/v1/quota", &alice).await["used"]["cpuCores"], 8);
    let quota = app.get_json("/v1/projects/other/quota", &alice).await;
    assert_eq!(quota["used"]["cpuCores"], 8, "{quota}");
}
