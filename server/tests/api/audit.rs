//! The audit log: each change asked of the API or the pages leaves exactly
//! one record with its actor, object, address, request id and outcome; each
//! reader sees only what concerns them.

use std::time::Duration;

use app::backend::store;
use serde_json::{json, Value};

use crate::helpers::{problem, valid_body, TestApp};

/// The records `token` reads with `query` (e.g. `?action=workstation.stop`).
async fn records(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let page = app.get_json(&format!("/v1/audit{query}"), token).await;
    page["records"].as_array().unwrap_or_else(|| panic!("{page}")).clone()
}

/// The only record of `action` on `object` that `token` reads.
async fn one(app: &TestApp, token: &str, action: &str, object: &str) -> Value {
    let found = records(app, token, &format!("?action={action}&object={object}")).await;
    assert_eq!(found.len(), 1, "one {action} of {object}: {found:#?}");
    found[0].clone()
}

fn actions(records: &[Value]) -> Vec<&str> {
    records.iter().map(|r| r["action"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn every_workstation_change_leaves_one_record_with_who_what_where_and_how_it_ended() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;

    let res = app.post_json("/v1/workstations", &alice, &valid_body("trainer")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let created = one(&app, &alice, "workstation.create", &id).await;
    assert_eq!(created["actor"]["name"], "alice");
    assert_eq!(created["actor"]["credential"], format!("token {}", &alice[..12]));
    assert_eq!(created["object"], json!({ "kind": "workstation", "id": id }));
    assert_eq!(created["outcome"], "succeeded");
    assert_eq!(created["status"], 201);
    assert_eq!(created["address"], "127.0.0.1");
    assert_eq!(created["requestId"], request_id);
    assert!(created.get("project").is_none(), "{created}");
    assert!(created["at"].as_str().unwrap().ends_with('Z'));

    // A check that stores nothing changes nothing: no record.
    let res = app
        .post_json("/v1/workstations?validateOnly=true", &alice, &valid_body("dry-run"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    // A refused create is recorded with why.
    let res = app.post_json("/v1/workstations", &alice, &valid_body("trainer")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 409);
    let creates = records(&app, &alice, "?action=workstation.create").await;
    assert_eq!(creates.len(), 2, "{creates:#?}");
    assert_eq!(creates[0]["outcome"], "refused");
    assert_eq!(creates[0]["status"], 409);
    assert!(creates[0]["detail"].as_str().unwrap().contains("trainer"), "{}", creates[0]);
    assert!(creates[0].get("object").is_none(), "nothing was made: {}", creates[0]);

    // Provisioned, it is stopped: a stop is refused, and recorded so.
    app.wait_for_status(&alice, &id, "stopped", Duration::from_secs(10)).await;
    let refused = app.post(&format!("/v1/workstations/{id}/stop"), &alice).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 409);
    // A retried request (the same Idempotency-Key) is one change: one record.
    for _ in 0..2 {
        let res = app
            .post(&format!("/v1/workstations/{id}/launch"), &alice)
            .header("idempotency-key", "launch-once")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 202);
    }
    assert_eq!(one(&app, &alice, "workstation.launch", &id).await["outcome"], "succeeded");
    app.wait_for_status(&alice, &id, "running", Duration::from_secs(10)).await;
    app.act_ok(&alice, &id, "stop").await;
    app.wait_for_status(&alice, &id, "stopped", Duration::from_secs(10)).await;
    let stops = records(&app, &alice, &format!("?action=workstation.stop&object={id}")).await;
    let outcomes: Vec<&str> = stops.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["succeeded", "refused"], "newest first");
    assert_eq!(stops[1]["status"], 409);

    let res = app
        .client
        .patch(app.url(&format!("/v1/workstations/{id}")))
        .bearer_auth(&alice)
        .json(&json!({ "configuration": { "cpuCores": 16 } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "{}", res.text().await.unwrap());
    assert_eq!(one(&app, &alice, "workstation.reconfigure", &id).await["outcome"], "succeeded");

    app.delete_and_wait(&alice, &id).await;
    assert_eq!(one(&app, &alice, "workstation.delete", &id).await["status"], 202);

    // Nobody identified: answered 401, nothing recorded.
    let res = app.client.post(app.url("/v1/workstations")).json(&valid_body("anon")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
    // Reads are not changes.
    let all = records(&app, &alice, "").await;
    assert_eq!(
        actions(&all),
        [
            "workstation.delete",
            "workstation.reconfigure",
            "workstation.stop",
            "workstation.launch",
            "workstation.stop",
            "workstation.create",
            "workstation.create"
        ]
    );
}

#[tokio::test]
async fn a_create_in_a_project_is_recorded_as_the_projects() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let res = app.post_json("/v1/projects", &alice, &json!({ "name": "render" })).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let project = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut body = valid_body("farm");
    body["project"] = json!("render");
    let res = app.post_json("/v1/workstations", &alice, &body).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let created = one(&app, &alice, "workstation.create", &id).await;
    assert_eq!(created["project"], project, "{created}");
    assert_eq!(created["outcome"], "succeeded");
}

#[tokio::test]
async fn a_user_reads_their_own_records_and_an_admin_reads_everyones() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    let carol = app.token_for("carol").await;
    let id = app.create(&alice, &valid_body("mine")).await;
    app.create(&bob, &valid_body("his")).await;

    // Bob tries Alice's workstation: 404 to him, recorded.
    let res = app.post(&format!("/v1/workstations/{id}/stop"), &bob).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let bobs = records(&app, &bob, "").await;
    assert_eq!(actions(&bobs), ["workstation.stop", "workstation.create"]);
    assert!(bobs.iter().all(|r| r["actor"]["name"] == "bob"), "{bobs:#?}");
    assert_eq!(bobs[0]["outcome"], "refused");
    // Alice reads what she did, and what was tried on her workstation.
    let alices = records(&app, &alice, "").await;
    assert_eq!(actions(&alices), ["workstation.stop", "workstation.create"]);
    assert_eq!(alices[0]["actor"]["name"], "bob");
    // Filtering by another's name shows nothing of theirs.
    assert!(records(&app, &bob, "?actor=alice").await.is_empty());

    // An admin of the instance reads everything, filtered and paged.
    let user = store::find_user(&app.state.pool, "carol").await.unwrap().unwrap();
    store::set_admin(&app.state.pool, user.id, true).await.unwrap();
    assert_eq!(records(&app, &carol, "").await.len(), 3);
    assert_eq!(records(&app, &carol, "?actor=alice").await.len(), 1);
    assert_eq!(records(&app, &carol, "?outcome=refused").await.len(), 1);
    let first = app.get_json("/v1/audit?limit=2", &carol).await;
    assert_eq!(first["records"].as_array().unwrap().len(), 2);
    let token = first["nextPageToken"].as_str().expect("a next page");
    let second = app.get_json(&format!("/v1/audit?limit=2&pageToken={token}"), &carol).await;
    assert_eq!(second["records"].as_array().unwrap().len(), 1);
    assert!(second.get("nextPageToken").is_none());
    assert!(second["records"][0]["id"].as_i64() < first["records"][1]["id"].as_i64());
    let now = app::domain::time::format_utc_millis(app::backend::usage::now_millis() + 60_000);
    assert!(records(&app, &carol, &format!("?from={now}")).await.is_empty());
    assert_eq!(records(&app, &carol, &format!("?to={now}")).await.len(), 3);
}

#[tokio::test]
async fn bad_filters_are_each_named() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let res = app
        .get("/v1/audit?action=workstation.explode&outcome=maybe&limit=0&from=yesterday&pageToken=zz", &alice)
        .send()
        .await
        .unwrap();
    let body = problem(res, 400).await;
    let pointers: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    for field in ["#/action", "#/outcome", "#/limit", "#/from", "#/pageToken"] {
        assert!(pointers.contains(&field), "{field} in {body}");
    }
    let res = app.client.get(app.url("/v1/audit")).send().await.unwrap();
    problem(res, 401).await;
}

#[tokio::test]
async fn project_admins_read_their_projects_records_and_members_only_their_own() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    let res = app.post_json("/v1/projects", &alice, &json!({ "name": "ml-team" })).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let project = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let created = one(&app, &alice, "project.create", &project.to_string()).await;
    assert_eq!(created["project"], project);

    let put = |user: &'static str, role: &'static str| {
        app.client
            .put(app.url(&format!("/v1/projects/{project}/members/{user}")))
            .bearer_auth(&alice)
            .json(&json!({ "role": role }))
            .send()
    };
    assert_eq!(put("bob", "viewer").await.unwrap().status().as_u16(), 200);
    let added = one(&app, &alice, "member.set", "bob").await;
    assert_eq!(added["detail"], "role viewer");
    assert_eq!(added["project"], project);

    // A viewer's create is refused, and the project's owner reads that.
    let mut body = valid_body("bobs");
    body["project"] = json!("ml-team");
    let res = app.post_json("/v1/workstations", &bob, &body).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let refused = records(&app, &alice, &format!("?project={project}&actor=bob")).await;
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(refused[0]["outcome"], "refused");
    assert!(refused[0]["detail"].as_str().unwrap().contains("member role"), "{}", refused[0]);
    // The viewer reads only what he did himself.
    assert_eq!(actions(&records(&app, &bob, "").await), ["workstation.create"]);

    // Made an admin, he reads all of the project's.
    assert_eq!(put("bob", "admin").await.unwrap().status().as_u16(), 200);
    let seen = records(&app, &bob, "?project=ml-team").await;
    assert_eq!(
        actions(&seen),
        ["member.set", "workstation.create", "member.set", "project.create"],
        "{seen:#?}"
    );

    let res = app
        .client
        .delete(app.url(&format!("/v1/projects/{project}/members/bob")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(one(&app, &alice, "member.remove", "bob").await["outcome"], "succeeded");
    let res = app.client.delete(app.url("/v1/projects/ml-team")).bearer_auth(&alice).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 204);
    let deleted = one(&app, &alice, "project.delete", "ml-team").await;
    assert_eq!(deleted["project"], project, "the project is named though it is gone");
}

#[tokio::test]
async fn signing_in_and_out_through_the_page_is_recorded_and_a_failed_sign_in_too() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let admin = app.token_for("root").await;
    let user = store::find_user(&app.state.pool, "root").await.unwrap().unwrap();
    store::set_admin(&app.state.pool, user.id, true).await.unwrap();

    let page = app.client.get(app.url("/sign-in")).send().await.unwrap().text().await.unwrap();
    let action = page.split("action=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
    let sign_in = |token: String| {
        app.client
            .post(app.url(&action))
            .header("accept", "text/html")
            .header("referer", app.url("/sign-in"))
            .form(&[("token", token)])
            .send()
    };
    let wrong = "atl_wrongwrongwrongwrongwrongwrongwr".to_owned();
    assert_eq!(sign_in(wrong.clone()).await.unwrap().status().as_u16(), 302);
    let res = sign_in(alice.clone()).await.unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    let signed_in = records(&app, &alice, "?action=session.sign_in").await;
    assert_eq!(signed_in.len(), 1, "alice reads her own sign-in only: {signed_in:#?}");
    assert_eq!(signed_in[0]["outcome"], "succeeded");
    assert_eq!(signed_in[0]["actor"]["credential"], format!("token {}", &alice[..12]));
    let all = records(&app, &admin, "?action=session.sign_in").await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1]["outcome"], "refused");
    assert!(all[1]["actor"].get("name").is_none(), "nobody was identified: {}", all[1]);
    assert_eq!(all[1]["actor"]["credential"], format!("token {}", &wrong[..12]));
    assert!(all[1]["detail"].as_str().unwrap().contains("not valid"));

    // A change through the page: the session is the credential.
    let home = app.client.get(app.url("/")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(home.status().as_u16(), 200);
    let out = page_form_action(&home.text().await.unwrap(), "sign_out");
    let res = app
        .client
        .post(app.url(&out))
        .header("cookie", &cookie)
        .header("accept", "text/html")
        .header("referer", app.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 302);
    let signed_out = records(&app, &alice, "?action=session.sign_out").await;
    assert_eq!(signed_out.len(), 1, "{signed_out:#?}");
    assert_eq!(signed_out[0]["actor"]["credential"], "session");
    assert_eq!(signed_out[0]["actor"]["name"], "alice");
}

/// The action of the page's form whose URL names `server_fn`.
fn page_form_action(page: &str, server_fn: &str) -> String {
    page.split("action=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|action| action.contains(server_fn))
        .unwrap_or_else(|| panic!("a form posting to {server_fn}"))
        .to_owned()
}

#[tokio::test]
async fn records_older_than_the_retention_are_trimmed() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    app.create(&alice, &valid_body("old")).await;
    app.create(&alice, &valid_body("new")).await;
    let oldest = records(&app, &alice, "").await[1]["id"].as_i64().unwrap();
    let backdate = "UPDATE audit_log SET at = '2020-01-01T00:00:00.000Z' WHERE id = $1";
    match &app.state.pool {
        store::Db::Sqlite(pool, _) => sqlx::query(backdate).bind(oldest).execute(pool).await.map(|_| ()),
        store::Db::Postgres(pool) => sqlx::query(backdate).bind(oldest).execute(pool).await.map(|_| ()),
    }
    .unwrap();
    assert_eq!(store::trim_audit(&app.state.pool, 30).await.unwrap(), 1);
    let left = records(&app, &alice, "").await;
    assert_eq!(left.len(), 1);
    assert_ne!(left[0]["id"], oldest);
}

#[tokio::test]
async fn a_create_through_the_page_is_recorded_with_the_session_and_a_refused_one_with_why() {
    let app = TestApp::spawn().await;
    let session = crate::pages::session_for(&app, "alice").await;
    let cookie = format!("atelier_session={session}");
    let alice = app.token_for("alice").await;
    let home = app.client.get(app.url("/")).header("cookie", &cookie).send().await.unwrap();
    let create = page_form_action(&home.text().await.unwrap(), "create_workstation");
    let post = |name: &'static str| {
        app.client
            .post(app.url(&create))
            .header("cookie", &cookie)
            .header("accept", "text/html")
            .header("referer", app.url("/"))
            .form(&[
                ("name", name),
                ("cpu_cores", "8"),
                ("memory_gb", "32"),
                ("gpu", "NVIDIA RTX A5000"),
                ("storage_gb", "512"),
                ("region", "us-west-2"),
            ])
            .send()
    };
    assert_eq!(post("from-page").await.unwrap().status().as_u16(), 302);
    assert_eq!(post("Not A Name!").await.unwrap().status().as_u16(), 302);

    let creates = records(&app, &alice, "?action=workstation.create").await;
    assert_eq!(creates.len(), 2, "{creates:#?}");
    assert_eq!(creates[0]["outcome"], "refused");
    assert!(creates[0]["detail"].as_str().unwrap().contains("#/name"), "{}", creates[0]);
    assert_eq!(creates[1]["outcome"], "succeeded");
    assert_eq!(creates[1]["actor"]["credential"], "session");
    assert_eq!(creates[1]["address"], "127.0.0.1");
    let id = creates[1]["object"]["id"].as_str().unwrap();
    let listed = app.get_json("/v1/workstations", &alice).await;
    assert_eq!(listed["workstations"][0]["id"], id);
}

