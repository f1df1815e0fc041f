//! The user's workstations, kept current by the live stream.

use leptos::prelude::*;

use super::status::ReconnectingBanner;
use super::workstation_card::WorkstationCard;
use crate::domain::{Dashboard, EventKind, Phase};
use crate::feedback::announce_job_end;
use crate::live::follow_events;

/// The user's workstations, newest first, kept current by the live stream.
/// `filtered`: the list shows only some of them (a filter or an older page).
#[component]
pub fn LiveWorkstationList(
    data: Dashboard,
    #[prop(into)] on_unknown: Callback<()>,
    #[prop(optional)] filtered: bool,
) -> impl IntoView {
    let items = RwSignal::new(data.workstations);
    let project = data.project.map(|p| p.name);
    let all_href = project.as_ref().map_or_else(|| "/".to_owned(), |p| format!("/?project={p}"));
    let live = follow_events(project, data.last_event_id, move |event| {
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
                            <p><a href=all_href.clone()>"Show all workstations"</a></p>
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
