//! The warning before an auto-stop, with a "Keep running" button.

use leptos::prelude::*;

use crate::api::KeepRunning;
use crate::domain::auto_stop::{is_warning, KEPT_PREFIX};
use crate::domain::{EventKind, WorkstationEvent};

/// Shown while the newest word on auto-stop is a warning: "Stops in 5
/// minutes if idle", until the workstation stops, or someone keeps it
/// running (the event that says so hides it on every page showing it).
#[component]
pub fn AutoStopNotice(id: String, events: RwSignal<Vec<WorkstationEvent>>) -> impl IntoView {
    let warning = Memo::new(move |_| {
        events.with(|list| {
            let last = list.iter().rev().find(|e| {
                e.kind != EventKind::Log
                    || e.message.as_deref().is_some_and(|m| is_warning(m) || m.starts_with(KEPT_PREFIX))
            })?;
            (last.kind == EventKind::Log).then(|| last.message.clone()).flatten().filter(|m| is_warning(m))
        })
    });
    let keep = ServerAction::<KeepRunning>::new();
    let id = StoredValue::new(id);
    view! {
        <Show when=move || warning.with(Option::is_some)>
            <div class="alert warn auto-stop" role="status" data-testid="auto-stop">
                <p>{move || warning.get().unwrap_or_default()}</p>
                <ActionForm action=keep>
                    <input type="hidden" name="id" value=id.get_value()/>
                    <button type="submit" class="button" disabled=move || keep.pending().get()>"Keep running"</button>
                </ActionForm>
                {move || keep.value().get().and_then(Result::err).map(|e| view! { <p class="field-error">{e.to_string()}</p> })}
            </div>
        </Show>
    }
}
