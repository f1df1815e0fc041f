//! A configuration as rows of a description list.

use leptos::prelude::*;

use crate::domain::Configuration;

/// The rows of a `<dl class="ws-spec">` that say what a workstation is
/// made of: CPU, memory, storage, GPU and region.
#[component]
pub(super) fn ConfigurationRows(configuration: Configuration) -> impl IntoView {
    let c = configuration;
    view! {
        <div><dt>"CPU"</dt><dd>{c.cpu_cores} " cores"</dd></div>
        <div><dt>"Memory"</dt><dd>{c.memory_gb} " GB"</dd></div>
        <div><dt>"Storage"</dt><dd>{c.storage_gb} " GB"</dd></div>
        <div><dt>"GPU"</dt><dd>{c.gpu}</dd></div>
        <div><dt>"Region"</dt><dd>{c.region}</dd></div>
    }
}
