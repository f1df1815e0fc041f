//! What the user's quota allows and what is used.

use leptos::prelude::*;

use crate::domain::QuotaStatus;

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
