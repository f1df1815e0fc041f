//! The inputs of a workstation's configuration, written once for the create
//! and the reconfigure forms: CPU cores, memory and storage in a row, the
//! GPU, and (chosen once, at creation) the region.

use leptos::prelude::*;

use super::field::{aria_describedby, aria_invalid, Field};
use super::form_errors::FormErrors;
use crate::domain::{pointer, Catalog, Configuration, Range, RegionOption, WorkstationForm};

/// What the configuration inputs hold when the form is shown.
pub(super) struct ConfigurationValues {
    pub cpu_cores: String,
    pub memory_gb: String,
    pub gpu: String,
    pub storage_gb: String,
}

/// The create form's values: what was typed, or its defaults.
impl From<&WorkstationForm> for ConfigurationValues {
    fn from(form: &WorkstationForm) -> Self {
        Self {
            cpu_cores: form.cpu_cores.clone(),
            memory_gb: form.memory_gb.clone(),
            gpu: form.gpu.clone(),
            storage_gb: form.storage_gb.clone(),
        }
    }
}

/// The reconfigure form's values: the workstation's configuration now.
impl From<&Configuration> for ConfigurationValues {
    fn from(c: &Configuration) -> Self {
        Self {
            cpu_cores: c.cpu_cores.to_string(),
            memory_gb: c.memory_gb.to_string(),
            gpu: c.gpu.clone(),
            storage_gb: c.storage_gb.to_string(),
        }
    }
}

/// The CPU, memory and storage inputs in a row, then the GPU picker, each
/// with its label, hint and error message. The input ids come from the
/// form's `errors` (`ws-cpu`, `rc-cpu`); the props say what the two forms
/// do differently.
#[component]
pub(super) fn ConfigurationFields(
    catalog: StoredValue<Catalog>,
    values: ConfigurationValues,
    errors: FormErrors,
    /// The storage input's hint; the catalog's range when not given.
    #[prop(optional, into)]
    storage_hint: Option<String>,
    /// Whether the number inputs carry the catalog's ranges as `min`, `max`
    /// and `step`.
    #[prop(optional)]
    bounded: bool,
    /// Whether the GPU picker carries `aria-invalid` and `aria-describedby`.
    #[prop(optional)]
    gpu_aria: bool,
) -> impl IntoView {
    let (cpu, mem, disk) = catalog.with_value(|c| (c.cpu_cores, c.memory_gb, c.storage_gb));
    let gpus = catalog.with_value(|c| {
        c.gpus.iter().map(|g| (g.id.clone(), format!("{} · {} GB", g.id, g.memory_gb))).collect()
    });
    let bounds = move |range: Range| bounded.then_some(range);
    let storage_hint = storage_hint.unwrap_or_else(|| range_hint(disk, " GB"));
    view! {
        <div class="row">
            <NumberField label="CPU cores" id=errors.id("cpu") name="cpu_cores" hint=range_hint(cpu, "")
                range=bounds(cpu) value=values.cpu_cores error=errors.of(pointer::CPU_CORES)/>
            <NumberField label="Memory (GB)" id=errors.id("memory") name="memory_gb" hint=range_hint(mem, " GB")
                range=bounds(mem) value=values.memory_gb error=errors.of(pointer::MEMORY_GB)/>
            <NumberField label="Storage (GB)" id=errors.id("storage") name="storage_gb" hint=storage_hint
                range=bounds(disk) value=values.storage_gb error=errors.of(pointer::STORAGE_GB)/>
        </div>
        <PickerField label="GPU" id=errors.id("gpu") name="gpu" options=gpus selected=values.gpu
            error=errors.of(pointer::GPU) aria=gpu_aria/>
    }
}

/// The region picker, with its label and error message.
#[component]
pub(super) fn RegionField(regions: Vec<RegionOption>, selected: String, errors: FormErrors) -> impl IntoView {
    let regions = regions.into_iter().map(|r| (r.id.clone(), format!("{} · {}", r.name, r.id))).collect();
    view! {
        <PickerField label="Region" id=errors.id("region") name="region" options=regions selected
            error=errors.of(pointer::REGION) aria=true/>
    }
}

/// A picker of one of `options` (value, text) with `selected` chosen, its
/// label, and its error message; `aria`: it carries `aria-invalid` and
/// `aria-describedby`.
#[component]
fn PickerField(
    label: &'static str,
    id: String,
    name: &'static str,
    options: Vec<(String, String)>,
    selected: String,
    error: Signal<Option<String>>,
    aria: bool,
) -> impl IntoView {
    view! {
        <Field label id=id.clone() hint="" error>
            <select id=id.clone() name=name
                aria-invalid=aria.then(|| aria_invalid(error))
                aria-describedby=aria.then(|| aria_describedby(id, error))>
                {options.into_iter().map(|(value, text)| {
                    let chosen = value == selected;
                    view! { <option value=value selected=chosen>{text}</option> }
                }).collect_view()}
            </select>
        </Field>
    }
}

/// A number input with its label, hint and error message; `range`, when
/// given, bounds what the browser offers.
#[component]
fn NumberField(
    label: &'static str,
    id: String,
    name: &'static str,
    hint: String,
    range: Option<Range>,
    value: String,
    error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <Field label id=id.clone() hint error>
            <input id=id.clone() name=name type="number" inputmode="numeric"
                min=range.map(|r| r.min) max=range.map(|r| r.max) step=range.map(|_| "1") value=value
                aria-invalid=aria_invalid(error)
                aria-describedby=aria_describedby(id, error)/>
        </Field>
    }
}

/// "1–128", "16–16384 GB": a range as a hint says it.
fn range_hint(range: Range, unit: &str) -> String {
    format!("{}–{}{unit}", range.min, range.max)
}
