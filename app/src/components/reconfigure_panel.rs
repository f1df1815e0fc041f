//! The panel that changes a workstation's configuration.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::configuration_fields::{ConfigurationFields, ConfigurationValues};
use super::error_notice::ErrorNotice;
use super::field::Field;
use super::form_errors::FormErrors;
use crate::api::ReconfigureWorkstation;
use crate::domain::{
    allowed_actions, reconfigure::APPLY_POINTER, Action, AppError, Catalog, Phase, ReconfigureForm,
    ReconfigureRequest, WorkstationState, WorkstationStatus,
};

/// Changes the configuration of a stopped workstation, or records it for the
/// next launch of a running one. Same rules as the API, checked here first.
#[component]
pub(super) fn ReconfigurePanel(state: RwSignal<WorkstationState>, catalog: Catalog) -> impl IntoView {
    let action = ServerAction::<ReconfigureWorkstation>::new();
    let errors = FormErrors::new("rc", action);
    let other_error = move || match action.value().get() {
        Some(Err(AppError::Invalid { .. })) | None | Some(Ok(_)) => None,
        Some(Err(error)) => Some(view! { <ErrorNotice error/> }),
    };
    Effect::new(move |_| match action.value().get() {
        Some(Ok(Some(updated))) => state.set(updated),
        Some(Err(e)) => errors.focus_first(e.field_errors()),
        _ => {}
    });
    let saved = move || match action.value().get() {
        Some(Ok(Some(s))) if s.workstation.pending_configuration.is_some() => {
            Some(view! { <p class="notice" role="status">"Saved: it applies at the next launch."</p> })
        }
        Some(Ok(Some(_))) => Some(view! { <p class="notice" role="status">"Saved."</p> }),
        _ => None,
    };
    let can = move || {
        state.with(|s| {
            s.phase != Some(Phase::Deleted)
                && allowed_actions(s.workstation.status, s.phase.as_ref()).contains(&Action::Reconfigure)
        })
    };
    let running = state.with_untracked(|s| s.workstation.status == WorkstationStatus::Running);
    let current = state.with_untracked(|s| s.workstation.configuration.clone());
    let id = state.with_untracked(|s| s.workstation.id.clone());
    let storage_hint = format!("can only grow; up to {} GB", catalog.storage_gb.max);
    let catalog = StoredValue::new(catalog);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        errors.submit(&ev, action, |input: &ReconfigureWorkstation| {
            let now = state.with_untracked(|s| s.workstation.configuration.clone());
            catalog.with_value(|c| ReconfigureRequest::from_form(&form_of(input)).parse(&now, c))
        });
    };
    let apply_id = errors.id("apply");
    view! {
        <section class="panel" aria-labelledby="reconfigure-heading" hidden=move || !can()>
            <h2 id="reconfigure-heading">"Reconfigure"</h2>
            <form class="ws-form" action=ReconfigureWorkstation::url() method="post" novalidate on:submit=on_submit>
                {other_error}
                {saved}
                <input type="hidden" name="id" value=id.clone()/>
                <ConfigurationFields catalog values=ConfigurationValues::from(&current) errors storage_hint/>
                <Field label="When" id=apply_id.clone() hint="A running workstation takes changes at its next launch." error=errors.of(APPLY_POINTER)>
                    <select id=apply_id name="apply">
                        <option value="now" selected=!running>"Now (the workstation must be stopped)"</option>
                        <option value="nextStart" selected=running>"At the next launch"</option>
                    </select>
                </Field>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Save configuration" }}
                </button>
            </form>
        </section>
    }
}

/// The form's fields as the shared `parse` reads them.
fn form_of(input: &ReconfigureWorkstation) -> ReconfigureForm {
    ReconfigureForm {
        cpu_cores: input.cpu_cores.clone(),
        memory_gb: input.memory_gb.clone(),
        gpu: input.gpu.clone(),
        storage_gb: input.storage_gb.clone(),
        apply: input.apply.clone(),
    }
}
