//! The terminal WebSocket against a real container engine (see docker.rs):
//! a shell that computes, resizes, survives a dropped connection and replays
//! what was missed; who may open it.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::docker::{engine, settled, small, spawn};
use crate::helpers::{problem, TestApp};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A terminal connection and the output read from it.
struct Terminal {
    socket: Socket,
    session: String,
    /// Output bytes read, counting from the session's start.
    offset: u64,
    seen: String,
    exit: Option<i64>,
}

impl Terminal {
    async fn open(app: &TestApp, token: &str, id: &str, query: &str) -> Self {
        let url = format!("{}/v1/workstations/{id}/terminal{query}", app.base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("the terminal opens");
        let hello = match socket.next().await {
            Some(Ok(Message::Text(text))) => serde_json::from_str::<Value>(&text).unwrap(),
            other => panic!("expected the session message, got {other:?}"),
        };
        assert_eq!(hello["type"], "session");
        Self {
            socket,
            session: hello["id"].as_str().unwrap().to_owned(),
            offset: hello["offset"].as_u64().unwrap(),
            seen: String::new(),
            exit: None,
        }
    }

    async fn type_in(&mut self, keys: &str) {
        self.socket.send(Message::Binary(keys.as_bytes().to_vec().into())).await.unwrap();
    }

    async fn control(&mut self, message: Value) {
        self.socket.send(Message::Text(message.to_string().into())).await.unwrap();
    }

    /// Reads until the output contains `what` (or the shell exits).
    async fn wait_for(&mut self, what: &str) -> &str {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.seen.contains(what) && self.exit.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.socket.next()).await {
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    self.offset += bytes.len() as u64;
                    self.seen.push_str(&String::from_utf8_lossy(&bytes));
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    let control: Value = serde_json::from_str(&text).unwrap();
                    if control["type"] == "exit" {
                        self.exit = control["code"].as_i64();
                    }
                }
                Ok(Some(Ok(_))) => {}
                Ok(other) => panic!("the terminal ended before {what:?}: {other:?}; so far: {}", self.seen),
                Err(_) => panic!("{what:?} never came; so far: {}", self.seen),
            }
        }
        &self.seen
    }
}

/// A running container workstation of `ada`'s.
async fn running(app: &TestApp, name: &str) -> (String, String) {
    let token = app.token_for("ada").await;
    let id = app.create(&token, &small(name, "NVIDIA L4")).await;
    settled(app, &token, &id, "stopped").await;
    app.act_ok(&token, &id, "launch").await;
    settled(app, &token, &id, "running").await;
    (token, id)
}

