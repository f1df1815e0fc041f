//! The page's live connection to `/v1/events`.
//!
//! The server-rendered page already shows the current state; once hydrated,
//! this follows the user's event stream from the newest event that state
//! reflects. `EventSource` reconnects by itself with `Last-Event-ID` (for
//! example after a server restart); if the browser gives up, we open a new
//! one from the last event seen.

use leptos::prelude::*;

use crate::domain::WorkstationEvent;

/// Whether the live stream is connected (`true` until it is known not to be).
#[derive(Debug, Clone, Copy)]
pub struct LiveStatus {
    pub connected: ReadSignal<bool>,
}

/// Follows the signed-in user's events (or a project's, by name) after
/// event id `after`, calling `on_event` for each. Does nothing during server
/// rendering.
pub fn follow_events(
    project: Option<String>,
    after: i64,
    on_event: impl Fn(WorkstationEvent) + 'static,
) -> LiveStatus {
    let (connected, set_connected) = signal(true);
    #[cfg(feature = "hydrate")]
    client::follow(project, after, on_event, set_connected);
    #[cfg(not(feature = "hydrate"))]
    let _ = (project, after, on_event, set_connected);
    LiveStatus { connected }
}

#[cfg(feature = "hydrate")]
mod client {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{EventSource, MessageEvent};

    use crate::domain::WorkstationEvent;

    struct Shared {
        /// `&project=…`, or nothing for the user's own events.
        scope: String,
        last_id: Cell<i64>,
        source: RefCell<Option<EventSource>>,
        stopped: Cell<bool>,
        on_event: Box<dyn Fn(WorkstationEvent)>,
        set_connected: WriteSignal<bool>,
    }

    pub fn follow(
        project: Option<String>,
        after: i64,
        on_event: impl Fn(WorkstationEvent) + 'static,
        set_connected: WriteSignal<bool>,
    ) {
        // Project names are letters, digits, `-` and `_`: nothing to encode.
        let scope = project
            .filter(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .map_or_else(String::new, |p| format!("&project={p}"));
        let shared = Rc::new(Shared {
            scope,
            last_id: Cell::new(after),
            source: RefCell::new(None),
            stopped: Cell::new(false),
            on_event: Box::new(on_event),
            set_connected,
        });
        // Effects run only in the browser, after hydration.
        let started = shared.clone();
        Effect::new(move |_| connect(started.clone()));
        let cleanup = SendWrapper::new(shared);
        on_cleanup(move || {
            let shared = cleanup.take();
            shared.stopped.set(true);
            let source = shared.source.borrow_mut().take();
            if let Some(source) = source {
                source.close();
            }
        });
    }

    fn connect(shared: Rc<Shared>) {
        if shared.stopped.get() {
            return;
        }
        let url = format!("/v1/events?lastEventId={}{}", shared.last_id.get(), shared.scope);
        let Ok(source) = EventSource::new(&url) else {
            shared.set_connected.set(false);
            return;
        };

        let s = shared.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |msg: MessageEvent| {
            let Some(text) = msg.data().as_string() else {
                return;
            };
            if let Ok(event) = serde_json::from_str::<WorkstationEvent>(&text) {
                if event.id > s.last_id.get() {
                    s.last_id.set(event.id);
                    (s.on_event)(event);
                }
            }
        });
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let s = shared.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || s.set_connected.set(true));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        let s = shared.clone();
        let on_error = Closure::<dyn FnMut()>::new(move || {
            s.set_connected.set(false);
            let closed = s.source.borrow().as_ref().is_some_and(|es| es.ready_state() == EventSource::CLOSED);
            if closed {
                // The browser gave up (e.g. a proxy answered an error): try
                // again ourselves, from the last event seen.
                s.source.borrow_mut().take();
                let again = s.clone();
                set_timeout(move || connect(again), std::time::Duration::from_secs(3));
            }
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();

        *shared.source.borrow_mut() = Some(source);
    }
}
