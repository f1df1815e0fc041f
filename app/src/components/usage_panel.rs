//! What was used this month: running hours, core-hours, GPU-hours, storage.

use leptos::prelude::*;

use crate::domain::UsageTotals;

/// This month's usage (of all the user's workstations, or of one).
#[component]
pub fn UsagePanel(total: UsageTotals, #[prop(into)] title: String) -> impl IntoView {
    let t = total;
    let gpus = if t.gpu_hours.is_empty() {
        "none".to_owned()
    } else {
        t.gpu_hours.iter().map(|(gpu, hours)| format!("{hours:.1} h {gpu}")).collect::<Vec<_>>().join(", ")
    };
    let rows = [
        ("Running", format!("{:.1} h in {} run(s)", t.running_hours, t.running_intervals)),
        ("CPU", format!("{:.1} core-hours", t.cpu_core_hours)),
        ("Memory", format!("{:.1} GB-hours", t.memory_gb_hours)),
        ("GPU", gpus),
        ("Storage", format!("{:.1} GB-days", t.storage_gb_days)),
    ];
    view! {
        <div class="usage" data-testid="usage">
            <h3>{title}</h3>
            <dl>
                {rows
                    .into_iter()
                    .map(|(label, value)| view! { <div><dt>{label}</dt><dd>{value}</dd></div> })
                    .collect_view()}
            </dl>
        </div>
    }
}
