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
use futures_util::{FutureExt, Stream};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{Invalid, NotFound, ServerError, Unauthorized};
use tokio::sync::broadcast::error::RecvError;

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
    // Subscribe before reading the store, so nothing falls between the two;
    // anything seen twice is dropped by position.
    let pump = Pump {
        live: state.bus.subscribe(),
        closing: Box::pin(state.bus.closing()),
        state,
        scope,
        cursor: after,
        catch_up: true,
        stored: Vec::new().into_iter(),
        open,
        ended: false,
    };
    // The response body asks for each event when it can send one: no task
    // and no queue per stream, so an open stream costs little more than its
    // connection (the bench opens 10,000).
    let events = futures_util::stream::unfold(pump, |mut pump| async move {
        pump.next().await.map(|event| (Ok(event), pump))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive"))
}

fn to_sse(scope: &Scope, event: &WorkstationEvent, json: &str) -> Event {
    Event::default().id(scope.position(event).to_string()).data(json)
}

fn unauthorized() -> Event {
    Event::default()
        .event("unauthorized")
        .data("the token or session of this stream was revoked or has expired")
}

/// One stream's events: stored ones after the resume point, then live ones.
/// Ends when its credential stops being accepted or the server shuts down
/// (each with a last event saying so); the client going away drops it.
struct Pump {
    state: AppState,
    scope: Scope,
    /// The position of the last event sent.
    cursor: i64,
    /// The store may hold events after `cursor` the bus no longer has.
    catch_up: bool,
    /// Read from the store, not yet sent.
    stored: std::vec::IntoIter<WorkstationEvent>,
    live: tokio::sync::broadcast::Receiver<std::sync::Arc<Broadcast>>,
    closing: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    open: OpenStream,
    ended: bool,
}

impl Pump {
    async fn next(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        loop {
            // A revoked credential gets no further event, stored or live.
            if self.open.slot.revoked().now_or_never().is_some() {
                return self.end(unauthorized());
            }
            if let Some(event) = self.stored.next() {
                self.cursor = self.scope.position(&event);
                let json = serde_json::to_string(&event).unwrap_or_else(|_| "{}".to_owned());
                return Some(to_sse(&self.scope, &event, &json));
            }
            if self.catch_up {
                // Boxed: the read is rare, and its future is large.
                let stored = match Box::pin(self.scope.stored_after(&self.state, self.cursor)).await {
                    Ok(stored) => stored,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read stored events for a stream");
                        self.ended = true;
                        return None;
                    }
                };
                self.catch_up = stored.len() >= events::EVENT_BATCH;
                self.stored = stored.into_iter();
                continue;
            }
            let received = tokio::select! {
                () = &mut self.closing => {
                    return self.end(Event::default().event("shutdown").data("the server is restarting; reconnect to resume"));
                }
                () = self.open.slot.revoked() => return self.end(unauthorized()),
                received = self.live.recv() => received,
            };
            match received {
                Ok(published) => {
                    let event = &published.event;
                    if !self.scope.matches(&published) || self.scope.position(event) <= self.cursor {
                        continue;
                    }
                    self.cursor = self.scope.position(event);
                    return Some(to_sse(&self.scope, event, &published.json));
                }
                // Fell behind the bus: the store has everything.
                Err(RecvError::Lagged(_)) => self.catch_up = true,
                Err(RecvError::Closed) => {
                    self.ended = true;
                    return None;
                }
            }
        }
    }

    /// The stream's last event.
    fn end(&mut self, last: Event) -> Option<Event> {
        self.ended = true;
        Some(last)
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