/// Posts the form of `page` (read with `cookie`) that goes to `server_fn`,
/// as a browser without JavaScript would; the answer's status.
async fn post_page_form(
    app: &TestApp,
    page: &str,
    cookie: &str,
    server_fn: &str,
    form: &[(&str, &str)],
) -> u16 {
    let html = app.client.get(app.url(page)).header("cookie", cookie).send().await.unwrap();
    let action = page_form_action(&html.text().await.unwrap(), server_fn);
    let res = app
        .client
        .post(app.url(&action))
        .header("cookie", cookie)
        .header("accept", "text/html")
        .header("referer", app.url(page))
        .form(form)
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

/// A session cookie for `user`.
async fn session_of(app: &TestApp, user: &str) -> String {
    let found = store::find_user(&app.state.pool, user).await.unwrap().unwrap();
    let secret =
        app::backend::auth::start_session(&app.state.pool, &found, Duration::from_secs(600)).await.unwrap();
    format!("{}={secret}", app::backend::auth::SESSION_COOKIE)
}

#[tokio::test]
async fn tokens_and_users_changed_on_the_pages_are_recorded_and_only_admins_manage_users() {
    let app = TestApp::spawn().await;
    let alice = app.token_for("alice").await;
    let bob = app.token_for("bob").await;
    let admin = app.token_for("root").await;
    let root = store::find_user(&app.state.pool, "root").await.unwrap().unwrap();
    store::set_admin(&app.state.pool, root.id, true).await.unwrap();
    let (alices, roots) = (session_of(&app, "alice").await, session_of(&app, "root").await);

    // Alice makes a token on her account page, then revokes it there.
    let made = post_page_form(&app, "/account", &alices, "create_token", &[("label", "laptop")]).await;
    assert_eq!(made, 302);
    let tokens = app::backend::accounts::token_views(&app.state.pool, Some("alice")).await.unwrap();
    let laptop = tokens.iter().find(|t| t.label.as_deref() == Some("laptop")).expect("the token made");
    let record = one(&app, &alice, "token.create", &laptop.prefix).await;
    assert_eq!(record["actor"]["credential"], "session");
    assert_eq!(record["outcome"], "succeeded");
    let revoke = [("prefix", laptop.prefix.as_str())];
    assert_eq!(post_page_form(&app, "/account", &alices, "revoke_token", &revoke).await, 302);
    assert_eq!(one(&app, &alice, "token.revoke", &laptop.prefix).await["outcome"], "succeeded");
    // Bob's token is not hers to revoke: refused, and still working.
    let bobs = [("prefix", &bob[..12])];
    assert_eq!(post_page_form(&app, "/account", &alices, "revoke_token", &bobs).await, 302);
    assert_eq!(one(&app, &alice, "token.revoke", &bob[..12]).await["outcome"], "refused");
    assert_eq!(app.get("/v1/workstations", &bob).send().await.unwrap().status().as_u16(), 200);

    // Alice is no admin: disabling bob is refused (the form is root's page's).
    let disable = [("name", "bob"), ("disabled", "yes")];
    let html = app.client.get(app.url("/admin")).header("cookie", &roots).send().await.unwrap();
    let action = page_form_action(&html.text().await.unwrap(), "set_user_disabled");
    let as_alice = app
        .client
        .post(app.url(&action))
        .header("cookie", &alices)
        .header("accept", "text/html")
        .header("referer", app.url("/admin"))
        .form(&disable)
        .send()
        .await
        .unwrap();
    assert_eq!(as_alice.status().as_u16(), 302);
    assert_eq!(app.get("/v1/workstations", &bob).send().await.unwrap().status().as_u16(), 200);
    // Root disables bob: his token stops at once; both attempts are recorded.
    assert_eq!(post_page_form(&app, "/admin", &roots, "set_user_disabled", &disable).await, 302);
    assert_eq!(app.get("/v1/workstations", &bob).send().await.unwrap().status().as_u16(), 401);
    let tried = records(&app, &admin, "?action=user.disable&object=bob").await;
    let outcomes: Vec<(&str, &str)> = tried
        .iter()
        .map(|r| (r["actor"]["name"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(outcomes, [("root", "succeeded"), ("alice", "refused")]);
    assert!(tried[1]["detail"].as_str().unwrap().contains("Only an admin"), "{}", tried[1]);
}

#[tokio::test]
async fn a_cancel_a_retry_and_a_rename_leave_one_record_each() {
    let app =
        TestApp::spawn_with(|o| o.provisioner = server::ProvisionerChoice::simulated(Duration::from_secs(3)))
            .await;
    let alice = app.token_for("alice").await;
    let id = app.create(&alice, &valid_body("slow")).await;
    let res = app.post(&format!("/v1/workstations/{id}/cancel"), &alice).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 202);
    app.wait_for_status(&alice, &id, "error", Duration::from_secs(10)).await;
    let res = app.post(&format!("/v1/workstations/{id}/retry"), &alice).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let cancelled = one(&app, &alice, "workstation.cancel", &id).await;
    assert_eq!((cancelled["outcome"].as_str(), cancelled["status"].as_u64()), (Some("succeeded"), Some(202)));
    let retried = one(&app, &alice, "workstation.retry", &id).await;
    assert_eq!(retried["actor"]["name"], "alice");
    assert_eq!(retried["outcome"], "succeeded");

    let res = app.post_json("/v1/projects", &alice, &json!({ "name": "old-name" })).send().await.unwrap();
    let project = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = app
        .client
        .patch(app.url(&format!("/v1/projects/{project}")))
        .bearer_auth(&alice)
        .json(&json!({ "name": "new-name" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let renamed = one(&app, &alice, "project.rename", &project.to_string()).await;
    assert_eq!(renamed["outcome"], "succeeded");
    assert_eq!(renamed["project"], project);
}

#[tokio::test]
async fn on_postgresql_records_are_written_while_another_process_holds_the_write_lock() {
    let app = TestApp::spawn().await;
    let store::Db::Postgres(_) = &app.state.pool else {
        eprintln!("SQLite has one write lock for every write (set ATELIER_TEST_POSTGRES)");
        return;
    };
    let alice = app.token_for("alice").await;
    let other = app.hold_write_lock().await;
    // A create refused for its input takes no lock; its record, written
    // under the audit log's own lock, does not wait for the writes either.
    let res = app.post_json("/v1/workstations", &alice, &json!({ "name": "" })).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let read =
        tokio::time::timeout(Duration::from_secs(3), records(&app, &alice, "?action=workstation.create"));
    let found = read.await.expect("the record waited for the write lock");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["outcome"], "refused");
    assert_eq!(found[0]["status"], 400);
    other.release().await;
    // Writes go on as before.
    app.create(&alice, &valid_body("after")).await;
}
