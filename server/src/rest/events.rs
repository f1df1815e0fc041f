//! Live status: Server-Sent Events per workstation and per user, and the
//! history as JSON. Streams replay the stored events first, then follow the
//! in-process bus; `Last-Event-ID` resumes with no gap and no duplicate.

use std::convert::Infallible;
use std::time::Duration;

use app::backend::events::Broadcast;
use app::backend::{access, events, workstations, AppState};
use app::domain::Permission;
use app::domain::WorkstationEvent;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{Invalid, NotFound, ServerError, Unauthorized};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::auth::{AuthUser, Credential};
use super::ApiError;
use app::backend::store::User;
use app::backend::streams::StreamSlot;

/// Routes for events, with their documentation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(user_stream))
        .routes(routes!(workstation_stream))
        .routes(routes!(history))
}

/// `?lastEventId=` for clients that cannot set headers.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct Resume {
    /// Resume after this id, for clients that cannot set headers.
    last_event_id: Option<String>,
}

/// `GET /v1/events` query parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct AccountStream {
    /// Resume after this id, for clients that cannot set headers.
    last_event_id: Option<String>,
    /// A project's workstations (its id or name) instead of your own.
    project: Option<String>,
}

/// Where to resume: the `Last-Event-ID` header, else the query; 0 = from the start.
fn resume_point(headers: &HeaderMap, query: Result<Query<Resume>, QueryRejection>) -> Result<i64, ApiError> {
    resume_from(headers, query.ok().and_then(|Query(q)| q.last_event_id))
}

/// The same, with the query's `lastEventId` already read.
fn resume_from(headers: &HeaderMap, from_query: Option<String>) -> Result<i64, ApiError> {
    let raw = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned).or(from_query);
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(0),
        Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::Validation(vec![app::domain::FieldError::new(
                "#/lastEventId",
                "must be a non-negative whole number (an event id this stream sent)",
            )])
        }),
    }
}

/// What a stream follows, and how its events are numbered.
#[derive(Debug, Clone)]
enum Scope {
    /// One workstation of an owner; ids are its sequence numbers.
    Workstation { id: String, owner: i64 },
    /// All of a user's workstations; ids are global event ids.
    Owner(i64),
}

impl Scope {
    fn position(&self, event: &WorkstationEvent) -> i64 {
        match self {
            Self::Workstation { .. } => event.seq,
            Self::Owner(_) => event.id,
        }
    }

    fn matches(&self, published: &Broadcast) -> bool {
        match self {
            Self::Workstation { id, owner } => {
                published.owner_id == *owner && &published.event.workstation_id == id
            }
            Self::Owner(owner) => published.owner_id == *owner,
        }
    }

    async fn stored_after(
        &self,
        state: &AppState,
        after: i64,
    ) -> Result<Vec<WorkstationEvent>, app::backend::Error> {
        match self {
            Self::Workstation { id, .. } => events::workstation_events_after(&state.pool, id, after).await,
            Self::Owner(owner) => events::owner_events_after(&state.pool, *owner, after).await,
        }
    }
}

/// `GET /v1/workstations/{id}/events`
#[utoipa::path(
    get, path = "/workstations/{id}/events", tag = "events",
    operation_id = "followWorkstationEvents",
    params(
        ("id" = String, Path, description = "Workstation id"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this sequence number"),
        Resume
    ),
    responses(
        (status = 200, description = "Server-Sent Events: stored events, then live ones; `id:` is the sequence number, `data:` one event",
            body = WorkstationEvent, content_type = "text/event-stream"),
        Invalid,
        Unauthorized,
        NotFound
    )
)]
async fn workstation_stream(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    query: Result<Query<Resume>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Path(id) = path.map_err(|_| ApiError::NotFound("no workstation has that id".into()))?;
    let owner = access::workstation_account(&state.pool, &user, &id, Permission::Read).await?;
    if !workstations::has_history(&state, &owner, &id).await? {
        return Err(ApiError::NotFound(format!("you have no workstation with id {id:?}")));
    }
    let after = resume_point(&headers, query)?;
    let open = OpenStream::new(&state, &user, &headers)?;
    Ok(stream(state, Scope::Workstation { id, owner: owner.id }, after, open))
}

/// `GET /v1/events`: every workstation of the caller (or of a project, with
/// `project`) on one connection.
#[utoipa::path(
    get, path = "/events", tag = "events",
    operation_id = "followEvents",
    params(
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id"),
        AccountStream
    ),
    responses(
        (status = 200, description = "Server-Sent Events for all your workstations; `id:` is the event id",
            body = WorkstationEvent, content_type = "text/event-stream"),
        Invalid,
        Unauthorized,
        NotFound
    )
)]
async fn user_stream(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    query: Result<Query<AccountStream>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::MalformedBody(format!("the query string is malformed: {e}")))?;
    let project = super::projects::project_param(query.project).map_err(|e| ApiError::Validation(vec![e]))?;
    let after = resume_from(&headers, query.last_event_id)?;
    let account = access::account(&state.pool, &user, project.as_ref(), Permission::Read).await?;
    let open = OpenStream::new(&state, &user, &headers)?;
    Ok(stream(state, Scope::Owner(account.id), after, open))
}

