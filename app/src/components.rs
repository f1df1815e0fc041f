//! Building blocks of the pages.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::api::{CreateWorkstation, ReconfigureWorkstation, WorkstationAction};
use crate::domain::{
    allowed_actions, pointer, reconfigure::APPLY_POINTER, time, Action, AppError, CapacityEntry, Catalog,
    CreateWorkstationRequest, Dashboard, EventKind, FieldError, Phase, QuotaStatus, ReconfigureForm,
    ReconfigureRequest, WorkstationDetail, WorkstationForm, WorkstationState, WorkstationStatus,
};
use crate::feedback::{announce_job_end, now_millis, NotifyButton, RelativeTime};
use crate::live::{follow_events, LiveStatus};

/// A message for an error that is not tied to one field.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let text = match &error {
        AppError::Unauthorized => "Your session has ended. Sign in again to continue.".to_owned(),
        other => other.to_string(),
    };
    view! { <p class="alert" role="alert">{text}</p> }
}

/// The id of the input a field error belongs to, in the form whose input
/// ids start with `form` (`ws-cpu`, `rc-cpu`).
fn input_id(form: &str, pointer_: &str) -> Option<String> {
    let field = match pointer_ {
        pointer::NAME => "name",
        pointer::CPU_CORES => "cpu",
        pointer::MEMORY_GB => "memory",
        pointer::GPU => "gpu",
        pointer::STORAGE_GB => "storage",
        pointer::REGION => "region",
        APPLY_POINTER => "apply",
        _ => return None,
    };
    Some(format!("{form}-{field}"))
}

