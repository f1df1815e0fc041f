//! One workstation in the list.

use leptos::prelude::*;

use super::configuration_rows::ConfigurationRows;
use super::status::{ProgressBar, StatusBadge};
use crate::domain::{WorkstationState, WorkstationStatus};
use crate::feedback::RelativeTime;

/// One workstation in the list: its name, status, progress or the reason it
/// failed, and what it is made of.
#[component]
pub(super) fn WorkstationCard(state: WorkstationState) -> impl IntoView {
    let ws = state.workstation;
    let href = format!("/workstations/{}", ws.id);
    let data_id = ws.id.clone();
    let busy = ws.status == WorkstationStatus::Provisioning || state.phase.is_some();
    let activity = match ws.status {
        WorkstationStatus::Error => state
            .reason
            .map(|reason| view! { <p class="reason" data-testid="reason">{reason}</p> }.into_any()),
        _ if busy => Some(view! { <ProgressBar phase=state.phase progress=state.progress/> }.into_any()),
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
                <ConfigurationRows configuration=ws.configuration/>
            </dl>
            <p class="ws-meta">
                <code class="ws-id">{ws.id}</code>
                <RelativeTime at=state.created_at prefix="created "/>
            </p>
        </li>
    }
}
