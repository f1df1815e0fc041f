//! The workstation page's auto-stop panel: its timeouts, when it stops if
//! nothing happens, and a form to change them (at once, in any status).

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::auto_stop_fields::AutoStopFields;
use super::error_notice::ErrorNotice;
use super::form_errors::FormErrors;
use crate::api::SetAutoStop;
use crate::domain::time::clock;
use crate::domain::{AppError, AutoStopForm, Catalog, Phase, ReconfigureRequest, WorkstationState};

/// Shows and changes a workstation's auto-stop timeouts; the same `parse`
/// as the API checks them here first.
#[component]
pub(super) fn AutoStopPanel(state: RwSignal<WorkstationState>, catalog: Catalog) -> impl IntoView {
    let action = ServerAction::<SetAutoStop>::new();
    let errors = FormErrors::new("as", action);
    let other_error = move || match action.value().get() {
        Some(Err(AppError::Invalid { .. })) | None | Some(Ok(_)) => None,
        Some(Err(error)) => Some(view! { <ErrorNotice error/> }),
    };
    Effect::new(move |_| match action.value().get() {
        Some(Ok(Some(updated))) => state.set(updated),
        Some(Err(e)) => errors.focus_first(e.field_errors()),
        _ => {}
    });
    let saved = move || {
        matches!(action.value().get(), Some(Ok(Some(_))))
            .then(|| view! { <p class="notice" role="status">"Saved."</p> })
    };
    let settings = move || state.with(|s| s.workstation.auto_stop.describe());
    let deadline = move || {
        state.with(|s| {
            let at = s.workstation.auto_stop_at.as_deref()?;
            let why = match s.workstation.auto_stop_reason.as_deref() {
                Some("idle") => " if idle",
                _ => "",
            };
            Some(view! { <p data-testid="auto-stop-at">{format!("Stops at {} UTC{why}.", clock(at))}</p> })
        })
    };
    let deleted = move || state.with(|s| s.phase == Some(Phase::Deleted));
    let (id, now) = state.with_untracked(|s| (s.workstation.id.clone(), s.workstation.auto_stop));
    let limits = catalog.auto_stop;
    let catalog = StoredValue::new(catalog);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        errors.submit(&ev, action, |input: &SetAutoStop| {
            let form = AutoStopForm {
                idle_timeout: input.idle_timeout.clone(),
                running_timeout: input.running_timeout.clone(),
            };
            let current = state.with_untracked(|s| s.workstation.configuration.clone());
            catalog.with_value(|c| ReconfigureRequest::from_auto_stop_form(&form).parse(&current, c))
        });
    };
    view! {
        <section class="panel" aria-labelledby="auto-stop-heading" hidden=deleted>
            <h2 id="auto-stop-heading">"Auto-stop"</h2>
            <p data-testid="auto-stop-settings">"Stops by itself: " <strong>{settings}</strong> "."</p>
            {deadline}
            <form class="ws-form" action=SetAutoStop::url() method="post" novalidate on:submit=on_submit>
                {other_error}
                {saved}
                <input type="hidden" name="id" value=id/>
                <AutoStopFields limits idle=now.idle_timeout_seconds.to_string()
                    running=now.running_timeout_seconds.to_string() errors/>
                <button type="submit" class="button" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Save timeouts" }}
                </button>
            </form>
        </section>
    }
}