/// Moves keyboard focus to the first input of `form` with an error, once
/// the error messages are on the page (so a screen reader reads them too).
fn focus_first_error(form: &str, errors: &[FieldError]) {
    #[cfg(feature = "hydrate")]
    if let Some(id) = errors.iter().find_map(|e| input_id(form, &e.pointer)) {
        request_animation_frame(move || {
            use leptos::wasm_bindgen::JsCast;
            if let Some(el) = document()
                .get_element_by_id(&id)
                .and_then(|el| el.dyn_into::<leptos::web_sys::HtmlElement>().ok())
            {
                let _ = el.focus();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (form, errors);
}

fn form_of(input: &CreateWorkstation) -> WorkstationForm {
    WorkstationForm {
        name: input.name.clone(),
        cpu_cores: input.cpu_cores.clone(),
        memory_gb: input.memory_gb.clone(),
        gpu: input.gpu.clone(),
        storage_gb: input.storage_gb.clone(),
        region: input.region.clone(),
    }
}

/// The "New workstation" form. It runs the shared `parse` before sending, and
/// shows the server's verdict the same way; without JavaScript it posts as a
/// plain form and the server's errors come back in the page.
#[component]
pub fn CreateWorkstationForm(
    catalog: Catalog,
    action: ServerAction<CreateWorkstation>,
    /// Free capacity, to say before submitting whether the choice fits.
    capacity: Resource<Result<Vec<CapacityEntry>, AppError>>,
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
    });

    let client_errors = RwSignal::new(None::<Vec<FieldError>>);
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
        let entries = capacity.get()?.ok()?;
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
    let errors = Memo::new(move |_| {
        client_errors.get().unwrap_or_else(|| match action.value().get() {
            Some(Err(e)) => e.field_errors().to_vec(),
            _ => Vec::new(),
        })
    });
    let error_for = move |p: &'static str| {
        move || errors.with(|errs| errs.iter().find(|e| e.pointer == p).map(|e| e.detail.clone()))
    };
    // Problems not tied to an input: a root error, or a failure of the call.
    let form_error = move || {
        if client_errors.with(Option::is_some) {
            return None;
        }
        match action.value().get() {
            Some(Err(AppError::Invalid { errors, .. })) => errors
                .iter()
                .find(|e| input_id("ws", &e.pointer).is_none())
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
        Some(Err(e)) => focus_first_error("ws", e.field_errors()),
        None => {}
    });

    let catalog = StoredValue::new(catalog);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = match <CreateWorkstation as leptos::form::FromFormData>::from_event(&ev) {
            Ok(input) => input,
            Err(e) => {
                client_errors.set(Some(vec![FieldError::new(pointer::ROOT, e.to_string())]));
                return;
            }
        };
        let checked = catalog.with_value(|c| CreateWorkstationRequest::from_form(&form_of(&input)).parse(c));
        match checked {
            Ok(_) => {
                client_errors.set(None);
                action.dispatch(input);
            }
            Err(errs) => {
                focus_first_error("ws", &errs);
                client_errors.set(Some(errs));
            }
        }
    };

    let range_hint = |r: crate::domain::Range, unit: &str| format!("{}–{}{unit}", r.min, r.max);
    let (cpu, mem, disk) = catalog.with_value(|c| (c.cpu_cores, c.memory_gb, c.storage_gb));
    let gpus = catalog.with_value(|c| c.gpus.clone());
    let regions = catalog.with_value(|c| c.regions.clone());
    let summary = move || draft.with(|d| catalog.with_value(|c| summarize(d, c)));

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
            {form_error}
            {created}
            <Field label="Name" id="ws-name" hint="Letters, digits, - and _; up to 63 characters." error=Signal::derive(error_for(pointer::NAME))>
                <input id="ws-name" name="name" type="text" autocomplete="off" spellcheck="false"
                    value=initial.name.clone() placeholder="my-workstation"
                    aria-invalid=move || error_for(pointer::NAME)().is_some().to_string()
                    aria-describedby=move || describedby("ws-name", error_for(pointer::NAME)().is_some())/>
            </Field>
            <div class="row">
                <Field label="CPU cores" id="ws-cpu" hint=range_hint(cpu, "") error=Signal::derive(error_for(pointer::CPU_CORES))>
                    <input id="ws-cpu" name="cpu_cores" type="number" inputmode="numeric"
                        min=cpu.min max=cpu.max step="1" value=initial.cpu_cores.clone()
                        aria-invalid=move || error_for(pointer::CPU_CORES)().is_some().to_string()
                        aria-describedby=move || describedby("ws-cpu", error_for(pointer::CPU_CORES)().is_some())/>
                </Field>
                <Field label="Memory (GB)" id="ws-memory" hint=range_hint(mem, " GB") error=Signal::derive(error_for(pointer::MEMORY_GB))>
                    <input id="ws-memory" name="memory_gb" type="number" inputmode="numeric"
                        min=mem.min max=mem.max step="1" value=initial.memory_gb.clone()
                        aria-invalid=move || error_for(pointer::MEMORY_GB)().is_some().to_string()
                        aria-describedby=move || describedby("ws-memory", error_for(pointer::MEMORY_GB)().is_some())/>
                </Field>
                <Field label="Storage (GB)" id="ws-storage" hint=range_hint(disk, " GB") error=Signal::derive(error_for(pointer::STORAGE_GB))>
                    <input id="ws-storage" name="storage_gb" type="number" inputmode="numeric"
                        min=disk.min max=disk.max step="1" value=initial.storage_gb.clone()
                        aria-invalid=move || error_for(pointer::STORAGE_GB)().is_some().to_string()
                        aria-describedby=move || describedby("ws-storage", error_for(pointer::STORAGE_GB)().is_some())/>
                </Field>
            </div>
            <Field label="GPU" id="ws-gpu" hint="".to_owned() error=Signal::derive(error_for(pointer::GPU))>
                <select id="ws-gpu" name="gpu"
                    aria-invalid=move || error_for(pointer::GPU)().is_some().to_string()
                    aria-describedby=move || describedby("ws-gpu", error_for(pointer::GPU)().is_some())>
                    {gpus.into_iter().map(|g| {
                        let selected = g.id == initial.gpu;
                        let label = format!("{} · {} GB", g.id, g.memory_gb);
                        view! { <option value=g.id selected=selected>{label}</option> }
                    }).collect_view()}
                </select>
            </Field>
            <Field label="Region" id="ws-region" hint="".to_owned() error=Signal::derive(error_for(pointer::REGION))>
                <select id="ws-region" name="region"
                    aria-invalid=move || error_for(pointer::REGION)().is_some().to_string()
                    aria-describedby=move || describedby("ws-region", error_for(pointer::REGION)().is_some())>
                    {regions.into_iter().map(|r| {
                        let selected = r.id == initial.region;
                        let label = format!("{} · {}", r.name, r.id);
                        view! { <option value=r.id selected=selected>{label}</option> }
                    }).collect_view()}
                </select>
            </Field>
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

/// What the user's quota allows and what is used.
#[component]
pub fn QuotaPanel(status: QuotaStatus) -> impl IntoView {
    let QuotaStatus { limits, used } = status;
    let rows = [
        ("CPU cores", used.cpu_cores, limits.cpu_cores),
        ("Memory (GB)", used.memory_gb, limits.memory_gb),
        ("GPUs", used.gpus, limits.gpus),
        ("Storage (GB)", used.storage_gb, limits.storage_gb),
    ];
    view! {
        <div class="quota" data-testid="quota">
            <h3>"Your quota"</h3>
            <dl>
                {rows
                    .into_iter()
                    .map(|(label, used, limit)| {
                        view! {
                            <div>
                                <dt>{label}</dt>
                                <dd>{format!("{used} of {limit} used · {} left", limit.saturating_sub(used))}</dd>
                            </div>
                        }
                    })
                    .collect_view()}
            </dl>
        </div>
    }
}

/// `aria-describedby` for an input: its hint, and its error when there is one.
fn describedby(id: &str, has_error: bool) -> String {
    if has_error {
        format!("{id}-hint {id}-error")
    } else {
        format!("{id}-hint")
    }
}

/// A labelled form field with a hint and a slot for its error message.
#[component]
fn Field(
    label: &'static str,
    id: &'static str,
    #[prop(into)] hint: String,
    error: Signal<Option<String>>,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id>{label}</label>
            {children()}
            <p class="hint" id=format!("{id}-hint")>{hint}</p>
            <p class="field-error" id=format!("{id}-error")>{move || error.get()}</p>
        </div>
    }
}

