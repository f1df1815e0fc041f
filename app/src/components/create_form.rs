//! The "New workstation" form.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::auto_stop_fields::AutoStopFields;
use super::configuration_fields::{ConfigurationFields, ConfigurationValues, RegionField};
use super::error_notice::ErrorNotice;
use super::field::{aria_describedby, aria_invalid, Field};
use super::form_errors::{has_input, FormErrors};
use crate::api::CreateWorkstation;
use crate::domain::{pointer, AppError, CapacityEntry, Catalog, CreateWorkstationRequest, WorkstationForm};

/// The "New workstation" form. It runs the shared `parse` before sending, and
/// shows the server's verdict the same way; without JavaScript it posts as a
/// plain form and the server's errors come back in the page.
#[component]
pub fn CreateWorkstationForm(
    catalog: Catalog,
    action: ServerAction<CreateWorkstation>,
    /// Free capacity, to say before submitting whether the choice fits.
    capacity: Signal<Option<Vec<CapacityEntry>>>,
    /// The project to create in (its name); none: the user's own account.
    project: Option<String>,
) -> impl IntoView {
    // A form posted without JavaScript comes back with what was typed.
    let submitted = action.value().with_untracked(|v| match v {
        Some(Err(AppError::Invalid { submitted, .. })) => submitted.as_deref().cloned(),
        _ => None,
    });
    let initial = submitted.unwrap_or_else(|| WorkstationForm {
        name: String::new(),
        cpu_cores: "8".into(),
        memory_gb: "32".into(),
        gpu: catalog.gpus.first().map(|g| g.id.clone()).unwrap_or_default(),
        storage_gb: "256".into(),
        region: catalog.regions.first().map(|r| r.id.clone()).unwrap_or_default(),
        idle_timeout: String::new(),
        running_timeout: String::new(),
    });

    let errors = FormErrors::new("ws", action);
    let form_ref = NodeRef::<leptos::html::Form>::new();
    let initial_draft = StoredValue::new(initial.clone());
    // What the form holds now, for the summary and the capacity line.
    let draft = RwSignal::new(initial.clone());
    let on_input = move |ev: leptos::ev::Event| {
        let field = event_target::<leptos::web_sys::Element>(&ev).get_attribute("name");
        let value = event_target_value(&ev);
        draft.update(|d| match field.as_deref() {
            Some("name") => d.name = value,
            Some("cpu_cores") => d.cpu_cores = value,
            Some("memory_gb") => d.memory_gb = value,
            Some("gpu") => d.gpu = value,
            Some("storage_gb") => d.storage_gb = value,
            Some("region") => d.region = value,
            _ => {}
        });
    };
    let room = move || {
        let entries = capacity.get()?;
        let (gpu, region) = draft.with(|d| (d.gpu.clone(), d.region.clone()));
        let entry = entries.into_iter().find(|e| e.gpu == gpu && e.region == region)?;
        Some(if entry.free == 0 {
            view! { <p class="capacity none" data-testid="capacity">{format!("No {gpu} free in {region} right now")}</p> }
        } else {
            view! {
                <p class="capacity" data-testid="capacity">
                    {format!("{} of {} {gpu} free in {region}", entry.free, entry.total)}
                </p>
            }
        })
    };
    // Problems not tied to an input: a root error, or a failure of the call.
    let form_error = move || {
        if errors.checked_here() {
            return None;
        }
        match action.value().get() {
            Some(Err(AppError::Invalid { errors: found, .. })) => found
                .iter()
                .find(|e| !has_input(&e.pointer))
                .map(|e| view! { <p class="alert" role="alert">{e.detail.clone()}</p> }.into_any()),
            Some(Err(e)) => Some(view! { <ErrorNotice error=e/> }.into_any()),
            _ => None,
        }
    };
    let created = move || match action.value().get() {
        Some(Ok(ws)) => Some(view! {
            <p class="notice" role="status">"Created " <strong>{ws.name}</strong> ". Provisioning has started."</p>
        }),
        _ => None,
    };
    Effect::new(move |_| match action.value().get() {
        Some(Ok(_)) => {
            if let Some(form) = form_ref.get() {
                form.reset();
            }
            draft.set(initial_draft.get_value());
        }
        Some(Err(e)) => errors.focus_first(e.field_errors()),
        None => {}
    });

    let regions = catalog.regions.clone();
    let limits = catalog.auto_stop;
    let catalog = StoredValue::new(catalog);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        errors.submit(&ev, action, |input: &CreateWorkstation| {
            catalog.with_value(|c| CreateWorkstationRequest::from_form(&form_of(input)).parse(c))
        });
    };
    let summary = move || draft.with(|d| catalog.with_value(|c| summarize(d, c)));
    let values = ConfigurationValues::from(&initial);
    let name_id = errors.id("name");
    let name_error = errors.of(pointer::NAME);

    view! {
        <form
            class="ws-form"
            action=CreateWorkstation::url()
            method="post"
            novalidate
            node_ref=form_ref
            on:submit=on_submit
            on:input=on_input
        >
            {project.map(|p| view! { <input type="hidden" name="project" value=p/> })}
            {form_error}
            {created}
            <Field label="Name" id=name_id.clone() hint="Letters, digits, - and _; up to 63 characters." error=name_error>
                <input id=name_id.clone() name="name" type="text" autocomplete="off" spellcheck="false"
                    value=initial.name placeholder="my-workstation"
                    aria-invalid=aria_invalid(name_error)
                    aria-describedby=aria_describedby(name_id, name_error)/>
            </Field>
            <ConfigurationFields catalog values errors bounded=true gpu_aria=true/>
            <RegionField regions selected=initial.region errors/>
            <AutoStopFields limits idle=initial.idle_timeout running=initial.running_timeout errors with_default=true/>
            <Transition fallback=|| ()>{room}</Transition>
            <div class="summary" data-testid="summary">
                <h3>"Summary"</h3>
                <p>{summary}</p>
            </div>
            <button type="submit" class="button primary" disabled=move || action.pending().get()>
                {move || if action.pending().get() { "Creating…" } else { "Create workstation" }}
            </button>
        </form>
    }
}

/// The form's fields as the shared `parse` reads them.
fn form_of(input: &CreateWorkstation) -> WorkstationForm {
    WorkstationForm {
        name: input.name.clone(),
        cpu_cores: input.cpu_cores.clone(),
        memory_gb: input.memory_gb.clone(),
        gpu: input.gpu.clone(),
        storage_gb: input.storage_gb.clone(),
        region: input.region.clone(),
        idle_timeout: input.idle_timeout.clone(),
        running_timeout: input.running_timeout.clone(),
    }
}

/// The request in words, as the form holds it now: "web-1: 8 vCPUs, 32 GB
/// memory, 256 GB storage, NVIDIA L4 (24 GB) in US East (N. Virginia)".
fn summarize(d: &WorkstationForm, catalog: &Catalog) -> String {
    let name = if d.name.trim().is_empty() { "Unnamed" } else { d.name.trim() };
    let gpu = match catalog.gpus.iter().find(|g| g.id == d.gpu) {
        Some(g) => format!("{} ({} GB)", g.id, g.memory_gb),
        None => d.gpu.clone(),
    };
    let region =
        catalog.regions.iter().find(|r| r.id == d.region).map_or(d.region.as_str(), |r| r.name.as_str());
    format!(
        "{name}: {} vCPUs, {} GB memory, {} GB storage, {gpu} in {region}",
        d.cpu_cores.trim(),
        d.memory_gb.trim(),
        d.storage_gb.trim()
    )
}
