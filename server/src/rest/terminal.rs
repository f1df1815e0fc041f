//! `GET /v1/workstations/{id}/terminal`: a shell in a running workstation
//! over a WebSocket.
//!
//! Frames: binary both ways is the terminal's bytes (keystrokes in, output
//! out). Text frames are JSON: the server first sends
//! `{"type":"session","id","offset"}` (the output that follows starts at that
//! byte offset), `{"type":"offset","offset"}` if output had to be skipped
//! (a connection too slow to keep up), and, when the shell ends,
//! `{"type":"exit","code"}`, or `{"type":"unauthorized"}` when the token is
//! revoked or the browser session ends (the connection then closes); the
//! client may send `{"type":"resize","cols","rows"}` and `{"type":"eof"}`
//! (closes the shell's input). A connection that drops leaves the shell
//! running for `--terminal-keep-secs`: open `?session=<id>&offset=<bytes
//! read>` to get what was missed and carry on.

use std::sync::Arc;
use std::time::Duration;

use app::backend::store::User;
use app::backend::streams::StreamSlot;
use app::backend::terminals::{self, Input, OpenError, Session};
use app::backend::{auth, AppState};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Credential;
use super::openapi::{BadGateway, Conflict, Forbidden, Invalid, NotFound, Unauthorized, UpgradeRequired};
use super::ApiError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(terminal))
}

/// How often the server pings an open terminal (keeps proxies from closing it).
const PING_EVERY: Duration = Duration::from_secs(20);

/// How to open the terminal.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TerminalQuery {
    /// Carry on with this session (from its first `session` message) after a dropped connection.
    session: Option<String>,
    /// With `session`: the bytes of output already read; the rest is sent first.
    offset: Option<u64>,
    /// The terminal's width in columns.
    cols: Option<u16>,
    /// The terminal's height in rows.
    rows: Option<u16>,
    /// A JSON array: the command to run instead of the shell, e.g. `["ls","-l"]`.
    command: Option<String>,
    /// `false` runs without a terminal: output as the program writes it, for one command.
    tty: Option<bool>,
}

/// `GET /v1/workstations/{id}/terminal`
#[utoipa::path(
    get, path = "/workstations/{id}/terminal", tag = "workstations",
    operation_id = "openTerminal",
    params(("id" = String, Path, description = "Workstation id"), TerminalQuery),
    responses(
        (status = 101, description = "A WebSocket: binary frames are the terminal's bytes both ways; text frames \
            are JSON control messages: from the server `session` (`id`, `offset`), `offset` (output skipped: what \
            follows starts there), `exit` (`code`), `unauthorized` (the token was revoked or the session ended) \
            and `error` (`detail`); from the client `resize` (`cols`, `rows`) and `eof`. Authenticated by a token \
            that may write, or by the browser's session cookie when the request's `Origin` is this server's"),
        Invalid,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        UpgradeRequired,
        BadGateway
    )
)]
async fn terminal(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<TerminalQuery>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let user = authenticate(&state, &headers).await?;
    let Path(id) = path.map_err(|_| ApiError::NotFound("no workstation has that id".into()))?;
    let Query(query) = query.map_err(|e| invalid("#", e.body_text()))?;
    // Someone else's workstation is not there, whatever else the request says.
    let owner =
        app::backend::access::workstation_account(&state.pool, &user, &id, app::domain::Permission::Operate)
            .await?;
    if app::backend::workstations::get_state(&state, &owner, &id).await?.is_none() {
        return Err(ApiError::NotFound(format!("you have no workstation with id {id:?}")));
    }
    let upgrade = upgrade.map_err(|_| ApiError::UpgradeRequired)?;
    // Counted with the user's event streams, and closed like them when the
    // token is revoked or the session ends.
    let opener = Credential::of(&headers).map(|c| c.opener());
    let slot = state.streams.open(user.id, opener).ok_or_else(|| ApiError::TooManyRequests {
        detail: format!(
            "you have {} event streams and terminals open, the most one user may; close one",
            state.streams.limit()
        ),
        retry_after_secs: 5,
    })?;
    let (session, from) = match &query.session {
        Some(session_id) => {
            let session = state.terminals.find(session_id, owner.id, &id).ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no open terminal session {session_id:?} on this workstation: it ended or was closed \
                     after no one came back to it; open a new one"
                ))
            })?;
            (session, query.offset)
        }
        None => (open(&state, &owner, &id, &query).await?, None),
    };
    Ok(upgrade.on_upgrade(move |socket| serve(socket, session, from, slot)))
}

fn invalid(pointer: &str, detail: String) -> ApiError {
    ApiError::Validation(vec![app::domain::FieldError::new(pointer, detail)])
}

/// A token that may change things, or a session cookie sent from one of
/// this server's pages (a WebSocket carries cookies cross-site).
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<auth::Principal, ApiError> {
    match Credential::of(headers) {
        Some(Credential::Token(token)) => match auth::authenticate_token_scoped(&state.pool, &token).await? {
            Some((_, auth::Scope::Read)) => Err(ApiError::InsufficientScope),
            Some((user, _)) => Ok(user),
            None => Err(ApiError::Unauthorized {
                detail: "the API token is not valid: unknown, revoked or expired",
                token_presented: true,
            }),
        },
        Some(Credential::Session(cookie)) => {
            if crate::security::same_site(headers) != Some(true) {
                return Err(ApiError::CrossSite);
            }
            auth::session_user(&state.pool, &cookie).await?.map(auth::Principal::from).ok_or(
                ApiError::Unauthorized { detail: "the session ended; sign in again", token_presented: true },
            )
        }
        None => Err(ApiError::Unauthorized {
            detail: "send an API token in the Authorization header: `Authorization: Bearer <token>`",
            token_presented: false,
        }),
    }
}