/// What keeps a stream open: its place among the user's streams, which
/// also learns when the credential it was opened with stops being accepted.
struct OpenStream {
    slot: StreamSlot,
}

impl OpenStream {
    fn new(state: &AppState, user: &User, headers: &HeaderMap) -> Result<Self, ApiError> {
        let opener = Credential::of(headers).map(|c| c.opener());
        let slot = state.streams.open(user.id, opener).ok_or_else(|| ApiError::TooManyRequests {
            detail: format!(
                "you have {} event streams open, the most one user may; close one (or follow all your \
                 workstations on one /v1/events stream)",
                state.streams.limit()
            ),
            retry_after_secs: 5,
        })?;
        Ok(Self { slot })
    }
}

fn stream(
    state: AppState,
    scope: Scope,
    after: i64,
    open: OpenStream,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::channel::<Event>(64);
    tokio::spawn(pump(state, scope, after, tx, open));
    let events =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|event| (Ok(event), rx)) },
        );
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive"))
}

fn to_sse(scope: &Scope, event: &WorkstationEvent, json: &str) -> Event {
    Event::default().id(scope.position(event).to_string()).data(json)
}

/// The last words of a stream, sent if the client reads them within a second.
async fn farewell(tx: &mpsc::Sender<Event>, event: Event) {
    let _ = tokio::time::timeout(Duration::from_secs(1), tx.send(event)).await;
}

fn unauthorized() -> Event {
    Event::default()
        .event("unauthorized")
        .data("the token or session of this stream was revoked or has expired")
}

/// Sends one event, unless the stream's credential stops being accepted
/// first (a client that reads slowly must not keep a revoked stream going).
/// `false`: the stream ends.
async fn deliver(tx: &mpsc::Sender<Event>, open: &mut OpenStream, event: Event) -> bool {
    tokio::select! {
        sent = tx.send(event) => sent.is_ok(),
        () = open.slot.revoked() => {
            farewell(tx, unauthorized()).await;
            false
        }
    }
}

/// Feeds one stream: stored events after `after`, then live ones. Ends when
/// the client goes away, its credential is revoked, or the server shuts down.
async fn pump(state: AppState, scope: Scope, after: i64, tx: mpsc::Sender<Event>, mut open: OpenStream) {
    // Subscribe before reading the store, so nothing falls between the two;
    // anything seen twice is dropped by position.
    let mut live = state.bus.subscribe();
    let closing = state.bus.closing();
    tokio::pin!(closing);
    let mut cursor = after;
    let mut catch_up = true;
    loop {
        // Read the store in batches until it has nothing newer than the cursor.
        while catch_up {
            let stored = match scope.stored_after(&state, cursor).await {
                Ok(stored) => stored,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read stored events for a stream");
                    return;
                }
            };
            catch_up = stored.len() >= events::EVENT_BATCH;
            for event in stored {
                cursor = scope.position(&event);
                let json = serde_json::to_string(&event).unwrap_or_else(|_| "{}".to_owned());
                if !deliver(&tx, &mut open, to_sse(&scope, &event, &json)).await {
                    return;
                }
            }
        }
        let event = tokio::select! {
            () = &mut closing => {
                farewell(&tx, Event::default().event("shutdown").data("the server is restarting; reconnect to resume")).await;
                return;
            }
            () = tx.closed() => return,
            () = open.slot.revoked() => {
                farewell(&tx, unauthorized()).await;
                return;
            }
            received = live.recv() => received,
        };
        match event {
            Ok(published) => {
                let event = &published.event;
                if !scope.matches(&published) || scope.position(event) <= cursor {
                    continue;
                }
                cursor = scope.position(event);
                if !deliver(&tx, &mut open, to_sse(&scope, event, &published.json)).await {
                    return;
                }
            }
            // Fell behind the bus: the store has everything.
            Err(RecvError::Lagged(_)) => catch_up = true,
            Err(RecvError::Closed) => return,
        }
    }
}

/// The history response.
#[derive(Debug, Serialize, ToSchema)]
struct History {
    events: Vec<WorkstationEvent>,
}

/// `GET /v1/workstations/{id}/history`: the same events as the stream, as JSON.
#[utoipa::path(
    get, path = "/workstations/{id}/history", tag = "events",
    operation_id = "getWorkstationHistory",
    params(("id" = String, Path, description = "Workstation id (also of a deleted one)")),
    responses(
        (status = 200, description = "Every event, oldest first", body = History),
        Unauthorized,
        NotFound,
        ServerError
    )
)]
async fn history(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<History>, ApiError> {
    let Path(id) = path.map_err(|_| ApiError::NotFound("no workstation has that id".into()))?;
    let owner = access::workstation_account(&state.pool, &user, &id, Permission::Read).await?;
    workstations::history(&state, &owner, &id)
        .await?
        .map(|events| Json(History { events }))
        .ok_or_else(|| ApiError::NotFound(format!("you have no workstation with id {id:?}")))
}
