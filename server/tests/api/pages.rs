//! The pages and their server functions, over HTTP without a browser.

use serde_json::Value;

use crate::helpers::TestApp;

/// A session cookie's value for a new user `name`.
pub async fn session_for(app: &TestApp, name: &str) -> String {
    let user = app::backend::store::create_user(&app.state.pool, name).await.unwrap();
    app::backend::auth::start_session(&app.state.pool, &user, std::time::Duration::from_secs(3600))
        .await
        .unwrap()
}

#[tokio::test]
async fn home_redirects_to_sign_in_without_a_session() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 302);
    assert_eq!(res.headers()["location"], "/sign-in");
}

#[tokio::test]
async fn sign_in_sets_an_httponly_strict_cookie_and_home_lists_workstations() {
    let app = TestApp::spawn().await;
    let token = app.token_for("alice").await;
    let created = app
        .post_json("/v1/workstations", &token, &crate::helpers::valid_body("from-api"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);

    let page = app.client.get(app.url("/sign-in")).send().await.unwrap().text().await.unwrap();
    let action = page
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("sign-in form action")
        .to_owned();

    // A bad token stays on the page with the error in the URL.
    let res = app
        .client
        .post(app.url(&action))
        .header("accept", "text/html")
        .header("referer", app.url("/sign-in"))
        .form(&[("token", "atl_wrongwrongwrongwrongwrongwrongwr")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("__err="), "{location}");
    assert!(res.headers().get("set-cookie").is_none());
    let page = app.client.get(&location).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("That token is not valid"), "error shown on the page");

    let res = app
        .client
        .post(app.url(&action))
        .header("accept", "text/html")
        .header("referer", app.url("/sign-in"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 302);
    assert_eq!(res.headers()["location"], "/");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("atelier_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"));
    assert!(!cookie.contains(&token), "the token itself is never the cookie");
    let session = cookie.split(';').next().unwrap().to_owned();

    let res = match app.client.get(app.url("/")).header("cookie", &session).send().await {
        Ok(res) => res,
        // Seen rarely under load: say what the database was doing.
        Err(e) => panic!("home: {e:?}\n{}", app.database_activity().await),
    };
    assert_eq!(res.status().as_u16(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("from-api"), "server-rendered list holds the workstation: {html}");
    assert!(html.contains("alice"));
    assert!(html.contains("NVIDIA H100 80GB"), "catalog pickers are filled");

    // The session cookie may read the API (EventSource cannot send headers)...
    let res = app.client.get(app.url("/v1/workstations")).header("cookie", &session).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list["workstations"][0]["name"], "from-api");
    // ...but never write through it: writes need a token.
    let res = app
        .client
        .post(app.url("/v1/workstations"))
        .header("cookie", &session)
        .json(&crate::helpers::valid_body("via-cookie"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
}

#[tokio::test]
async fn unknown_pages_are_404_in_the_app_style() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/no/such/page")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert!(res.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn pages_carry_protective_headers_and_refuse_cross_site_posts() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/sign-in")).send().await.unwrap();
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["referrer-policy"], "same-origin");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.starts_with("default-src 'self'; script-src 'self' 'nonce-"), "{csp}");
    assert!(csp.ends_with("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).unwrap().to_owned();
    let page = res.text().await.unwrap();
    // The inline hydration scripts carry this response's nonce; no script goes without.
    let scripts = page.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(page.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "{page}");
    let action = page.split("action=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();

    let token = app.token_for("alice").await;
    let post = |origin: &str| {
        app.client
            .post(app.url(&action))
            .header("accept", "text/html")
            .header("origin", origin)
            .form(&[("token", token.as_str())])
            .send()
    };
    // Another site's form cannot act on the session.
    let res = post("http://evil.example").await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
    assert!(res.headers().get("set-cookie").is_none());
    let res = post("null").await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
    // The same site can.
    let res = post(&app.base).await.unwrap();
    assert_eq!(res.status().as_u16(), 302);
    assert!(res.headers().get("set-cookie").is_some());
}

#[tokio::test]
async fn a_server_failure_is_a_500_page_in_the_app_style() {
    let app = TestApp::spawn().await;
    let cookie = session_for(&app, "alice").await;
    let home = || {
        app.client
            .get(app.url("/"))
            .header("cookie", format!("{}={cookie}", app::backend::auth::SESSION_COOKIE))
            .send()
    };
    let first = home().await.unwrap();
    let status = first.status().as_u16();
    assert_eq!(status, 200, "{}", first.text().await.unwrap());
    // The members table goes away: the page cannot know whose projects to show.
    app.state
        .pool
        .execute_script("ALTER TABLE project_members RENAME TO project_members_gone")
        .await
        .unwrap();
    let res = home().await.unwrap();
    assert_eq!(res.status().as_u16(), 500);
    let page = res.text().await.unwrap();
    assert!(page.contains("Something went wrong on our side"), "{page}");
    assert!(page.contains("Try again"));
    assert!(!page.contains("project_members"), "the cause stays in the log");
}

/// Signs in with `token` through the page's form, which must refuse it
/// without a session; the page it goes back to.
async fn refused_sign_in(app: &TestApp, token: &str) -> String {
    let page = app.client.get(app.url("/sign-in")).send().await.unwrap().text().await.unwrap();
    let action = page.split("action=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
    let res = app
        .client
        .post(app.url(&action))
        .header("accept", "text/html")
        .header("referer", app.url("/sign-in"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 302);
    assert!(res.headers().get("set-cookie").is_none(), "no session for this token");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    app.client.get(&location).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn a_read_only_or_project_limited_token_cannot_open_a_session() {
    use app::backend::auth::{issue_token_in, Scope};
    let app = TestApp::spawn().await;
    let user = app::backend::store::create_user(&app.state.pool, "alice").await.unwrap();
    let read = issue_token_in(&app.state.pool, &user, None, Scope::Read, None, None).await.unwrap().token;
    let page = refused_sign_in(&app, &read).await;
    assert!(page.contains("That token may only read"), "{page}");

    let full = app.token_for("alice").await;
    let res =
        app.post_json("/v1/projects", &full, &serde_json::json!({ "name": "team" })).send().await.unwrap();
    let project: serde_json::Value = res.json().await.unwrap();
    let limited = issue_token_in(&app.state.pool, &user, None, Scope::Full, None, project["id"].as_i64())
        .await
        .unwrap()
        .token;
    let page = refused_sign_in(&app, &limited).await;
    assert!(page.contains("limited to one project"), "{page}");
}

/// Building a router (as each test's server does, several at once in this
/// process) must not stall a page being rendered meanwhile.
#[tokio::test]
async fn building_routers_does_not_stall_pages_being_rendered() {
    let app = TestApp::spawn().await;
    let cookie = session_for(&app, "alice").await;
    let building = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let builder = std::thread::spawn({
        let (state, building) = (app.state.clone(), building.clone());
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let _entered = runtime.enter();
            while building.load(std::sync::atomic::Ordering::Relaxed) {
                drop(server::router(state.clone()));
            }
        }
    });
    for _ in 0..20 {
        let res = app
            .client
            .get(app.url("/"))
            .header("cookie", format!("{}={cookie}", app::backend::auth::SESSION_COOKIE))
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await;
        let page = match res {
            Ok(res) => res.text().await,
            Err(e) => Err(e),
        };
        if let Err(e) = page {
            building.store(false, std::sync::atomic::Ordering::Relaxed);
            panic!("the home page stalled while routers were built: {e}");
        }
    }
    building.store(false, std::sync::atomic::Ordering::Relaxed);
    builder.join().unwrap();
}

/// The values a page sends for hydration, one per resource read in it.
fn resolved_resources(html: &str) -> Vec<&str> {
    html.split("__RESOLVED_RESOURCES[")
        .skip(1)
        .filter_map(|entry| entry.split_once("] = "))
        .map(|(_, value)| value.split("</script>").next().unwrap_or(value).trim_end_matches(';'))
        .collect()
}

/// The islands of a page (the parts that hydrate), by component name, each
/// with its props as sent (JSON, escaped for the attribute).
fn islands(html: &str) -> Vec<(&str, &str)> {
    html.split("<leptos-island data-component=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once('"').unwrap_or((rest, ""));
            // The macro appends a hash of the island's path: `LiveList_1234`.
            let name = name.rsplit_once('_').map_or(name, |(name, _)| name);
            let props = rest
                .strip_prefix(" data-props=\"")
                .and_then(|p| p.split_once('"'))
                .map_or("", |(props, _)| props);
            (name, props)
        })
        .collect()
}

/// A page sends the browser only what its islands need: no resource of the
/// page's own (those are read and rendered on the server), and each island
/// once, with its data once. The signed-in frame's `<Suspense>` walks its
/// children again until nothing in them is pending; resources made in there
/// were made once per walk, each calling its server function (up to three
/// copies of the list on the home page), which is why pages make theirs
/// before it.
#[tokio::test]
async fn a_page_sends_each_island_once_and_no_resource() {
    let app = TestApp::spawn().await;
    // An admin of the instance with a project, so every page renders whole.
    let carol = app::backend::store::create_user_as(&app.state.pool, "carol", true).await.unwrap();
    let session =
        app::backend::auth::start_session(&app.state.pool, &carol, std::time::Duration::from_secs(3600))
            .await
            .unwrap();
    let cookie = format!("atelier_session={session}");
    let token = app.token_for("carol").await;
    let id = app.create(&token, &crate::helpers::valid_body("read-once")).await;
    let res = app
        .post_json("/v1/projects", &token, &serde_json::json!({ "name": "read-team" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let pages: [(String, &[&str]); 6] = [
        ("/".to_owned(), &["CreatePanel", "LiveList", "ToastRegion"]),
        (format!("/workstations/{id}"), &["WorkstationView", "ToastRegion"]),
        ("/audit".into(), &["ToastRegion"]),
        ("/account".into(), &["AccountForms", "ToastRegion"]),
        ("/admin".into(), &["AdminForms", "ToastRegion"]),
        ("/projects/read-team".into(), &["ProjectForms", "ToastRegion"]),
    ];
    for (path, expected) in pages {
        for _ in 0..3 {
            let res = app.client.get(app.url(&path)).header("cookie", &cookie).send().await.unwrap();
            assert_eq!(res.status().as_u16(), 200, "{path}");
            let html = res.text().await.unwrap();
            let sent = resolved_resources(&html);
            assert!(sent.is_empty(), "{path}: resources were sent: {sent:?}");
            let found = islands(&html);
            let mut names: Vec<&str> = found.iter().map(|(name, _)| *name).collect();
            names.sort_unstable();
            let mut expected = expected.to_vec();
            expected.sort_unstable();
            assert_eq!(names, expected, "{path}: the islands");
            let with_workstation = found.iter().filter(|(_, props)| props.contains("read-once")).count();
            if path == "/" || path.starts_with("/workstations/") {
                assert_eq!(with_workstation, 1, "{path}: the workstation is sent once: {found:?}");
            }
        }
    }
}

/// The site's files go out as brotli (or gzip) to browsers that take it, are
/// asked for again on each use (`no-cache`: their names do not change from
/// one build to the next) and answer 304 while unchanged; other addresses are
/// the app's 404 page.
#[tokio::test]
async fn site_files_are_sent_compressed_and_checked_on_each_use() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/atelier.js"), "export default function init() {}\n").unwrap();
    // What `cargo leptos build --precompress` writes beside it (the bytes are
    // sent as they are; the client here does not decode them).
    std::fs::write(site.path().join("pkg/atelier.js.br"), b"brotli bytes").unwrap();
    let root = site.path().display().to_string();
    let app = TestApp::spawn_with(|o| o.site_root = root).await;

    let res = app
        .client
        .get(app.url("/pkg/atelier.js"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-encoding"], "br");
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert!(res.headers()["vary"].to_str().unwrap().contains("accept-encoding"));
    let modified = res.headers()["last-modified"].clone();
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"brotli bytes");

    let res = app.client.get(app.url("/pkg/atelier.js")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers().get("content-encoding").is_none(), "plain to a client that takes no encoding");
    assert!(res.text().await.unwrap().contains("export default"));

    let res = app
        .client
        .get(app.url("/pkg/atelier.js"))
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 304, "unchanged: nothing sent again");

    let res = app.client.get(app.url("/pkg/missing.js")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert!(res.text().await.unwrap().contains("Page not found"));
    let res = app.client.get(app.url("/pkg/")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404, "no directory listings");
}

/// Gunzips a response body.
fn gunzip(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text).expect("a gzip body");
    text
}

/// Pages go out compressed to browsers that take it and plain to clients
/// that do not; JSON answers and event streams are never compressed (an
/// event has to reach the client when it is sent).
#[tokio::test]
async fn pages_are_compressed_for_browsers_that_take_it_but_json_and_event_streams_never() {
    let app = TestApp::spawn().await;
    let token = app.token_for("zip").await;
    let id = app.create(&token, &crate::helpers::valid_body("zip-1")).await;

    let res = app.client.get(app.url("/sign-in")).send().await.unwrap();
    assert!(res.headers().get("content-encoding").is_none(), "plain to a client that takes no encoding");
    let plain = res.text().await.unwrap();
    let res = app.client.get(app.url("/sign-in")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert!(res.headers()["vary"].to_str().unwrap().contains("accept-encoding"));
    assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("'nonce-"));
    let page = gunzip(&res.bytes().await.unwrap());
    // The same page (only its nonce differs from one response to the next).
    assert!(page.contains("API token"), "{page}");
    assert_eq!(page.len(), plain.len());
    let res = app.client.get(app.url("/sign-in")).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "br");
    // The app's 404 page too.
    let res =
        app.client.get(app.url("/no/such/page")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert!(gunzip(&res.bytes().await.unwrap()).contains("Page not found"));

    let res = app
        .get(&format!("/v1/workstations/{id}"), &token)
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers().get("content-encoding").is_none(), "JSON goes out as it is");
    assert_eq!(res.json::<Value>().await.unwrap()["id"], id.as_str());
    let res =
        app.get("/v1/workstations/ws-none", &token).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert!(res.headers().get("content-encoding").is_none(), "problem documents go out as they are");
    assert_eq!(res.json::<Value>().await.unwrap()["status"], 404);

    let res = app
        .get("/v1/events", &token)
        .header("accept-encoding", "gzip, br")
        .timeout(std::time::Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    assert!(res.headers().get("content-encoding").is_none(), "an event stream goes out as it is written");
}