/// The user's workstations, newest first, kept current by the live stream.
/// `filtered`: the list shows only some of them (a filter or an older page).
#[component]
pub fn LiveWorkstationList(
    data: Dashboard,
    #[prop(into)] on_unknown: Callback<()>,
    #[prop(optional)] filtered: bool,
) -> impl IntoView {
    let items = RwSignal::new(data.workstations);
    let live = follow_events(data.last_event_id, move |event| {
        let mut known = false;
        items.update(|list| {
            for state in list.iter_mut().filter(|s| s.workstation.id == event.workstation_id) {
                state.apply(&event);
                announce_job_end(&state.workstation.name, &event);
                known = true;
            }
            // A deleted workstation leaves the list.
            list.retain(|s| s.phase != Some(Phase::Deleted));
        });
        if !known && event.kind == EventKind::Status {
            // Created elsewhere (another tab, the API): read the list again.
            on_unknown.run(());
        }
    });
    view! {
        <ReconnectingBanner live/>
        {move || {
            if items.with(Vec::is_empty) {
                if filtered {
                    return view! {
                        <div class="empty" data-testid="empty-list">
                            <p><strong>"No workstations match these filters."</strong></p>
                            <p><a href="/">"Show all workstations"</a></p>
                        </div>
                    }
                    .into_any();
                }
                return view! {
                    <div class="empty" data-testid="empty-list">
                        <p><strong>"No workstations yet."</strong></p>
                        <p>"Create your first one with the form."</p>
                    </div>
                }
                .into_any();
            }
            view! {
                <ul class="ws-list" data-testid="workstation-list">
                    <For
                        each=move || items.get()
                        key=|s| (s.workstation.id.clone(), s.workstation.status, s.phase.clone(), s.progress)
                        children=|state| view! { <WorkstationCard state/> }
                    />
                </ul>
            }
            .into_any()
        }}
    }
}