#[tokio::test]
async fn a_terminal_computes_resizes_and_survives_a_dropped_connection() {
    let Some((url, _docker)) = engine() else { return };
    let app = spawn(&url).await;
    let (token, id) = running(&app, "shell").await;

    let mut term = Terminal::open(&app, &token, &id, "?cols=80&rows=24").await;
    term.type_in("echo $((6*7))\n").await;
    assert!(term.wait_for("42").await.contains("42"));

    term.control(json!({"type": "resize", "cols": 100, "rows": 30})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    term.type_in("stty size\n").await;
    term.wait_for("30 100").await;

    // Dropped with output still to come: the shell goes on.
    // (What the shell prints differs from what it echoes of the line typed.)
    term.type_in("KEPT=still-here; (sleep 1; echo written-while-$((1+1))-away) &\n").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (session, offset) = (term.session.clone(), term.offset);
    drop(term);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut again = Terminal::open(&app, &token, &id, &format!("?session={session}&offset={offset}")).await;
    assert_eq!(again.session, session);
    assert_eq!(again.offset, offset, "replays from where it stopped");
    again.wait_for("written-while-2-away").await;
    again.type_in("echo \"[$KEPT]\"\n").await;
    again.wait_for("[still-here]").await;

    // `exit` ends the session with its status.
    again.type_in("exit 3\n").await;
    again.wait_for("never printed").await;
    assert_eq!(again.exit, Some(3));
    app.delete_and_wait(&token, &id).await;
}

#[tokio::test]
async fn one_command_without_a_terminal_gives_its_output_and_status() {
    let Some((url, _docker)) = engine() else { return };
    let app = spawn(&url).await;
    let (token, id) = running(&app, "oneshot").await;
    let command = urlencode(r#"["sh","-c","echo out; echo err >&2; exit 7"]"#);
    let mut term = Terminal::open(&app, &token, &id, &format!("?tty=false&command={command}")).await;
    term.control(json!({"type": "eof"})).await;
    term.wait_for("never printed").await;
    assert_eq!(term.exit, Some(7));
    assert!(term.seen.contains("out") && term.seen.contains("err"), "{}", term.seen);
    app.delete_and_wait(&token, &id).await;
}

#[tokio::test]
async fn only_its_owner_opens_a_terminal_and_only_when_it_can() {
    let Some((url, _docker)) = engine() else { return };
    let app = spawn(&url).await;
    let (token, id) = running(&app, "private").await;
    let path = format!("/v1/workstations/{id}/terminal");
    let upgrade = |req: reqwest::RequestBuilder| {
        req.header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    };

    // Another user: as if it did not exist.
    let other = app.token_for("bo").await;
    problem(upgrade(app.get(&path, &other)).send().await.unwrap(), 404).await;
    // A read-only token may not type into it.
    let user = app::backend::store::find_user(&app.state.pool, "ada").await.unwrap().unwrap();
    let read_only = app::backend::auth::issue_token_with(
        &app.state.pool,
        &user,
        None,
        app::backend::auth::Scope::Read,
        None,
    )
    .await
    .unwrap()
    .token;
    problem(upgrade(app.get(&path, &read_only)).send().await.unwrap(), 403).await;
    // A browser session from another site is refused; from this one it opens.
    let cookie =
        app::backend::auth::start_session(&app.state.pool, &user, Duration::from_secs(60)).await.unwrap();
    let with_cookie = |origin: &str| {
        upgrade(app.client.get(app.url(&path)))
            .header("cookie", format!("atelier_session={cookie}"))
            .header("origin", origin.to_owned())
    };
    let body = problem(with_cookie("https://evil.example").send().await.unwrap(), 403).await;
    assert_eq!(body["type"], "/problems/cross-site");
    assert_eq!(with_cookie(&app.base).send().await.unwrap().status().as_u16(), 101);
    // Not a WebSocket request.
    problem(app.get(&path, &token).send().await.unwrap(), 426).await;

    // Not running: 409 naming the status.
    app.act_ok(&token, &id, "stop").await;
    settled(&app, &token, &id, "stopped").await;
    let body = problem(upgrade(app.get(&path, &token)).send().await.unwrap(), 409).await;
    assert_eq!(body["currentStatus"], "stopped");
    app.delete_and_wait(&token, &id).await;
}

#[tokio::test]
async fn simulated_workstations_have_no_terminal() {
    let app = TestApp::spawn().await;
    let token = app.token_for("ada").await;
    let id = app.create(&token, &crate::helpers::valid_body("sim")).await;
    let body = problem(
        app.get(&format!("/v1/workstations/{id}/terminal"), &token)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    assert_eq!(body["type"], "/problems/not-available");
    assert_eq!(body["detail"], "terminals are not available for simulated workstations");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[tokio::test]
async fn an_open_terminal_keeps_its_workstation_from_stopping_as_idle() {
    let Some((url, _docker)) = engine() else { return };
    let options = crate::docker::options(&url);
    let app = TestApp::spawn_with(move |o| {
        o.provisioner = server::ProvisionerChoice::Docker(options);
        o.engine.job_timeout = Duration::from_secs(90);
        o.settings.auto_stop = app::backend::auto_stop::AutoStopPolicy {
            idle_secs: 3,
            running_secs: 0,
            min_secs: 1,
            warn_secs: 300,
        };
    })
    .await;
    let (token, id) = running(&app, "watched").await;
    let term = Terminal::open(&app, &token, &id, "").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(app.get_json(&format!("/v1/workstations/{id}"), &token).await["status"], "running");
    drop(term);
    let closed = Instant::now();
    settled(&app, &token, &id, "stopped").await;
    assert!(
        closed.elapsed() < Duration::from_secs(8),
        "stopped {:?} after the terminal closed",
        closed.elapsed()
    );
    let history = app.get_json(&format!("/v1/workstations/{id}/history"), &token).await;
    let last =
        history["events"].as_array().unwrap().iter().rev().find(|e| e["kind"] == "status").unwrap().clone();
    assert_eq!(last["message"], "Stopped after 3 seconds idle");
    app.delete_and_wait(&token, &id).await;
}

#[tokio::test]
async fn a_revoked_token_closes_its_terminal() {
    let Some((url, _docker)) = engine() else { return };
    let app = spawn(&url).await;
    let (token, id) = running(&app, "revoked").await;
    let user = app::backend::store::find_user(&app.state.pool, "ada").await.unwrap().unwrap();
    let short_lived = app::backend::auth::issue_token(&app.state.pool, &user, None).await.unwrap().token;
    let mut term = Terminal::open(&app, &short_lived, &id, "").await;
    app::backend::auth::revoke_token(&app.state.pool, &short_lived).await.unwrap();
    let said = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match term.socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let control: Value = serde_json::from_str(&text).unwrap();
                    if control["type"] == "unauthorized" {
                        return control;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("closed without saying why: {other:?}"),
            }
        }
    })
    .await
    .expect("closed within the second streams promise");
    assert_eq!(said["type"], "unauthorized");
    app.delete_and_wait(&token, &id).await;
}
