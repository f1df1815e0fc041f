//! The list's filters.

use leptos::prelude::*;
use leptos_router::components::Form;

use crate::domain::{Catalog, ListQuery};

/// The list's filters: a GET form, so the URL holds them and it works without JavaScript.
#[component]
pub(super) fn ListFilters(catalog: Catalog, query: ListQuery) -> impl IntoView {
    let statuses = ["provisioning", "stopped", "running", "error"]
        .into_iter()
        .map(|s| (s.to_owned(), s.to_owned()))
        .collect();
    let regions = catalog.regions.into_iter().map(|r| (r.id, r.name)).collect();
    let gpus = catalog.gpus.into_iter().map(|g| (g.id.clone(), g.id)).collect();
    view! {
        <Form method="GET" action="/" attr:class="filters" attr:aria-label="Filter workstations">
            {(!query.project.is_empty()).then(|| view! { <input type="hidden" name="project" value=query.project.clone()/> })}
            <FilterSelect label="Status" name="status" options=statuses current=query.status/>
            <FilterSelect label="Region" name="region" options=regions current=query.region/>
            <FilterSelect label="GPU" name="gpu" options=gpus current=query.gpu/>
            <label>
                "Name starts with"
                <input type="search" name="q" value=query.q.clone() autocomplete="off"/>
            </label>
            <button type="submit" class="button">"Filter"</button>
        </Form>
    }
}

/// A labelled picker of one filter: "Any", then each `(value, text)` of
/// `options`, with `current` selected.
#[component]
fn FilterSelect(
    label: &'static str,
    name: &'static str,
    options: Vec<(String, String)>,
    current: String,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <select name=name>
                <option value="">"Any"</option>
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let selected = value == current;
                        view! { <option value=value selected=selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}