/// Says so while the live stream is down.
#[component]
fn ReconnectingBanner(live: LiveStatus) -> impl IntoView {
    view! {
        <Show when=move || !live.connected.get()>
            <p class="banner" role="status">"Live updates are paused: reconnecting…"</p>
        </Show>
    }
}

/// A status badge.
#[component]
pub fn StatusBadge(status: WorkstationStatus) -> impl IntoView {
    let status = status.as_str();
    view! { <span class=format!("badge badge-{status}") data-testid="status">{status}</span> }
}

/// A labelled progress bar.
#[component]
fn ProgressBar(percent: u8, label: String) -> impl IntoView {
    view! {
        // A native <progress>: no inline style, which the page's CSP forbids.
        <div class="progress-row">
            <progress class="progress" max="100" value=percent aria-label=label.clone()>{format!("{percent}%")}</progress>
            <span class="progress-text">{label}</span>
        </div>
    }
}

fn phase_label(phase: Option<&Phase>, progress: Option<u8>) -> String {
    let phase = phase.map_or_else(|| "working".to_owned(), Phase::words);
    match progress {
        Some(p) => format!("{phase} · {p}%"),
        None => phase,
    }
}

/// One workstation in the list.
#[component]
fn WorkstationCard(state: WorkstationState) -> impl IntoView {
    let ws = state.workstation;
    let c = ws.configuration;
    let href = format!("/workstations/{}", ws.id);
    let data_id = ws.id.clone();
    let activity = match ws.status {
        WorkstationStatus::Provisioning => {
            let percent = state.progress.unwrap_or(0);
            let label = phase_label(state.phase.as_ref(), state.progress);
            Some(view! { <ProgressBar percent label/> }.into_any())
        }
        WorkstationStatus::Error => state
            .reason
            .map(|reason| view! { <p class="reason" data-testid="reason">{reason}</p> }.into_any()),
        _ if state.phase.is_some() => {
            let percent = state.progress.unwrap_or(0);
            let label = phase_label(state.phase.as_ref(), state.progress);
            Some(view! { <ProgressBar percent label/> }.into_any())
        }
        _ => None,
    };
    view! {
        <li class="ws-card" data-id=data_id>
            <div class="ws-head">
                <a class="ws-name" href=href>{ws.name}</a>
                <StatusBadge status=ws.status/>
            </div>
            {activity}
            <dl class="ws-spec">
                <div><dt>"CPU"</dt><dd>{c.cpu_cores} " cores"</dd></div>
                <div><dt>"Memory"</dt><dd>{c.memory_gb} " GB"</dd></div>
                <div><dt>"Storage"</dt><dd>{c.storage_gb} " GB"</dd></div>
                <div><dt>"GPU"</dt><dd>{c.gpu}</dd></div>
                <div><dt>"Region"</dt><dd>{c.region}</dd></div>
            </dl>
            <p class="ws-meta">
                <code class="ws-id">{ws.id}</code>
                <RelativeTime at=state.created_at prefix="created "/>
            </p>
        </li>
    }
}

fn action_label(action: Action) -> &'static str {
    match action {
        Action::Launch => "Launch",
        Action::Stop => "Stop",
        Action::Cancel => "Cancel provisioning",
        Action::Retry => "Retry provisioning",
        Action::Delete => "Delete",
        Action::Reconfigure => "Reconfigure",
    }
}

/// What a button says while its action is on its way.
fn pending_label(action: Action) -> &'static str {
    match action {
        Action::Launch => "Launching…",
        Action::Stop => "Stopping…",
        Action::Cancel => "Cancelling…",
        Action::Retry => "Retrying…",
        Action::Delete => "Deleting…",
        Action::Reconfigure => "Saving…",
    }
}