async fn open(
    state: &AppState,
    user: &User,
    id: &str,
    query: &TerminalQuery,
) -> Result<Arc<Session>, ApiError> {
    let command = match &query.command {
        Some(json) => match serde_json::from_str::<Vec<String>>(json) {
            Ok(words) if !words.is_empty() && words.iter().all(|w| !w.contains('\0')) => Some(words),
            _ => {
                return Err(invalid(
                    "#/command",
                    "must be a JSON array of strings, e.g. [\"ls\",\"-l\"]".into(),
                ))
            }
        },
        None => None,
    };
    let size = match (query.cols, query.rows) {
        (Some(cols), Some(rows)) if cols > 0 && rows > 0 => Some((cols, rows)),
        (None, None) => None,
        _ => return Err(invalid("#/cols", "cols and rows go together, each at least 1".into())),
    };
    terminals::open(state, user, id, command, query.tty.unwrap_or(true), size).await.map_err(|e| match e {
        OpenError::NotFound => ApiError::NotFound(format!("you have no workstation with id {id:?}")),
        OpenError::NotRunning { status, phase, allowed } => ApiError::InvalidTransition {
            detail: match &phase {
                Some(phase) => {
                    format!("a terminal needs a running workstation; this one is {status} and {phase}")
                }
                None => {
                    format!("a terminal needs a running workstation; this one is {status}: launch it first")
                }
            },
            status: status.as_str().to_owned(),
            phase: phase.map(|p| p.as_str().to_owned()),
            allowed: allowed.iter().map(|a| a.as_str().to_owned()).collect(),
        },
        OpenError::NotAvailable(kind) => {
            ApiError::NotAvailable(format!("terminals are not available for {kind} workstations"))
        }
        OpenError::Failed(reason) => ApiError::EngineFailed(reason),
        OpenError::Backend(e) => e.into(),
    })
}

/// A control message from the client.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Control {
    Resize { cols: u16, rows: u16 },
    Eof,
}

/// Shows `session` on `socket` from byte `from` until either ends.
async fn serve(mut socket: WebSocket, session: Arc<Session>, from: Option<u64>, mut slot: StreamSlot) {
    let mut attached = session.attach(from);
    let hello = serde_json::json!({"type": "session", "id": session.id, "offset": attached.from});
    if socket.send(Message::Text(hello.to_string().into())).await.is_err() {
        return;
    }
    let mut next = attached.from + attached.replay.len() as u64;
    let replay = std::mem::take(&mut attached.replay);
    if !replay.is_empty() && socket.send(Message::Binary(replay.into())).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    // A command may have ended before this connection attached: look once.
    attached.exited.mark_changed();
    loop {
        tokio::select! {
            chunk = attached.live.recv() => match chunk {
                Ok((offset, bytes)) => {
                    if !send_from(&mut socket, &mut next, offset, &bytes).await {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    // Fell behind: read again from where this connection is.
                    let again = session.attach(Some(next));
                    if again.from > next {
                        // Some output is gone: say where what follows starts.
                        next = again.from;
                        let skip = serde_json::json!({"type": "offset", "offset": next});
                        if socket.send(Message::Text(skip.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                    let replay = again.replay.clone();
                    next += replay.len() as u64;
                    attached = again;
                    if !replay.is_empty() && socket.send(Message::Binary(replay.into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            _ = attached.exited.changed() => {
                let code = *attached.exited.borrow();
                if let Some(code) = code {
                    // What it wrote last is already queued: send it first.
                    while let Ok((offset, bytes)) = attached.live.try_recv() {
                        if !send_from(&mut socket, &mut next, offset, &bytes).await {
                            return;
                        }
                    }
                    let exit = serde_json::json!({"type": "exit", "code": code});
                    let _ = socket.send(Message::Text(exit.to_string().into())).await;
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Binary(bytes))) => {
                    if !session.send(Input::Data(bytes.to_vec())).await {
                        return;
                    }
                }
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<Control>(&text) {
                    Ok(Control::Resize { cols, rows }) if cols > 0 && rows > 0 => {
                        session.send(Input::Resize(cols, rows)).await;
                    }
                    Ok(Control::Eof) => {
                        session.send(Input::Eof).await;
                    }
                    _ => {
                        let error = serde_json::json!({"type": "error", "detail": "unknown control message: send {\"type\":\"resize\",\"cols\":N,\"rows\":N} or {\"type\":\"eof\"}; keystrokes go in binary frames"});
                        if socket.send(Message::Text(error.to_string().into())).await.is_err() {
                            return;
                        }
                    }
                },
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            () = slot.revoked() => {
                let revoked = serde_json::json!({"type": "unauthorized", "detail": "the token was revoked or the session ended"});
                let _ = socket.send(Message::Text(revoked.to_string().into())).await;
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Sends the part of a chunk at `offset` this connection has not had yet.
async fn send_from(socket: &mut WebSocket, next: &mut u64, offset: u64, bytes: &[u8]) -> bool {
    let end = offset + bytes.len() as u64;
    if end <= *next {
        return true;
    }
    let skip = usize::try_from(next.saturating_sub(offset)).unwrap_or(0);
    *next = end;
    socket.send(Message::Binary(bytes[skip..].to_vec().into())).await.is_ok()
}
