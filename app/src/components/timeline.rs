//! A workstation's history.

use leptos::prelude::*;

use crate::domain::WorkstationEvent;
use crate::feedback::RelativeTime;

/// A workstation's events, oldest first, as they arrive.
#[component]
pub(super) fn Timeline(events: RwSignal<Vec<WorkstationEvent>>) -> impl IntoView {
    view! {
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