/// A workstation's page: status, live progress with an estimate, the reason
/// of a failure, and the timeline of its events.
#[component]
pub fn WorkstationView(detail: WorkstationDetail, catalog: Catalog) -> impl IntoView {
    let id = detail.state.workstation.id.clone();
    let state = RwSignal::new(detail.state);
    let events = RwSignal::new(detail.events);
    let started = RwSignal::new(detail.job_started_at);
    let typical = detail.typical_job_seconds;
    let now = RwSignal::new(now_millis());

    let live = follow_events(detail.last_event_id, move |event| {
        if event.workstation_id != id {
            return;
        }
        if event.kind == EventKind::Phase && started.with_untracked(Option::is_none) {
            started.set(Some(event.at.clone()));
        }
        if event.kind == EventKind::Status && event.status != WorkstationStatus::Provisioning {
            started.set(None);
        }
        state.update(|s| s.apply(&event));
        state.with_untracked(|s| announce_job_end(&s.workstation.name, &event));
        events.update(|list| list.push(event));
    });
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Ok(handle) =
            set_interval_with_handle(move || now.set(now_millis()), std::time::Duration::from_secs(1))
        {
            on_cleanup(move || handle.clear());
        }
    });

    let eta = move || {
        let typical = typical?;
        let started = started.get()?;
        let elapsed = (now.get() - time::parse_utc_millis(&started)? as f64) / 1000.0;
        Some(if elapsed < typical {
            format!("about {} left", time::short_duration(typical - elapsed))
        } else {
            "taking longer than usual".to_owned()
        })
    };
    let last_lines = move || {
        events.with(|list| {
            let logs: Vec<String> =
                list.iter().filter(|e| e.kind == EventKind::Log).filter_map(|e| e.message.clone()).collect();
            logs[logs.len().saturating_sub(5)..].to_vec()
        })
    };
    let name = move || state.with(|s| s.workstation.name.clone());
    let deleted = move || state.with(|s| s.phase == Some(Phase::Deleted));
    let act = ServerAction::<WorkstationAction>::new();
    let form_id = state.with_untracked(|s| s.workstation.id.clone());
    let actions = move || {
        if deleted() {
            return Vec::new();
        }
        state
            .with(|s| allowed_actions(s.workstation.status, s.phase.as_ref()))
            .into_iter()
            .filter(|a| *a != Action::Reconfigure)
            .collect::<Vec<_>>()
    };
    let on_click = move |ev: leptos::ev::MouseEvent, action: Action| {
        #[cfg(feature = "hydrate")]
        if action == Action::Delete {
            let sure = window()
                .confirm_with_message("Delete this workstation? Its disk is released; its history stays.")
                .unwrap_or(false);
            if !sure {
                ev.prevent_default();
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, action);
    };

    view! {
        <ReconnectingBanner live/>
        <section class="panel" aria-labelledby="ws-title">
            <div class="ws-head">
                <h1 id="ws-title">{name}</h1>
                {move || view! { <StatusBadge status=state.with(|s| s.workstation.status)/> }}
            </div>
            <ActionForm action=act attr:class="actions">
                <input type="hidden" name="id" value=form_id/>
                {move || {
                    actions()
                        .into_iter()
                        .map(|a| {
                            let class = if a == Action::Delete { "button danger" } else { "button" };
                            view! {
                                <button
                                    type="submit"
                                    name="action"
                                    value=a.as_str()
                                    class=class
                                    disabled=move || act.pending().get()
                                    on:click=move |ev| on_click(ev, a)
                                >
                                    {move || {
                                        let pending = act.input().with(|i| i.as_ref().is_some_and(|i| i.action == a.as_str()));
                                        if pending { pending_label(a) } else { action_label(a) }
                                    }}
                                </button>
                            }
                        })
                        .collect_view()
                }}
            </ActionForm>
            {move || act.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            <div aria-live="polite" data-testid="activity">
                {move || {
                    let s = state.get();
                    if s.phase == Some(Phase::Deleted) {
                        return view! {
                            <p class="notice">"This workstation has been deleted. Its history stays below."</p>
                        }
                        .into_any();
                    }
                    match s.workstation.status {
                        WorkstationStatus::Provisioning => view! {
                            <ProgressBar
                                percent=s.progress.unwrap_or(0)
                                label=phase_label(s.phase.as_ref(), s.progress)
                            />
                            <p class="eta" data-testid="eta">{eta}</p>
                            <NotifyButton/>
                        }
                        .into_any(),
                        WorkstationStatus::Error => view! {
                            <div class="alert" role="alert">
                                <p><strong>"Provisioning failed. "</strong>{s.reason.clone()}</p>
                                <ul class="log-tail">
                                    {last_lines().into_iter().map(|l| view! { <li><code>{l}</code></li> }).collect_view()}
                                </ul>
                            </div>
                        }
                        .into_any(),
                        _ if s.phase.is_some() => view! {
                            <ProgressBar
                                percent=s.progress.unwrap_or(0)
                                label=phase_label(s.phase.as_ref(), s.progress)
                            />
                        }
                        .into_any(),
                        WorkstationStatus::Stopped => view! {
                            <p class="notice">"Provisioned and stopped: ready to launch."</p>
                        }
                        .into_any(),
                        WorkstationStatus::Running => view! { <p class="notice">"Running."</p> }.into_any(),
                    }
                }}
            </div>
            {move || {
                let c = state.with(|s| s.workstation.configuration.clone());
                let id = state.with(|s| s.workstation.id.clone());
                view! {
                    <dl class="ws-spec wide">
                        <div><dt>"CPU"</dt><dd>{c.cpu_cores} " cores"</dd></div>
                        <div><dt>"Memory"</dt><dd>{c.memory_gb} " GB"</dd></div>
                        <div><dt>"Storage"</dt><dd>{c.storage_gb} " GB"</dd></div>
                        <div><dt>"GPU"</dt><dd>{c.gpu}</dd></div>
                        <div><dt>"Region"</dt><dd>{c.region}</dd></div>
                        <div><dt>"ID"</dt><dd><code>{id}</code></dd></div>
                    </dl>
                }
            }}
        </section>
        <ReconfigurePanel state catalog/>
        <section class="panel" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Timeline"</h2>
            <ol class="timeline" data-testid="timeline">
                <For
                    each=move || events.get()
                    key=|e| e.seq
                    children=|e| {
                        let text = e.message.clone().unwrap_or_else(|| e.phase.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default());
                        view! {
                            <li class=format!("event event-{}", e.kind.as_str())>
                                <RelativeTime at=e.at.clone()/>
                                <span class="event-text">{text}</span>
                            </li>
                        }
                    }
                />
            </ol>
        </section>
    }
}

/// Changes the configuration of a stopped workstation, or records it for the
/// next launch of a running one. Same rules as the API, checked here first.
#[component]
fn ReconfigurePanel(state: RwSignal<WorkstationState>, catalog: Catalog) -> impl IntoView {
    let action = ServerAction::<ReconfigureWorkstation>::new();
    let client_errors = RwSignal::new(None::<Vec<FieldError>>);
    let errors = Memo::new(move |_| {
        client_errors.get().unwrap_or_else(|| match action.value().get() {
            Some(Err(e)) => e.field_errors().to_vec(),
            _ => Vec::new(),
        })
    });
    let error_for = move |p: &'static str| {
        move || errors.with(|errs| errs.iter().find(|e| e.pointer == p).map(|e| e.detail.clone()))
    };
    let other_error = move || match action.value().get() {
        Some(Err(AppError::Invalid { .. })) | None | Some(Ok(_)) => None,
        Some(Err(error)) => Some(view! { <ErrorNotice error/> }),
    };
    Effect::new(move |_| match action.value().get() {
        Some(Ok(Some(updated))) => state.set(updated),
        Some(Err(e)) => focus_first_error("rc", e.field_errors()),
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
    let catalog = StoredValue::new(catalog);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = match <ReconfigureWorkstation as leptos::form::FromFormData>::from_event(&ev) {
            Ok(input) => input,
            Err(e) => {
                client_errors.set(Some(vec![FieldError::new(pointer::ROOT, e.to_string())]));
                return;
            }
        };
        let form = ReconfigureForm {
            cpu_cores: input.cpu_cores.clone(),
            memory_gb: input.memory_gb.clone(),
            gpu: input.gpu.clone(),
            storage_gb: input.storage_gb.clone(),
            apply: input.apply.clone(),
        };
        let now = state.with_untracked(|s| s.workstation.configuration.clone());
        match catalog.with_value(|c| ReconfigureRequest::from_form(&form).parse(&now, c)) {
            Ok(_) => {
                client_errors.set(None);
                action.dispatch(input);
            }
            Err(errs) => {
                focus_first_error("rc", &errs);
                client_errors.set(Some(errs));
            }
        }
    };
    let gpus = catalog.with_value(|c| c.gpus.clone());
    let (cpu, mem, disk) = catalog.with_value(|c| (c.cpu_cores, c.memory_gb, c.storage_gb));
    view! {
        <section class="panel" aria-labelledby="reconfigure-heading" hidden=move || !can()>
                <h2 id="reconfigure-heading">"Reconfigure"</h2>
                <form class="ws-form" action=ReconfigureWorkstation::url() method="post" novalidate on:submit=on_submit>
                    {other_error}
                    {saved}
                    <input type="hidden" name="id" value=id.clone()/>
                    <div class="row">
                        <Field label="CPU cores" id="rc-cpu" hint=format!("{}–{}", cpu.min, cpu.max) error=Signal::derive(error_for(pointer::CPU_CORES))>
                            <input id="rc-cpu" name="cpu_cores" type="number" inputmode="numeric" value=current.cpu_cores
                                aria-invalid=move || error_for(pointer::CPU_CORES)().is_some().to_string()
                                aria-describedby=move || describedby("rc-cpu", error_for(pointer::CPU_CORES)().is_some())/>
                        </Field>
                        <Field label="Memory (GB)" id="rc-memory" hint=format!("{}–{} GB", mem.min, mem.max) error=Signal::derive(error_for(pointer::MEMORY_GB))>
                            <input id="rc-memory" name="memory_gb" type="number" inputmode="numeric" value=current.memory_gb
                                aria-invalid=move || error_for(pointer::MEMORY_GB)().is_some().to_string()
                                aria-describedby=move || describedby("rc-memory", error_for(pointer::MEMORY_GB)().is_some())/>
                        </Field>
                        <Field label="Storage (GB)" id="rc-storage" hint=format!("can only grow; up to {} GB", disk.max) error=Signal::derive(error_for(pointer::STORAGE_GB))>
                            <input id="rc-storage" name="storage_gb" type="number" inputmode="numeric" value=current.storage_gb
                                aria-invalid=move || error_for(pointer::STORAGE_GB)().is_some().to_string()
                                aria-describedby=move || describedby("rc-storage", error_for(pointer::STORAGE_GB)().is_some())/>
                        </Field>
                    </div>
                    <Field label="GPU" id="rc-gpu" hint="".to_owned() error=Signal::derive(error_for(pointer::GPU))>
                        <select id="rc-gpu" name="gpu">
                            {gpus.into_iter().map(|g| {
                                let selected = g.id == current.gpu;
                                let label = format!("{} · {} GB", g.id, g.memory_gb);
                                view! { <option value=g.id selected=selected>{label}</option> }
                            }).collect_view()}
                        </select>
                    </Field>
                    <Field label="When" id="rc-apply" hint="A running workstation takes changes at its next launch.".to_owned() error=Signal::derive(error_for(APPLY_POINTER))>
                        <select id="rc-apply" name="apply">
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
